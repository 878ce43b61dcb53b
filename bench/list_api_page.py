"""Server time of the EMQX list's first page: from the cache against from the API (limit/continue).

    .venv/bin/python bench/list_api_page.py                 # N = 1000 EMQX; 30 views each
    .venv/bin/python bench/list_api_page.py --sizes 100,1000 --views 50

It starts its own sandbox (destroyed at the end), creates N EMQX instances in ten namespaces
with statuses as the operator writes them (the dashboard benchmark's fleet), waits until the
console's cache holds them all, and times in-process (Django's test client, as a superuser):
the cached list page (all namespaces, 50 rows), the same page read from the API server
(``?source=api``: one LIST with limit=50), the second API page (following its continue
token), and the raw LIST limit=50 through the client for reference. API requests are counted
by the API server itself (apiserver_request_total, resource emqxes).
"""

from __future__ import annotations

import argparse
import html
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.console_on_sandbox import console_on_sandbox, logged_in_superuser
from bench.dashboard import NAMESPACES, _create
from sandbox import Sandbox

NEXT_RE = re.compile(r'<a href="\?([^"]*)" rel="next"')


def _emqx_requests(sb: Sandbox) -> int:
    return sb.requests_served("emqxes")


def _time(views: int, call: Callable[[], object]) -> list[float]:
    call()  # warm
    times = []
    for _ in range(views):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000")
    parser.add_argument("--views", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]

    with console_on_sandbox("emqx-bench-list-api-") as sb:
        from console import clusters
        from emqx.client.clientset import Clientset

        client: Any = logged_in_superuser()
        cs = Clientset.from_kubeconfig(sb.kubeconfig)
        for ns in NAMESPACES:
            sb.create_namespace(ns)
        cluster = clusters.get_cluster("default")
        assert cluster is not None
        created = 0
        print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; {args.views} views per row, superuser")
        print(f"{'N EMQX':>7} {'what':<34} {'p50 ms':>7} {'p90 ms':>7} {'max ms':>7} {'EMQX req/view':>14}")
        for n in sizes:
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: _create(cs, i), range(created, n)))
            created = n
            cache = cluster.cache("EMQX")
            deadline = time.monotonic() + 60
            while len(cache) < n:
                assert time.monotonic() < deadline, "the cache did not fill in time"
                time.sleep(0.1)

            def page(query: str) -> str:
                response = client.get(f"/clusters/default/emqx/?{query}")
                assert response.status_code == 200
                return response.content.decode()

            found = NEXT_RE.search(page("source=api"))
            assert found is not None
            second = html.unescape(found.group(1))
            rows: list[tuple[str, Callable[[], object]]] = [
                ("cached list page", lambda: page("")),
                ("API page 1 (?source=api)", lambda: page("source=api")),
                ("API page 2 (continue token)", lambda second=second: page(second)),
                ("raw LIST limit=50 (client only)", lambda: cs.apps_v2beta1.emqxes(None).list(limit=50)),
            ]
            for what, call in rows:
                before = _emqx_requests(sb)
                times = _time(args.views, call)
                per_view = (_emqx_requests(sb) - before) / (args.views + 1)
                p50, p90 = statistics.median(times), statistics.quantiles(times, n=10)[8]
                print(f"{n:>7} {what:<34} {p50:7.1f} {p90:7.1f} {max(times):7.1f} {per_view:>14.2f}")
        cs.close()


if __name__ == "__main__":
    main()
