"""The console's speed, and the load it puts on the API server (issue 9). One command:

    .venv/bin/python -m bench                      # everything, about 5 minutes on 2 cores
    .venv/bin/python -m bench --only list,poll     # some of: list, poll, freshness, memory, throughput
    .venv/bin/python -m bench --profile /tmp/prof  # also pyinstrument profiles of the list page and the poll

It starts its own sandbox (destroyed at the end, also on Ctrl-C), creates the EMQX instances it needs
(the operator's full example with a status written as the operator writes it: bench/fixtures.py) and
measures, each several times, printing median and spread (min-max):

1. list     Server time of the EMQX list page (first page of all namespaces: 50 rows of N) and of its
            `_rows` partial, for N = 10, 100, 1,000, in-process through Django's WSGI handler with a
            warm watch cache; next to a raw LIST of the same N objects on the same API server
            (urllib3 keep-alive, the admin token, json.loads), as a ratio.
2. poll     Server time of the status partial (p50, p99) and API server requests per poll (counted by
            the API server: apiserver_request_total from /metrics, before and after), for 1, 10 and 100
            simulated viewers. 1 viewer polls back to back; 10 and 100 poll every 2 s (htmx's interval),
            each from its own thread, at random phases, for a fixed time. Also the CPU time per poll and
            the full garbage collections (they stop every thread) during the runs.
3. freshness  Time from the start of a status write (PUT .../status) to its first appearance in a
            status partial polled in a tight loop.
4. memory   RSS of a fresh console process before and after its watch cache holds every instance.
5. throughput  Requests per second of the status poll under gunicorn in production mode (CONSOLE_ENV=
            production, -w 2 --threads 4 by default), next to two trivial views of bench/urls.py in the
            same run, from a bounded keep-alive client (threads, http.client) on 127.0.0.1.

The machine and its load average (before and after) are printed with the results: the numbers are
only comparable between runs at a similar load. docs/benchmarks.md has the results and their reading.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import Api, create_instances, name_of, namespace_of, state_of, status_document
from bench.load import run_load
from bench.measure import (
    ApiRequests,
    GcPauses,
    Response,
    Spread,
    WsgiCaller,
    api_requests,
    child_result,
    percentile,
)
from bench.server import Gunicorn, rss_mib
from emqx.rest import gc_paused
from sandbox import Sandbox
from sandbox.build import ensure_binaries

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("list", "poll", "freshness", "memory", "throughput")
POLL_INTERVAL_S = 2.0  # templates/console/emqx/detail.html: hx-trigger="every 2s"


# ----- the machine ---------------------------------------------------------------------------


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine() -> dict[str, str]:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    return {
        "cpus": str(os.cpu_count()),
        "memory": f"{mem_kib / 2**20:.1f} GiB",
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load average (1, 5, 15 min) at start": load_average(),
    }


# ----- the console, in this process ----------------------------------------------------------


@dataclass
class Console:
    """Django set up in this process against the sandbox, with a logged-in viewer's cookie."""

    env: dict[str, str]
    cookie: str
    caller: WsgiCaller
    cluster: Any


