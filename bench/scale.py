"""The console at scale (issue 18): a fleet over several sandbox API servers, every row of the issue's table.

    .venv/bin/python -m bench.scale                          # the issue's size: 10 clusters, 10,000 EMQX,
                                                             # 1,000 EmqxBroker, 1,000 Rebalance
    .venv/bin/python -m bench.scale --clusters 3 --emqx 3000 --brokers 300 --rebalances 300
    .venv/bin/python -m bench.scale ... --write-docs         # also the section "At scale" of docs/benchmarks.md

`make bench-scale` runs the first line (BENCH_SCALE_ARGS adds options). It measures today's code, it
changes none: one sandbox API server (etcd + kube-apiserver, the operator-2.2 CRDs) per cluster, the
instances spread evenly over the clusters and over ten namespaces in each (bench/fixtures.py: the
operator's full EMQX example with its status), then:

1. pod     ``gunicorn -w WORKERS --threads 8`` (the image's default: deploy/gunicorn.conf.py) with production
           settings and every cluster configured (CONSOLE_CLUSTERS_JSON): the time from its start to the first
           ``/readyz`` 200 (every cache of every kind of every cluster synced), the RSS and USS of its processes
           then and after serving each cluster's list page and the fleet dashboard, and the LISTs and WATCHes
           each API server counted. Run twice: on the empty clusters, and on the fleet; the difference is the
           memory per 1,000 EMQX. Each worker holds caches of its own, so the pod's memory is the master's
           plus WORKERS x a worker's.
2. list    in-process (bench/run.py's console, every cluster configured), the first cluster: the EMQX list
           page (first page of all namespaces, default sort, the filter sidebar's counts) against a raw LIST
           of its EMQX; search by name (``?q=``) and by label selector (``?labels=``).
3. poll    the status partial at 1, 10 and 100 viewers (bench/run.py's bench_poll), API requests counted.
4. dashboard  the fleet-wide dashboard partial (every cluster).
5. freshness  a status write to the first poll showing it (bench/run.py's bench_freshness).

It prints the table with the target, the measured value and pass or miss for each row, and the machine,
the command and the time the run took. A run smaller than the issue's says which rows are extrapolated
to the issue's size and how (linearly in the number of objects: the memory and the first sync).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import shlex
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import NAMESPACES, Api, create_instances, name_of, namespace_of
from bench.measure import Spread, api_requests, percentile, repeat
from bench.run import (
    POLL_INTERVAL_S,
    Console,
    bench_freshness,
    bench_list,
    bench_poll,
    load_average,
    machine,
    poll_targets,
    start_console,
    wait_for_cache,
)
from bench.server import Gunicorn
from sandbox import Sandbox
from sandbox.build import ensure_binaries

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## At scale: 10,000 instances over 10 clusters"
ISSUE = {"clusters": 10, "emqx": 10_000, "brokers": 1_000, "rebalances": 1_000}
PAGE_SIZE = 500  # ResourceClient.list_all's page_size, which the Informer uses
THREADS = 8  # deploy/gunicorn.conf.py: GUNICORN_THREADS' default
# The kinds the console caches on an operator-2.2 cluster, by resource (plural) name.
RESOURCES = ("emqxes", "emqxbrokers", "emqxenterprises", "rebalances")
CONSOLE_READS = (*RESOURCES, "events")


def cluster_name(n: int) -> str:
    """The first cluster is "default" (bench/run.py's pages and polls address it), the others c01, c02 ..."""
    return "default" if n == 0 else f"c{n:02d}"


# ----- the fleet -----------------------------------------------------------------------------


def broker_document(index: int) -> dict[str, Any]:
    """An EmqxBroker v1beta4 (EMQX 4.4), as tests/factories.py makes one, in the fleet's namespaces."""
    return {
        "apiVersion": "apps.emqx.io/v1beta4",
        "kind": "EmqxBroker",
        "metadata": {"name": f"broker-{index:04d}", "namespace": namespace_of(index), "labels": {"tier": "gold"}},
        "spec": {"template": {"spec": {"emqxContainer": {"image": {"repository": "emqx/emqx", "version": "4.4.19"}}}}},
    }


def rebalance_document(index: int) -> dict[str, Any]:
    """A Rebalance v2beta1 of one of the fleet's EMQX (the same namespace)."""
    return {
        "apiVersion": "apps.emqx.io/v2beta1",
        "kind": "Rebalance",
        "metadata": {"name": f"rebalance-{index:04d}", "namespace": namespace_of(index)},
        "spec": {"instanceName": name_of(index), "rebalanceStrategy": {"connEvictRate": 5}},
    }


def spread(total: int, clusters: int) -> list[int]:
    """``total`` split over ``clusters`` as evenly as it goes (the first ones take the remainder)."""
    return [total // clusters + (1 if n < total % clusters else 0) for n in range(clusters)]


def create_fleet(sandbox: Sandbox, api: Api, emqx: int, brokers: int, rebalances: int) -> None:
    create_instances(sandbox, api, range(emqx))
    jobs = [("emqxbrokers", "v1beta4", broker_document(i)) for i in range(brokers)]
    jobs += [("rebalances", "v2beta1", rebalance_document(i)) for i in range(rebalances)]

    def one(job: tuple[str, str, dict[str, Any]]) -> None:
        resource, version, document = job
        namespace = document["metadata"]["namespace"]
        api.json("POST", f"/apis/apps.emqx.io/{version}/namespaces/{namespace}/{resource}", document)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, jobs))


