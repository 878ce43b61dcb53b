"""gunicorn's settings in the image (deploy/Containerfile): one worker with threads by default.

Each worker process keeps its own watch caches (one LIST and one WATCH per kind per cluster) and its own
metrics, so a pod runs one worker and scales out with replicas; threads share the worker's caches.
WEB_CONCURRENCY (workers, gunicorn's own variable), GUNICORN_THREADS and PORT change it; any other
option goes in GUNICORN_CMD_ARGS, which gunicorn reads itself.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# The root filesystem is read-only: the workers' heartbeat files go to the writable temp folder.
worker_tmp_dir = os.environ.get("TMPDIR", "/tmp")
# gunicorn's control socket (gunicornc) goes there too; nothing in the pod uses it, but it is harmless.
control_socket = os.path.join(worker_tmp_dir, "gunicorn.ctl")
# A page never waits on a cluster for longer than the console's own timeouts (console/clusters.py).
timeout = 60
# Kubernetes sends SIGTERM and waits terminationGracePeriodSeconds (30 s by default) before SIGKILL.
graceful_timeout = 25
# Every request is logged by the console itself (console/request_log.py), with the user and the cluster.
accesslog = None
errorlog = "-"
