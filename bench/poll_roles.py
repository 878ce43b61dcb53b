"""What a Viewer's status poll costs, with its session, user and role grants read by one SQL query each.

    .venv/bin/python bench/poll_roles.py               # SQLite, as `make run`
    .venv/bin/python bench/poll_roles.py --postgres    # PostgreSQL on loopback, as production

It starts its own sandbox (and PostgreSQL server) with 10 EMQX instances, logs in a Viewer of
their namespace (not a superuser: a superuser needs no grants) and polls one instance's status
partial in-process, in blocks. Grants were once remembered for 5 s per process (this script
compared that with reading them through the ORM); they are now read on every request by one SQL
query (console/permissions.py), so there is one variant left. Prints the median per poll of CPU
and wall time and of the database queries each poll makes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.console_on_sandbox import console_on_sandbox
from bench.dashboard import NAMESPACES, _create


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", action="store_true", help="the console's database on PostgreSQL")
    parser.add_argument("--blocks", type=int, default=10, help="blocks per variant")
    parser.add_argument("--polls", type=int, default=200, help="polls per block")
    args = parser.parse_args()

    with console_on_sandbox(
        "emqx-bench-roles-", env={"CONSOLE_TIMELINE_RECORDING": "false"}, postgres=args.postgres
    ) as sb:
        from django.contrib.auth.models import User
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from console import clusters
        from console.models import RoleGrant
        from emqx.client.clientset import Clientset

        namespace = NAMESPACES[0]
        sb.create_namespace(namespace)
        with Clientset.from_kubeconfig(sb.kubeconfig) as cs:
            for i in range(0, 100, len(NAMESPACES)):  # 10 instances, all in the first namespace
                _create(cs, i)
        viewer = User.objects.create_user("bench-viewer", password="bench-viewer-pw-1")
        RoleGrant.objects.create(user=viewer, role="viewer", namespace=namespace)
        client = Client()
        client.force_login(viewer)
        cluster = clusters.get_cluster("default")
        assert cluster is not None and cluster.cache("EMQX").wait_for_sync(30)
        url = f"/clusters/default/emqx/{namespace}/emqx-0000/_status"

        def poll() -> None:
            assert client.get(url, HTTP_HX_REQUEST="true").status_code in (200, 286)

        results: dict[str, dict[str, list[float]]] = {}
        for _ in range(args.blocks):
            for variant in ("read every request",):
                poll()  # warm
                row = results.setdefault(variant, {"cpu": [], "wall": [], "queries": []})
                for _ in range(args.polls):
                    cpu, wall = time.process_time(), time.perf_counter()
                    with CaptureQueriesContext(connection) as queries:
                        poll()
                    row["cpu"].append((time.process_time() - cpu) * 1000)
                    row["wall"].append((time.perf_counter() - wall) * 1000)
                    row["queries"].append(len(queries))
        database = "PostgreSQL (loopback)" if args.postgres else "SQLite (file)"
        load = os.getloadavg()[0]
        print(f"{os.cpu_count()} CPUs, load {load:.2f}; {database}; {args.blocks} x {args.polls} polls per variant")
        print(f"{'grants':<24} {'CPU p50 ms':>10} {'wall p50 ms':>11} {'wall p90 ms':>11} {'DB queries':>10}")
        for variant, row in results.items():
            p90 = statistics.quantiles(row["wall"], n=10)[8]
            print(
                f"{variant:<24} {statistics.median(row['cpu']):10.2f} {statistics.median(row['wall']):11.2f}"
                f" {p90:11.2f} {statistics.median(row['queries']):10.0f}"
            )


if __name__ == "__main__":
    main()