def server_memory_mib(sandbox: Sandbox) -> float:
    """RSS of the sandbox's etcd and kube-apiserver together."""
    state = json.loads(sandbox.state_file.read_text())
    return sum(_status_kib(state[key], "VmRSS") for key in ("etcd_pid", "apiserver_pid")) / 1024


# ----- memory and requests -------------------------------------------------------------------


def _status_kib(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field_name} for pid {pid}")


def memory_mib(pid: int) -> tuple[float, float]:
    """(RSS, USS) of a process in MiB: USS is its private pages (smaps_rollup Private_Clean + Private_Dirty),
    what it would give back on exit; RSS also counts the pages it shares (libraries, its fork parent's)."""
    private = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            private += int(line.split()[1])
    return _status_kib(pid, "VmRSS") / 1024, private / 1024


def pss_mib(pid: int) -> float:
    """PSS of a process in MiB (smaps_rollup ``Pss``): its private pages plus its share of each page it shares;
    summed over the pod's processes, every page counted once."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no Pss for pid {pid}")


def watches(sandbox: Sandbox) -> dict[str, int]:
    """Open WATCH requests by resource, as the API server counts them now (apiserver_longrunning_requests)."""
    found: dict[str, int] = {}
    for line in sandbox.metrics().splitlines():
        if line.startswith("apiserver_longrunning_requests{") and 'verb="WATCH"' in line:
            resource = line.split('resource="', 1)[1].split('"', 1)[0] if 'resource="' in line else ""
            found[resource] = found.get(resource, 0) + int(float(line.rsplit(" ", 1)[1]))
    return found


@dataclass
class PodResult:
    objects: int
    ready_s: float
    master: tuple[float, float]
    workers: list[tuple[float, float]]
    served: list[tuple[float, float]]
    lists: dict[str, list[int]]
    """LISTs by resource, one count per cluster."""
    watches: dict[str, list[int]]
    page_errors: list[str] = field(default_factory=list)
    pss: float = 0.0
    """The pod's console processes together (PSS summed: every page counted once), after serving."""
    cache_mib: float = 0.0
    """The shared cache's SQLite file (with its WAL): page cache the pod's memory is also charged with."""

    def pod_mib(self, workers: int, which: str = "served") -> float:
        """The pod's console processes together (RSS): the master + ``workers`` x the first worker."""
        each = (self.served if which == "served" else self.workers)[0][0]
        return self.master[0] + workers * each


