"""Server time of the dashboard polls with warm caches, and the API requests they cost.

    .venv/bin/python bench/dashboard.py                    # N = 10, 100, 1000 EMQX; 50 polls each
    .venv/bin/python bench/dashboard.py --sizes 100 --polls 200

It starts its own sandbox (destroyed at the end), configures the console through
CONSOLE_CLUSTERS_JSON, creates N EMQX instances with statuses as the operator writes them
(70 % Ready, 10 % progressing, 10 % with a stopped node, 10 % without status) plus N/10
EmqxBrokers, waits until the console's caches hold them all, and times the fleet and the
per-cluster `_dashboard` partials in-process (Django's test client: middleware, session,
auth, permissions, aggregation, SVG and template rendering) as a superuser. API requests are
counted by the API server itself (apiserver_request_total) before and after the polls.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.console_on_sandbox import console_on_sandbox, logged_in_superuser
from sandbox import Sandbox

WATCHED = ("emqxes", "emqxbrokers", "emqxenterprises", "events")
NAMESPACES = [f"dash-{i:02d}" for i in range(10)]


def _requests(sb: Sandbox) -> int:
    total = 0
    for line in sb.metrics().splitlines():
        if line.startswith("apiserver_request_total{") and any(f'resource="{r}"' in line for r in WATCHED):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def _status(index: int, generation: int) -> dict[str, Any] | None:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    kind = index % 10
    if kind == 9:
        return None
    types = ["Ready", "Available", "CoreNodesReady", "CoreNodesProgressing", "Initialized"]
    if kind in (7, 8):
        types = ["CoreNodesProgressing", "Initialized"]
    conditions = [
        {
            "type": t,
            "status": "True",
            "reason": t,
            "message": t,
            "lastTransitionTime": now,
            "observedGeneration": generation,
        }
        for t in types
    ]
    node_status = "stopped" if kind == 8 else "running"
    return {
        "conditions": conditions,
        "coreNodes": [
            {"node": f"emqx@core-{i}", "node_status": node_status if i == 0 else "running"} for i in range(3)
        ],
        "coreNodesStatus": {"replicas": 3, "readyReplicas": 3 if kind < 7 else 2},
    }


def _create(cs: Any, index: int) -> None:
    from emqx.models.apps_v2beta1 import EMQX
    from tests import factories

    ns = NAMESPACES[index % len(NAMESPACES)]
    version = ("5.8.6", "5.8.5", "5.7.2")[index % 3]
    obj = cs.apps_v2beta1.emqxes(ns).create(
        factories.emqx(f"emqx-{index:04d}", namespace=ns, image=f"emqx/emqx:{version}", core_replicas=3)
    )
    status = _status(index, obj.metadata.generation or 1)
    if status is not None:
        doc = obj.to_dict()
        doc["status"] = status
        cs.apps_v2beta1.emqxes(ns).update_status(EMQX.from_dict(doc))
    if index % 10 == 0:
        cs.apps_v1beta4.emqx_brokers(ns).create(factories.emqx_broker(f"broker-{index:04d}", namespace=ns))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--polls", type=int, default=50)
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]

    env = {"CONSOLE_EVENTS_POLL_SECONDS": "3600"}  # one LIST of Events at start, none while timing
    with console_on_sandbox("emqx-bench-dashboard-", env=env) as sb:
        from console import clusters
        from emqx.client.clientset import Clientset

        client: Any = logged_in_superuser()
        cs = Clientset.from_kubeconfig(sb.kubeconfig)
        for ns in NAMESPACES:
            sb.create_namespace(ns)
        cluster = clusters.get_cluster("default")
        assert cluster is not None
        created = 0
        print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; {args.polls} polls per size, superuser")
        print(f"{'N EMQX':>7} {'+brokers':>8} {'partial':<26} {'p50 ms':>7} {'p90 ms':>7} {'max ms':>7} {'API req':>8}")
        for n in sizes:
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: _create(cs, i), range(created, n)))
            created = n
            brokers = len(range(0, n, 10))
            deadline = time.monotonic() + 60
            while True:
                emqx, broker = cluster.peek("EMQX").informer, cluster.peek("EmqxBroker").informer
                if emqx is not None and broker is not None and len(emqx) >= n and len(broker) >= brokers:
                    break
                assert time.monotonic() < deadline, "the caches did not fill in time"
                time.sleep(0.1)
            snapshot = cluster.warning_events().snapshot
            while snapshot().fetched_at is None:
                time.sleep(0.1)
            for url in ("/dashboard/_dashboard", "/clusters/default/_dashboard"):
                client.get(url, HTTP_HX_REQUEST="true")  # warm
                before = _requests(sb)
                times = []
                for _ in range(args.polls):
                    started = time.perf_counter()
                    response = client.get(url, HTTP_HX_REQUEST="true")
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                used = _requests(sb) - before
                p50, p90 = statistics.median(times), statistics.quantiles(times, n=10)[8]
                print(f"{n:>7} {brokers:>8} {url:<26} {p50:7.1f} {p90:7.1f} {max(times):7.1f} {used:>8}")
        cs.close()


if __name__ == "__main__":
    main()
