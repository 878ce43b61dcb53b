"""Resident memory of a console process before and after its watch cache holds every EMQX.

Run by bench/run.py in a fresh process (the environment names the cluster, the database and a
logged-in session cookie): prints one JSON line with VmRSS in MiB at each step.

    ready   Django set up, every URL and view imported, no cache yet
    warm    the EMQX watch cache synced with ``--expect`` objects (after a gc.collect())
    served  after serving the list page and one status poll (templates compiled, summaries made)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--expect", type=int, required=True, help="objects the cache must hold")
    parser.add_argument("--status-path", required=True, help="a status partial to poll once")
    args = parser.parse_args()

    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module, as the first request would
    gc.collect()
    ready = rss_mib()

    from console.clusters import get_cluster

    cluster = get_cluster("default")
    assert cluster is not None
    started = time.monotonic()
    cache = cluster.cache("EMQX")
    while len(cache) < args.expect:
        if time.monotonic() - started > 60:
            raise SystemExit(f"the cache holds {len(cache)} of {args.expect} objects after 60 s")
        time.sleep(0.05)
    synced_s = time.monotonic() - started
    gc.collect()
    warm = rss_mib()

    from bench.measure import WsgiCaller

    caller = WsgiCaller(application, os.environ["BENCH_COOKIE"])
    for path, htmx in (("/clusters/default/emqx/", False), (args.status_path, True)):
        status = caller.get(path, htmx=htmx).status
        assert status in (200, 286), (path, status)
    gc.collect()
    served = rss_mib()
    print(json.dumps({"ready": ready, "warm": warm, "served": served, "objects": len(cache), "sync_s": synced_s}))
    cluster.close()


if __name__ == "__main__":
    main()