def _get(port: int, path: str, headers: dict[str, str], timeout: float = 10.0) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def bench_pod(
    console: Console,
    sandboxes: list[Sandbox],
    workdir: Path,
    *,
    workers: int,
    objects: int,
    timeout: float,
    shared: bool = True,
) -> PodResult:
    """Start gunicorn as a pod does, time it to /readyz 200, read its memory and the API servers' counts.
    ``shared``: its workers share one watch cache (console/sharedcache.py, the image's default), in a
    directory of this run's own; else each keeps its own."""
    cache_dir = workdir / f"pod-cache-{objects}"
    env = {
        **console.env,
        "CONSOLE_ENV": "production",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "CONSOLE_SHARED_CACHE_DIR": str(cache_dir) if shared else "",
    }
    headers = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https"}
    before = [api_requests(sb) for sb in sandboxes]
    server = Gunicorn(env, workers=workers, threads=THREADS, log=workdir / "gunicorn-scale.log")
    started = time.monotonic()
    server.start()
    try:
        deadline = started + timeout
        while _get(server.port, "/readyz", headers, timeout=5.0) != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"/readyz not 200 after {timeout:.0f} s: {server._log.read_text()[-2000:]}")
            time.sleep(0.05)
        ready_s = time.monotonic() - started
        assert server.proc is not None
        master = memory_mib(server.proc.pid)
        pids = server.worker_pids()
        at_ready = [memory_mib(pid) for pid in pids]
        errors = []
        logged_in = {**headers, "Cookie": console.cookie}
        for n in range(len(sandboxes)):
            for _ in range(workers):  # each worker, likely: gunicorn hands requests to any
                code = _get(server.port, f"/clusters/{cluster_name(n)}/emqx/", logged_in, timeout=60.0)
                if code != 200:
                    errors.append(f"{cluster_name(n)} list page: {code}")
        for _ in range(workers):
            code = _get(server.port, "/dashboard/_dashboard", {**logged_in, "HX-Request": "true"}, timeout=60.0)
            if code != 200:
                errors.append(f"dashboard: {code}")
        served = [memory_mib(pid) for pid in pids]
        pss = pss_mib(server.proc.pid) + sum(pss_mib(pid) for pid in pids)
        cache_mib = sum(f.stat().st_size for f in cache_dir.glob("cache.sqlite3*")) / 2**20 if shared else 0.0
        counted = [api_requests(sb) - b for sb, b in zip(sandboxes, before, strict=True)]
        open_watches = [watches(sb) for sb in sandboxes]
    finally:
        server.stop()
    return PodResult(
        objects,
        ready_s,
        master,
        at_ready,
        served,
        {r: [c.counts.get((r, "LIST"), 0) for c in counted] for r in RESOURCES},
        {r: [w.get(r, 0) for w in open_watches] for r in RESOURCES},
        errors,
        pss,
        cache_mib,
    )


# ----- the in-process pages --------------------------------------------------------------------


def time_page(console: Console, path: str, query: str, repeats: int, *, htmx: bool = False) -> Spread:
    def call() -> None:
        response = console.caller.get(path, query, htmx=htmx)
        assert response.status == 200, (path, query, response.status)

    return Spread.of(repeat(call, repeats))


def poll_p50s(console: Console, path: str, repeats: int) -> list[float]:
    """Server seconds of ``repeats`` polls of the HX partial ``path``, back to back."""
    seconds = []
    console.caller.get(path, htmx=True)
    for _ in range(repeats):
        response = console.caller.get(path, htmx=True)
        assert response.status == 200, (path, response.status)
        seconds.append(response.seconds)
    return seconds


