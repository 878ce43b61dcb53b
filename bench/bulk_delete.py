"""Server time of one bulk delete from the change list (console/actions.py): N EMQX instances
selected, the confirmation page, then the confirmed delete, object by object (a dry-run, the
DELETE with uid and resourceVersion preconditions, one audit entry each).

    .venv/bin/python bench/bulk_delete.py              # N = 100
    .venv/bin/python bench/bulk_delete.py --sizes 100,500

It starts its own sandbox (destroyed at the end), creates N EMQX instances in one namespace, waits
until the console's cache holds them, and times in-process (Django's test client, as a superuser)
the confirmation page and the confirmed delete; then checks every one is gone and audited.
Prints seconds; asserts nothing about them (speed is never a test).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.console_on_sandbox import console_on_sandbox, logged_in_superuser

HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]

    with console_on_sandbox("emqx-bench-bulk-delete-") as sb:
        from console import clusters
        from console.models import AuditEntry
        from emqx.client.clientset import Clientset
        from tests import factories

        client: Any = logged_in_superuser()
        cs = Clientset.from_kubeconfig(sb.kubeconfig)
        cluster = clusters.get_cluster("default")
        assert cluster is not None
        print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; superuser, console writing as itself")
        print(f"{'N EMQX':>7} {'confirmation page s':>20} {'confirmed delete s':>19} {'per object ms':>14}")
        for run, n in enumerate(sizes):
            namespace = f"bulk-{run}"
            sb.create_namespace(namespace)
            emqxes = cs.apps_v2beta1.emqxes(namespace)
            names = [f"emqx-{i:04d}" for i in range(n)]
            objs = [factories.emqx(name, namespace=namespace) for name in names]
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(emqxes.create, objs))
            cache = cluster.cache("EMQX")
            deadline = time.monotonic() + 60
            while len(cache.list(namespace)) < n:
                assert time.monotonic() < deadline, "the cache did not fill in time"
                time.sleep(0.1)
            selected = {"action": "delete_selected", "selected": [f"{namespace}/{name}" for name in names]}
            started = time.perf_counter()
            page = client.post("/clusters/default/emqx/actions/", {**selected, "changelist_query": ""})
            confirmation = time.perf_counter() - started
            assert page.status_code == 200, page.status_code
            form = dict(HIDDEN.findall(page.content.decode()))
            started = time.perf_counter()
            done = client.post("/clusters/default/emqx/actions/", form)
            deleting = time.perf_counter() - started
            assert done.status_code == 302, done.status_code
            left = len(emqxes.list().items)
            audited = AuditEntry.objects.filter(namespace=namespace, action="delete", outcome="success").count()
            assert left == 0 and audited == n, (left, audited)
            print(f"{n:>7} {confirmation:>20.2f} {deleting:>19.2f} {deleting / n * 1000:>14.1f}")
        cs.close()


if __name__ == "__main__":
    main()
