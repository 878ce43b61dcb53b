"""gunicorn's settings in the image (deploy/Containerfile): one worker with threads by default.

The workers of a pod share one watch cache (console/sharedcache.py): one of them runs the informers (one LIST
and one WATCH per kind per cluster per pod) into a SQLite file in $TMPDIR/console-cache, and every worker reads
it; when that worker exits, another takes over. Metrics are still per worker. WEB_CONCURRENCY (workers,
gunicorn's own variable), GUNICORN_THREADS and PORT change it; CONSOLE_SHARED_CACHE_DIR moves the cache (empty:
every worker keeps caches of its own); any other option goes in GUNICORN_CMD_ARGS, which gunicorn reads itself.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# The root filesystem is read-only: the workers' heartbeat files go to the writable temp folder.
worker_tmp_dir = os.environ.get("TMPDIR", "/tmp")
# gunicorn's control socket (gunicornc) goes there too; nothing in the pod uses it, but it is harmless.
control_socket = os.path.join(worker_tmp_dir, "gunicorn.ctl")
# The workers' shared watch cache (set before they fork, so that every worker reads the same directory).
os.environ.setdefault("CONSOLE_SHARED_CACHE_DIR", os.path.join(worker_tmp_dir, "console-cache"))
# A page never waits on a cluster for longer than the console's own timeouts (console/clusters.py).
timeout = 60
# Kubernetes sends SIGTERM and waits terminationGracePeriodSeconds (30 s by default) before SIGKILL.
graceful_timeout = 25
# Every request is logged by the console itself (console/request_log.py), with the user and the cluster.
accesslog = None
errorlog = "-"