def wait_for_fleet(console: Console, sizes: list[tuple[int, int, int]], timeout: float) -> None:
    """Until every cluster's caches hold its EMQX (with statuses), brokers and rebalances."""
    from console.clusters import get_cluster

    deadline = time.monotonic() + timeout
    for n, (emqx, brokers, rebalances) in enumerate(sizes):
        cluster = get_cluster(cluster_name(n))
        assert cluster is not None
        for kind, count in (("EMQX", emqx), ("EmqxBroker", brokers), ("Rebalance", rebalances)):
            cache = cluster.cache(kind)
            while len(cache) < count:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{cluster_name(n)}/{kind}: {len(cache)} of {count} cached")
                time.sleep(0.1)


# ----- the table -----------------------------------------------------------------------------


@dataclass
class Row:
    what: str
    target: str
    measured: str
    ok: bool | None
    """None: not measured, or only extrapolated."""
    note: str = ""


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("pass" if ok else "**miss**")


def table(rows: list[Row]) -> str:
    lines = ["| row | target | measured | pass/miss | how |", "|---|---|---|---|---|"]
    lines += [f"| {r.what} | {r.target} | {r.measured} | {verdict(r.ok)} | {r.note} |" for r in rows]
    return "\n".join(lines)


@contextlib.contextmanager
def sandboxes_started(count: int) -> Iterator[list[Sandbox]]:
    started: list[Sandbox] = []
    try:
        for _ in range(count):
            started.append(Sandbox.create(crds="2.2", prefix="emqx-bench-scale-").start())
        yield started
    finally:
        for sb in started:
            sb.destroy()