def console_environment(sandbox: Sandbox, workdir: Path, extra: Mapping[str, str] = {}) -> dict[str, str]:
    """The console's environment for ``sandbox`` (cluster "default"); ``extra`` adds or overrides
    variables (CONSOLE_CLUSTERS_JSON for more clusters: bench/scale.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSOLE_", "DJANGO_"))}
    env.pop("KUBECONFIG", None)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        CONSOLE_KUBECONFIG=str(sandbox.kubeconfig),
        CONSOLE_SQLITE_PATH=str(workdir / "console.sqlite3"),
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def start_console(sandbox: Sandbox, workdir: Path, extra: Mapping[str, str] = {}) -> Console:
    env = console_environment(sandbox, workdir, extra)
    for key in [k for k in os.environ if k.startswith(("CONSOLE_", "DJANGO_"))]:
        del os.environ[key]
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.test import Client

    from console.clusters import get_cluster
    from console.models import RoleGrant

    call_command("migrate", verbosity=0, interactive=False)
    # A viewer of every namespace (not a superuser: the role lookup is part of every request).
    user = User.objects.create_user("bench-viewer", password=secrets.token_urlsafe(16))
    RoleGrant.objects.create(user=user, role="viewer", cluster="*", namespace="*")
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return Console(env, cookie, WsgiCaller(get_wsgi_application(), cookie), get_cluster("default"))


def wait_for_cache(console: Console, count: int, timeout: float = 120.0) -> None:
    """Until the console's watch cache holds ``count`` instances, each with its status; then until
    the condition timeline (if this tree has it) has written what it saw, so that nothing runs
    in the background while we measure."""
    cache = console.cluster.cache("EMQX")
    deadline = time.monotonic() + timeout
    while len(cache) < count or any(o.status is None for o in cache.list()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the watch cache holds {len(cache)} of {count} instances after {timeout:.0f} s")
        time.sleep(0.1)
    with contextlib.suppress(ImportError):
        from console.timeline import RECORDER

        RECORDER.scan_now()
        RECORDER.flush(timeout=timeout)


def status_path(index: int) -> str:
    return f"/clusters/default/emqx/{namespace_of(index)}/{name_of(index)}/_status"


# ----- 1. the list page ----------------------------------------------------------------------


@dataclass
class ListResult:
    size: int
    raw: Spread
    decode: Spread
    """json.loads alone, within ``raw``."""
    page: Spread
    rows: Spread
    page_bytes: int
    raw_bytes: int


def bench_list(console: Console, api: Api, size: int, repeats: int) -> ListResult:
    caller = console.caller
    times: dict[str, list[float]] = {"raw": [], "decode": [], "page": [], "rows": []}
    sizes: dict[str, int] = {}

    def raw() -> None:
        status, data = api.request("GET", "/apis/apps.emqx.io/v2beta1/emqxes")
        assert status == 200, status
        started = time.perf_counter()
        # With the collector paused, as the console's own client decodes a large LIST (emqx.rest.gc_paused):
        # this process holds the console's cache, whose full collections a plain client would not pay.
        with gc_paused():
            decoded = json.loads(data)
        times["decode"].append(time.perf_counter() - started)
        assert len(decoded["items"]) == size
        sizes["raw"] = len(data)

    def page() -> None:
        response = caller.get("/clusters/default/emqx/")
        assert response.status == 200 and f"{size} EMQX instances".encode() in response.body, response.status
        sizes["page"] = len(response.body)

    def rows() -> None:
        response = caller.get("/clusters/default/emqx/_rows", htmx=True)
        assert response.status == 200 and f"{size} EMQX instances".encode() in response.body, response.status

    ways: dict[str, Callable[[], None]] = {"raw": raw, "page": page, "rows": rows}
    for function in ways.values():  # warm-up: connections, templates, caches
        function()
        function()
    times["decode"].clear()
    # Interleaved, so that a change of the machine's load hits all three alike.
    for _ in range(repeats):
        for key, function in ways.items():
            started = time.perf_counter()
            function()
            times[key].append(time.perf_counter() - started)
    return ListResult(
        size,
        Spread.of(times["raw"]),
        Spread.of(times["decode"]),
        Spread.of(times["page"]),
        Spread.of(times["rows"]),
        sizes["page"],
        sizes["raw"],
    )


# ----- 2. the status poll --------------------------------------------------------------------


@dataclass
class PollResult:
    viewers: int
    how: str
    p50: Spread
    p99: Spread
    cpu_p50: Spread
    """CPU time of the serving thread per poll (median of runs of its p50): the work itself."""
    full_gcs: list[float]
    """Seconds of each full garbage collection in the process during the runs (they stop every thread)."""
    polls: int
    requests: ApiRequests
    statuses: dict[int, int] = field(default_factory=dict)


def poll_targets(count: int) -> list[int]:
    """Instances that are still progressing (those a browser keeps polling: a settled one answers 286)."""
    return [i for i in range(count) if state_of(i) != "Ready"]


def _viewer(
    caller: WsgiCaller,
    path: str,
    seconds: float,
    barrier: threading.Barrier,
    lock: threading.Lock,
    samples: list[Response],
    statuses: dict[int, int],
) -> None:
    """One browser tab on a detail page: polls ``path`` every POLL_INTERVAL_S for ``seconds``."""
    own: list[Response] = []
    own_statuses: dict[int, int] = {}
    barrier.wait()
    start = time.monotonic()
    due = start + random.uniform(0, POLL_INTERVAL_S)
    while True:
        now = time.monotonic()
        if now < due:
            time.sleep(due - now)
        if time.monotonic() - start > seconds:
            break
        response = caller.get(path, htmx=True)
        own.append(response)
        own_statuses[response.status] = own_statuses.get(response.status, 0) + 1
        due = max(due + POLL_INTERVAL_S, time.monotonic())
    with lock:
        samples.extend(own)
        for status, count in own_statuses.items():
            statuses[status] = statuses.get(status, 0) + count


def bench_poll(
    console: Console, sandbox: Sandbox, targets: list[int], viewers: int, runs: int, seconds: float
) -> PollResult:
    caller = console.caller
    p50s: list[float] = []
    p99s: list[float] = []
    cpu_p50s: list[float] = []
    statuses: dict[int, int] = {}
    polls = 0
    before = api_requests(sandbox)
    with GcPauses() as gc_pauses:
        for _ in range(runs):
            samples: list[Response] = []
            lock = threading.Lock()
            if viewers == 1:
                path = status_path(targets[0])
                for _ in range(300):
                    response = caller.get(path, htmx=True)
                    samples.append(response)
                    statuses[response.status] = statuses.get(response.status, 0) + 1
            else:
                barrier = threading.Barrier(viewers)
                paths = [status_path(targets[v % len(targets)]) for v in range(viewers)]
                threads = [
                    threading.Thread(
                        target=_viewer, args=(caller, path, seconds, barrier, lock, samples, statuses), daemon=True
                    )
                    for path in paths
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            polls += len(samples)
            p50s.append(percentile([r.seconds for r in samples], 50))
            p99s.append(percentile([r.seconds for r in samples], 99))
            cpu_p50s.append(percentile([r.cpu for r in samples], 50))
    requests = api_requests(sandbox) - before
    how = "back to back" if viewers == 1 else f"each every {POLL_INTERVAL_S:.0f} s for {seconds:.0f} s"
    return PollResult(
        viewers,
        how,
        Spread.of(p50s),
        Spread.of(p99s),
        Spread.of(cpu_p50s),
        gc_pauses.full(),
        polls,
        requests,
        statuses,
    )


# ----- 3. freshness --------------------------------------------------------------------------


@dataclass
class FreshResult:
    seen: Spread
    write: Spread
    polls_per_change: float


def bench_freshness(console: Console, api: Api, target: int, changes: int) -> FreshResult:
    caller = console.caller
    path = status_path(target)
    seen: list[float] = []
    writes: list[float] = []
    polls = 0
    for n in range(changes):
        current = api.get_instance(target)
        token = f"bench-change-{n}-{secrets.token_hex(4)}"
        status = status_document(target, current["metadata"]["generation"], state_of(target), message=token)
        started = time.perf_counter()
        api.write_status(current, status)
        writes.append(time.perf_counter() - started)
        while True:
            polls += 1
            if token.encode() in caller.get(path, htmx=True).body:
                seen.append(time.perf_counter() - started)
                break
            if time.perf_counter() - started > 30:
                raise RuntimeError(f"a status change did not show in 30 s ({path})")
        time.sleep(random.uniform(0.2, 0.5))
    return FreshResult(Spread.of(seen), Spread.of(writes), polls / changes)


# ----- 4. memory -----------------------------------------------------------------------------


def bench_memory(console: Console, size: int, runs: int) -> dict[str, Spread]:
    found: dict[str, list[float]] = {}
    for _ in range(runs):
        env = {**console.env, "BENCH_COOKIE": console.cookie}
        values = child_result(
            ["bench.memory_probe", f"--expect={size}", f"--status-path={status_path(7)}"],
            cwd=ROOT,
            env=env,
            timeout=180,
        )
        for key in ("ready", "warm", "served", "sync_s"):
            found.setdefault(key, []).append(values[key])
    return {key: Spread.of(values) for key, values in found.items()}


# ----- 5. throughput under gunicorn ----------------------------------------------------------


@dataclass
class ThroughputResult:
    command: str
    connections: int
    seconds: float
    rps: dict[str, Spread]
    latency_p50: dict[str, Spread]
    errors: int
    requests_during: ApiRequests
    worker_rss_mib: list[float]


def bench_throughput(
    console: Console,
    sandbox: Sandbox,
    workdir: Path,
    *,
    workers: int,
    threads: int,
    runs: int,
    seconds: float,
    target: int,
) -> ThroughputResult:
    env = {**console.env, "CONSOLE_ENV": "production", "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}
    server = Gunicorn(env, workers=workers, threads=threads, log=workdir / "gunicorn.log")
    servers = [server]
    connections = workers * threads
    # Behind the TLS proxy that production has: it says https, so no redirect to https.
    headers = {"Host": "127.0.0.1", "Cookie": console.cookie, "X-Forwarded-Proto": "https", "HX-Request": "true"}
    endpoints: dict[str, tuple[Gunicorn, str]] = {
        "status poll": (server, status_path(target)),
        "trivial view": (server, "/_bench/trivial"),
        "trivial view, logged in": (server, "/_bench/trivial-logged-in"),
    }
    try:
        for each in servers:
            each.start()
            # Every worker builds its own watch cache (one LIST each) on its first EMQX request.
            lists_before = _emqx_lists(sandbox)
            deadline = time.monotonic() + 60
            while _emqx_lists(sandbox) - lists_before < workers:
                if time.monotonic() > deadline:
                    raise RuntimeError("the gunicorn workers did not all LIST within 60 s")
                warm = run_load(each.port, status_path(target), headers, connections=connections, seconds=1.0)
                assert warm.errors == 0, warm.statuses
        for each, path in endpoints.values():
            run_load(each.port, path, headers, connections=connections, seconds=1.0)
        before = api_requests(sandbox)
        rps: dict[str, list[float]] = {name: [] for name in endpoints}
        p50: dict[str, list[float]] = {name: [] for name in endpoints}
        errors = 0
        # Interleaved, so that a change of the machine's load hits every endpoint alike.
        for _ in range(runs):
            for name, (each, path) in endpoints.items():
                result = run_load(each.port, path, headers, connections=connections, seconds=seconds)
                rps[name].append(result.rps)
                p50[name].append(percentile(result.latencies, 50))
                errors += result.errors
        during = api_requests(sandbox) - before
        worker_rss = [rss_mib(pid) for pid in server.worker_pids()]
    finally:
        for each in servers:
            each.stop()
    return ThroughputResult(
        server.command,
        connections,
        seconds,
        {k: Spread.of(v) for k, v in rps.items()},
        {k: Spread.of(v) for k, v in p50.items()},
        errors,
        during,
        worker_rss,
    )


def _emqx_lists(sandbox: Sandbox) -> int:
    return api_requests(sandbox).counts.get(("emqxes", "LIST"), 0)


# ----- profiles ------------------------------------------------------------------------------


def write_profiles(console: Console, directory: Path, target: int) -> None:
    from pyinstrument import Profiler

    directory.mkdir(parents=True, exist_ok=True)
    jobs = {
        "list-page": lambda: console.caller.get("/clusters/default/emqx/"),
        "status-poll": lambda: console.caller.get(status_path(target), htmx=True),
    }
    for name, job in jobs.items():
        job()
        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(50 if name == "list-page" else 500):
            job()
        profiler.stop()
        (directory / f"{name}.txt").write_text(profiler.output_text(unicode=True, show_all=False))
        print(f"profile: {directory / (name + '.txt')}")


# ----- the report ----------------------------------------------------------------------------


def report(results: dict[str, Any], info: dict[str, str]) -> None:
    print()
    print("## Machine")
    for key, value in info.items():
        print(f"- {key}: {value}")
    if "list" in results:
        print()
        print("## 1. List page (first page of all namespaces: 50 rows of N), server time, median (min-max)")
        print(
            "| N | raw LIST + json.loads | (json.loads) | list page | page ÷ LIST | `_rows` partial | rows ÷ LIST "
            "| page HTML | LIST JSON |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in results["list"]:
            print(
                f"| {r.size:,} | {r.raw.ms()} | {r.decode.median * 1e3:.1f} ms | {r.page.ms()} | "
                f"{r.page.median / r.raw.median:.2f}x | {r.rows.ms()} | {r.rows.median / r.raw.median:.2f}x | "
                f"{r.page_bytes / 1024:.0f} KiB | {r.raw_bytes / 1024:.0f} KiB |"
            )
    if "poll" in results:
        print()
        print("## 2. Status poll, server time with a warm cache (median of runs, min-max of runs)")
        print(
            "| viewers | how they poll | polls | p50 | p99 | CPU per poll, p50 | full GCs (longest) "
            "| EMQX API requests / poll | other API requests (not the console's) |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
        for p in results["poll"]:
            print(
                f"| {p.viewers} | {p.how} | {p.polls:,} | {p.p50.ms(2)} | {p.p99.ms(2)} | "
                f"{p.cpu_p50.median * 1e3:.2f} ms | {len(p.full_gcs)}"
                f"{f' ({max(p.full_gcs) * 1e3:.0f} ms)' if p.full_gcs else ''} | "
                f"{p.requests.emqxes / p.polls:.3f} ({p.requests.emqx_verbs() or 'none'}) | "
                f"{p.requests.others() or 'none'} |"
            )
    if "freshness" in results:
        f = results["freshness"]
        print()
        print(f"## 3. Freshness ({f.seen.n} status changes, partial polled in a tight loop)")
        print(f"- write to first poll that shows it: {f.seen.ms()}")
        print(f"- of which the PUT .../status itself: {f.write.ms()}")
        print(
            f"- polls per change: {f.polls_per_change:.0f}; "
            f"a browser adds up to {POLL_INTERVAL_S:.0f} s (its poll interval)"
        )
    if "memory" in results:
        m = results["memory"]
        print()
        print(f"## 4. Memory of a console process (VmRSS, {m['ready'].n} fresh processes, median (min-max))")
        print(f"- ready to serve, no cache: {m['ready'].median:.0f} MiB ({m['ready'].low:.0f}-{m['ready'].high:.0f})")
        print(
            f"- cache warm with {results['size']:,} instances: {m['warm'].median:.0f} MiB "
            f"({m['warm'].low:.0f}-{m['warm'].high:.0f}); +{m['warm'].median - m['ready'].median:.0f} MiB, "
            f"first sync {m['sync_s'].median:.2f} s"
        )
        print(f"- after serving the list page and a poll: {m['served'].median:.0f} MiB")
    if "throughput" in results:
        t = results["throughput"]
        print()
        print(f"## 5. Throughput under `{t.command}` (CONSOLE_ENV=production)")
        print(f"{t.connections} keep-alive connections, {t.seconds:.0f} s per run, median (min-max) of runs")
        print("| endpoint | requests/s | latency p50 | ÷ trivial view | ÷ trivial view, logged in |")
        print("|---|---:|---:|---:|---:|")
        trivial, logged_in = t.rps["trivial view"].median, t.rps["trivial view, logged in"].median
        for name, spread in t.rps.items():
            print(
                f"| {name} | {spread.median:.0f} ({spread.low:.0f}-{spread.high:.0f}) | "
                f"{t.latency_p50[name].ms()} | {spread.median / trivial:.2f} | {spread.median / logged_in:.2f} |"
            )
        print(
            f"- errors: {t.errors}; API requests during the measured runs: "
            f"EMQX: {t.requests_during.emqx_verbs() or 'none'}; "
            f"others: {t.requests_during.others() or 'none'}; worker RSS: "
            + ", ".join(f"{mib:.0f} MiB" for mib in t.worker_rss_mib)
        )
    print()
    print(f"load average at the end: {load_average()}")


# ----- main ----------------------------------------------------------------------------------


@contextlib.contextmanager
def sandbox_cluster() -> Iterator[Sandbox]:
    sb = Sandbox.create(crds="2.2", prefix="emqx-bench-")
    try:
        yield sb.start()
    finally:
        sb.destroy()


def main() -> None:
    try:
        run()
    except KeyboardInterrupt:
        # The finally blocks have stopped gunicorn and the sandbox and removed their folders.
        print("\ninterrupted: servers and sandbox stopped", file=sys.stderr)
        raise SystemExit(130) from None


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated, of: {', '.join(SECTIONS)}")
    parser.add_argument("--sizes", default="10,100,1000", help="instance counts for the list page")
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats per list measurement")
    parser.add_argument("--runs", type=int, default=3, help="runs of each poll, memory and throughput measurement")
    parser.add_argument("--poll-seconds", type=float, default=12.0, help="length of a 10/100-viewer poll run")
    parser.add_argument("--changes", type=int, default=15, help="status changes for the freshness measurement")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--load-runs", type=int, default=5, help="runs of each throughput measurement")
    parser.add_argument("--load-seconds", type=float, default=4.0, help="length of a throughput run")
    parser.add_argument("--profile", type=Path, help="write pyinstrument profiles of the list page and poll here")
    args = parser.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    sizes = sorted(int(s) for s in args.sizes.split(","))
    size = sizes[-1]

    info = machine()
    print(f"console benchmark: {', '.join(s for s in SECTIONS if s in only)}; load average {load_average()}")
    ensure_binaries()
    workdir = Path(tempfile.mkdtemp(prefix="emqx-bench-"))
    results: dict[str, Any] = {"size": size}
    began = time.monotonic()
    try:
        with sandbox_cluster() as sandbox:
            api = Api(sandbox)
            console = start_console(sandbox, workdir)
            created = 0
            results["list"] = []
            for n in sizes if "list" in only else [size]:
                started = time.monotonic()
                create_instances(sandbox, api, range(created, n))
                created = n
                wait_for_cache(console, n)
                print(f"{n:,} instances created and cached in {time.monotonic() - started:.1f} s")
                if "list" in only:
                    result = bench_list(console, api, n, args.repeats)
                    results["list"].append(result)
                    print(f"  list: raw LIST {result.raw.ms()}, page {result.page.ms()}, rows {result.rows.ms()}")
            if not results["list"]:
                del results["list"]
            targets = poll_targets(size)
            if "poll" in only:
                results["poll"] = []
                for viewers in (1, 10, 100):
                    poll = bench_poll(console, sandbox, targets, viewers, args.runs, args.poll_seconds)
                    results["poll"].append(poll)
                    print(f"  poll, {viewers} viewers: p50 {poll.p50.ms(2)}, p99 {poll.p99.ms(2)}")
            if args.profile:
                write_profiles(console, args.profile, targets[0])
            if "freshness" in only:
                results["freshness"] = bench_freshness(console, api, targets[0], args.changes)
                print(f"  freshness: {results['freshness'].seen.ms()}")
            if "memory" in only:
                results["memory"] = bench_memory(console, size, args.runs)
                print(f"  memory: warm {results['memory']['warm'].median:.0f} MiB")
            if "throughput" in only:
                results["throughput"] = bench_throughput(
                    console,
                    sandbox,
                    workdir,
                    workers=args.workers,
                    threads=args.threads,
                    runs=args.load_runs,
                    seconds=args.load_seconds,
                    target=targets[0],
                )
                print(f"  throughput: {results['throughput'].rps['status poll'].median:.0f} polls/s")
            console.cluster.close()
            api.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    info["bench duration"] = f"{time.monotonic() - began:.0f} s"
    report(results, info)


if __name__ == "__main__":
    main()