def main() -> None:
    try:
        run()
    except KeyboardInterrupt:
        print("\ninterrupted: servers and sandboxes stopped", file=sys.stderr)
        raise SystemExit(130) from None


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=ISSUE["clusters"], help="sandbox API servers, one per cluster")
    parser.add_argument("--emqx", type=int, default=ISSUE["emqx"], help="EMQX instances over all clusters")
    parser.add_argument("--brokers", type=int, default=ISSUE["brokers"], help="EmqxBrokers over all clusters")
    parser.add_argument("--rebalances", type=int, default=ISSUE["rebalances"], help="Rebalances over all clusters")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers of the pod (the image's default: 1)")
    parser.add_argument(
        "--cache",
        choices=("shared", "memory"),
        default="shared",
        help="the workers share one watch cache (the image's default) or each keeps its own",
    )
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats per page measurement")
    parser.add_argument("--runs", type=int, default=3, help="runs of each poll level")
    parser.add_argument("--poll-seconds", type=float, default=12.0, help="length of a 10/100-viewer poll run")
    parser.add_argument("--changes", type=int, default=15, help="status changes for the freshness measurement")
    parser.add_argument("--write-docs", action="store_true", help=f"write the results to {DOCS.relative_to(ROOT)}")
    args = parser.parse_args()
    command = "python -m bench.scale " + shlex.join(sys.argv[1:])

    info = machine()
    began = time.monotonic()
    print(f"{command}: load average {load_average()}", flush=True)
    ensure_binaries()
    workdir = Path(tempfile.mkdtemp(prefix="emqx-bench-scale-"))
    sizes = list(
        zip(
            spread(args.emqx, args.clusters),
            spread(args.brokers, args.clusters),
            spread(args.rebalances, args.clusters),
            strict=True,
        )
    )
    objects = args.emqx + args.brokers + args.rebalances
    found: dict[str, Any] = {}
    try:
        with sandboxes_started(args.clusters) as sandboxes:
            print(f"{args.clusters} sandbox API servers started in {time.monotonic() - began:.0f} s", flush=True)
            clusters = [{"name": cluster_name(n), "kubeconfig": str(sb.kubeconfig)} for n, sb in enumerate(sandboxes)]
            extra = {"CONSOLE_CLUSTERS_JSON": json.dumps(clusters), "CONSOLE_EVENTS_POLL_SECONDS": "3600"}
            if args.cache == "shared":  # this process's own (its pages below), apart from the pod's
                extra["CONSOLE_SHARED_CACHE_DIR"] = str(workdir / "in-process-cache")
            # Django in this process, for the pages; no cache starts before its first page.
            console = start_console(sandboxes[0], workdir, extra)
            for sb in sandboxes:
                for namespace in NAMESPACES:
                    sb.create_namespace(namespace)
            found["empty"] = bench_pod(
                console, sandboxes, workdir, workers=args.workers, objects=0, timeout=120, shared=args.cache == "shared"
            )
            print(f"pod on the empty clusters: /readyz after {found['empty'].ready_s:.1f} s", flush=True)

            started = time.monotonic()
            apis = [Api(sb) for sb in sandboxes]
            for n, (sb, api, (emqx, brokers, rebalances)) in enumerate(zip(sandboxes, apis, sizes, strict=True)):
                create_fleet(sb, api, emqx, brokers, rebalances)
                print(
                    f"  {cluster_name(n)}: {emqx:,} EMQX, {brokers:,} EmqxBroker, {rebalances:,} Rebalance", flush=True
                )
            found["create_s"] = time.monotonic() - started
            found["server_mib"] = [server_memory_mib(sb) for sb in sandboxes]
            print(
                f"fleet created in {found['create_s']:.0f} s; API servers + etcd: "
                f"{sum(found['server_mib']):,.0f} MiB RSS together",
                flush=True,
            )

            found["pod"] = bench_pod(
                console,
                sandboxes,
                workdir,
                workers=args.workers,
                objects=objects,
                timeout=600,
                shared=args.cache == "shared",
            )
            print(f"pod on the fleet: /readyz after {found['pod'].ready_s:.1f} s", flush=True)

            started = time.monotonic()
            wait_for_fleet(console, sizes, timeout=600)
            wait_for_cache(console, sizes[0][0])
            found["inprocess_sync_s"] = time.monotonic() - started
            first = sizes[0][0]
            found["list"] = bench_list(console, apis[0], first, args.repeats)
            print(f"  list page {found['list'].page.ms()}, raw LIST {found['list'].raw.ms()}", flush=True)
            found["search_name"] = time_page(console, "/clusters/default/emqx/", "q=emqx-012", args.repeats)
            found["search_labels"] = time_page(console, "/clusters/default/emqx/", "labels=tier%3Dgold", args.repeats)
            found["search_both"] = time_page(
                console, "/clusters/default/emqx/", "q=emqx-01&labels=tier%3Dgold", args.repeats
            )
            targets = poll_targets(first)
            found["poll"] = [
                bench_poll(console, sandboxes[0], targets, viewers, args.runs, args.poll_seconds)
                for viewers in (1, 10, 100)
            ]
            for p in found["poll"]:
                print(f"  poll, {p.viewers} viewers: p50 {p.p50.ms(2)}, p99 {p.p99.ms(2)}", flush=True)
            # Its first call starts the caches and the events poll it needs (a LIST each): not counted.
            console.caller.get("/dashboard/_dashboard", htmx=True)
            before = [api_requests(sb) for sb in sandboxes]
            dashboard = poll_p50s(console, "/dashboard/_dashboard", args.repeats * 2)
            used = [api_requests(sb) - b for sb, b in zip(sandboxes, before, strict=True)]
            found["dashboard"] = (
                percentile(dashboard, 50),
                percentile(dashboard, 99),
                # The console's kinds and Events only: the API servers' own (leases, their watches ending) left out.
                "; ".join(
                    f"{cluster_name(n)}: "
                    + ", ".join(f"{r} {v} {c}" for (r, v), c in sorted(u.counts.items()) if c and r in CONSOLE_READS)
                    for n, u in enumerate(used)
                    if any(c for (r, _), c in u.counts.items() if r in CONSOLE_READS)
                )
                or "none",
            )
            found["freshness"] = bench_freshness(console, apis[0], targets[0], args.changes)
            console.cluster.close()
            from console import clusters as console_clusters

            console_clusters.reset()
            for api in apis:
                api.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    took = time.monotonic() - began
    rows = build_rows(found, args, objects)
    info["API servers"] = f"{args.clusters} sandboxes (etcd + kube-apiserver v1.37.2), one per cluster, this machine"
    info["fleet"] = (
        f"{args.emqx:,} EMQX, {args.brokers:,} EmqxBroker, {args.rebalances:,} Rebalance over {args.clusters} "
        f"clusters x {len(NAMESPACES)} namespaces; created in {found['create_s']:.0f} s; the API servers and etcds "
        f"held {sum(found['server_mib']):,.0f} MiB RSS together"
    )
    info["run took"] = f"{took:.0f} s; load average at the end {load_average()}"
    text = render(rows, info, command, found, args)
    print()
    print(text)
    if args.write_docs:
        write_docs(text)
        print(f"\nwritten to {DOCS.relative_to(ROOT)}")


def build_rows(found: dict[str, Any], args: argparse.Namespace, objects: int) -> list[Row]:
    pod: PodResult = found["pod"]
    empty: PodResult = found["empty"]
    workers = args.workers
    full_size = args.emqx == ISSUE["emqx"] and args.clusters == ISSUE["clusters"]
    rows: list[Row] = []
    if args.cache == "shared":
        per_1000_emqx = (pod.pss - empty.pss) / (args.emqx / 1000)
        measured = (
            f"{pod.pss:.0f} MiB PSS (master + {workers} worker(s), every page once; RSS: master {pod.master[0]:.0f}, "
            f"workers {', '.join(f'{rss:.0f}' for rss, _ in pod.served)}); the shared file {pod.cache_mib:.0f} MiB"
        )
        note = (
            f"after /readyz, a list page per cluster and the dashboard; {workers} worker(s) sharing one cache "
            "(one writes it, all read it); the file is page cache, also charged to the pod"
        )
        rows.append(Row("memory of one pod's console processes", "<= 300 MiB", measured, pod.pss <= 300, note))
        if not full_size:
            rows.append(
                _extrapolated_memory(empty.pss + per_1000_emqx * ISSUE["emqx"] / 1000, empty.pss, per_1000_emqx)
            )
        rows.append(
            Row(
                "memory per extra 1,000 EMQX (with their brokers, rebalances)",
                "< 5 MiB",
                f"{per_1000_emqx:.1f} MiB per pod (PSS; the file grows {pod.cache_mib / (args.emqx / 1000):.1f} MiB)",
                per_1000_emqx < 5,
                f"(fleet - empty clusters) / {args.emqx / 1000:g}, PSS of every process after serving",
            )
        )
    else:
        rows += _memory_rows_per_worker(pod, empty, args, workers, full_size)
    # The Informer LISTs PAGE_SIZE objects a request (ResourceClient.list_all): one LIST of 1,000 is 2 requests.
    per_cluster = {
        "emqxes": spread(args.emqx, args.clusters),
        "emqxbrokers": spread(args.brokers, args.clusters),
        "emqxenterprises": [0] * args.clusters,
        "rebalances": spread(args.rebalances, args.clusters),
    }
    for resource in RESOURCES:
        lists, open_watches = pod.lists[resource], pod.watches[resource]
        # The shared cache's writer asks for one object first (console/sharedcache.py: its LIST gate), then pages.
        first = 1 if args.cache == "shared" else 0
        pages = [max(1, first + math.ceil(max(0, n - first) / PAGE_SIZE)) for n in per_cluster[resource]]
        whole = [count / page for count, page in zip(lists, pages, strict=True)]
        rows.append(
            Row(
                f"LISTs, WATCHes of {resource} per cluster per pod",
                "1 and 1",
                f"LIST {_range(whole)} ({_range(lists)} requests of {PAGE_SIZE}), WATCH {_range(open_watches)}",
                max(whole) <= 1 and max(open_watches) <= 1,
                "counted by each API server (apiserver_request_total, _longrunning_requests) since the pod started; "
                f"{workers} worker(s)",
            )
        )
    lst = found["list"]
    rows.append(
        Row(
            f"list page, first page of all namespaces ({lst.size:,} EMQX of cluster 1)",
            "p50 <= 30 ms",
            f"{lst.page.ms()}",
            lst.page.median <= 0.030,
            "in-process, default sort, with the filter sidebar's counts",
        )
    )
    ratio = lst.page.median / lst.raw.median
    rows.append(
        Row(
            "  ... against the raw LIST of those EMQX",
            "<= 0.02x",
            f"{ratio:.3f}x (raw LIST + json.loads {lst.raw.ms()}, {lst.raw_bytes / 2**20:.1f} MiB)",
            ratio <= 0.02,
            "",
        )
    )
    for key, label in (
        ("search_name", "search by name (`?q=emqx-012`, 10 matches)"),
        ("search_labels", "search by label selector (`?labels=tier=gold`, a third)"),
        ("search_both", "name and label selector (`?q=emqx-01&labels=tier=gold`)"),
    ):
        s: Spread = found[key]
        rows.append(Row(label, "p50 <= 30 ms", s.ms(), s.median <= 0.030, "in-process, list page"))
    for p in found["poll"]:
        rows.append(
            Row(
                f"status poll, {p.viewers} viewer{'s' if p.viewers > 1 else ''} ({p.how})",
                "p50 <= 3 ms, p99 <= 15 ms, 0 API requests",
                f"p50 {p.p50.ms(2)}; p99 {p.p99.ms(2)}; {p.requests.emqxes} EMQX API requests in {p.polls:,} polls",
                p.p50.median <= 0.003 and p.p99.median <= 0.015 and p.requests.emqxes == 0,
                f"bench/run.py's bench_poll; CPU per poll p50 {p.cpu_p50.median * 1e3:.2f} ms",
            )
        )
    d50, d99, d_requests = found["dashboard"]
    rows.append(
        Row(
            f"dashboard poll, fleet-wide ({args.clusters} clusters)",
            "p50 <= 10 ms",
            f"p50 {d50 * 1e3:.1f} ms, p99 {d99 * 1e3:.1f} ms; API requests: {d_requests}",
            d50 <= 0.010,
            f"`/dashboard/_dashboard`, in-process, {args.repeats * 2} polls back to back",
        )
    )
    rows.append(
        Row(
            "pod start to /readyz 200",
            "<= 10 s",
            f"{pod.ready_s:.1f} s ({empty.ready_s:.1f} s on empty clusters)",
            pod.ready_s <= 10,
            "gunicorn start to the first 200 (probed every 50 ms)",
        )
    )
    if not full_size:
        scale = ISSUE["emqx"] / args.emqx
        rows.append(
            Row(
                "  the same, extrapolated to 10,000 EMQX",
                "<= 10 s",
                f"~{empty.ready_s + (pod.ready_s - empty.ready_s) * scale:.0f} s",
                None,
                "**extrapolated**, linear in the objects (the first LISTs decode under one GIL)",
            )
        )
    f = found["freshness"]
    rows.append(
        Row(
            "freshness, status write to the first poll showing it",
            f"<= 100 ms + the {POLL_INTERVAL_S:.0f} s poll interval",
            f"{f.seen.ms()} + the poll interval",
            f.seen.median <= 0.100,
            "bench/run.py's bench_freshness",
        )
    )
    return rows


def _extrapolated_memory(total: float, empty: float, per_1000_emqx: float) -> Row:
    """The memory row extrapolated to the issue's fleet: ``total`` MiB, from ``empty`` plus ``per_1000_emqx``."""
    return Row(
        "  the same, extrapolated to 10,000 EMQX (+1,000 + 1,000)",
        "<= 300 MiB",
        f"~{total:,.0f} MiB",
        None,
        f"**extrapolated**, linear: empty {empty:.0f} MiB + {per_1000_emqx:.1f} MiB per 1,000 EMQX",
    )


def _memory_rows_per_worker(
    pod: PodResult, empty: PodResult, args: argparse.Namespace, workers: int, full_size: bool
) -> list[Row]:
    """The memory rows when each worker keeps caches of its own (``--cache memory``)."""
    rows: list[Row] = []
    per_worker, per_worker_empty = pod.served[0][0], empty.served[0][0]
    per_1000_emqx = (per_worker - per_worker_empty) / (args.emqx / 1000)
    measured = (
        f"{pod.pod_mib(workers):.0f} MiB (master {pod.master[0]:.0f} + {workers} x worker {per_worker:.0f}; "
        f"worker USS {pod.served[0][1]:.0f})"
    )
    note = f"RSS after /readyz, a list page per cluster and the dashboard; {workers} worker(s), each its own caches"
    rows.append(Row("memory of one pod's console processes", "<= 300 MiB", measured, pod.pod_mib(workers) <= 300, note))
    if not full_size:
        issue_objects = ISSUE["emqx"] / 1000
        extrapolated = pod.master[0] + workers * (per_worker_empty + per_1000_emqx * issue_objects)
        rows.append(_extrapolated_memory(extrapolated, per_worker_empty, per_1000_emqx))
    for label, w in (("2 workers", 2), ("4 workers", 4)):
        if w != workers:
            rows.append(
                Row(
                    f"  the same with {label} (computed: each worker holds the same caches)",
                    "<= 300 MiB",
                    f"{pod.master[0] + w * per_worker:.0f} MiB",
                    None,
                    "computed, not run",
                )
            )
    rows.append(
        Row(
            "memory per extra 1,000 EMQX (with their brokers, rebalances)",
            "< 5 MiB",
            f"{per_1000_emqx:.0f} MiB per worker, {workers * per_1000_emqx:.0f} MiB per pod",
            workers * per_1000_emqx < 5,
            f"(fleet - empty clusters) / {args.emqx / 1000:g}, RSS after serving",
        )
    )
    return rows


def _range(values: list[int] | list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:g}" if low == high else f"{low:g}-{high:g}"


def render(rows: list[Row], info: dict[str, str], command: str, found: dict[str, Any], args: argparse.Namespace) -> str:
    pod: PodResult = found["pod"]
    lines = [
        f"`{command}` ({dt.datetime.now(dt.UTC):%d %B %Y, %H:%M} UTC), today's code (nothing changed for it).",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in info.items()),
        "",
        table(rows),
    ]
    if pod.page_errors:
        lines += ["", "Pages that failed under gunicorn: " + ", ".join(pod.page_errors)]
    return "\n".join(lines)


def write_docs(text: str) -> None:
    """Replace (or add, at the end) the section SECTION of docs/benchmarks.md; a subsection
    '### Measured by bench/scale.py' inside it holds the last run, the rest of the section stays."""
    doc = DOCS.read_text()
    marker = "### The last run of bench/scale.py"
    block = f"{marker}\n\n{text}\n"
    if SECTION not in doc:
        doc = doc.rstrip("\n") + f"\n\n{SECTION}\n\n{block}"
    else:
        head, rest = doc.split(SECTION, 1)
        end = rest.find("\n## ")
        section, tail = (rest, "") if end < 0 else (rest[:end], rest[end:])
        if marker in section:
            before, after = section.split(marker, 1)
            nxt = after.find("\n### ")
            section = before + block + ("" if nxt < 0 else after[nxt:])
        else:
            section = section.rstrip("\n") + f"\n\n{block}"
        doc = head + SECTION + section + tail
    DOCS.write_text(doc)


if __name__ == "__main__":
    main()
