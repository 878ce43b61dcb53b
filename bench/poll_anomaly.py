"""Why the status poll's p50 doubles from 1 viewer to 10 (issue 18): the same poll, varied one factor at a time.

    .venv/bin/python bench/poll_anomaly.py                  # 1,000 EMQX, every variant, about 4 minutes
    .venv/bin/python bench/poll_anomaly.py --profile /tmp/p # also pyinstrument profiles of two variants

``make bench`` (bench/run.py) measures 1 viewer polling back to back, and 10 and 100 viewers each on a
thread of its own polling every 2 s at random phases. Those differ in three ways at once: the number of
threads, the number of instances polled, and the idle time between two polls of the process. Each
variant below (in-process, bench/run.py's console, sandbox and viewers) changes one of them:

    back-to-back         1 thread, 1 instance, no pause (the bench's 1-viewer row)
    10 paths             1 thread, 10 instances in turn, no pause
    pause 20/200 ms      1 thread, 1 instance, a sleep between polls
    busy 200 ms          1 thread, 1 instance, 200 ms of a busy loop on a few bytes between polls
    evict 200 ms         1 thread, 1 instance, 200 ms of reading a 64 MiB buffer between polls
    pause, 1st/2nd of 2  1 thread, 1 instance, a 200 ms sleep, then two polls back to back: the first, the second
    10 threads, no pause 10 threads, back to back (GIL contention at its worst)
    10 viewers           the bench's 10-viewer row (every 2 s, random phases, 12 s)

Each variant reports the wall-time p50 and p99 and the calling thread's CPU time p50 (time.thread_time:
waiting for the GIL or a core is not in it). Variants run interleaved over ``--rounds`` rounds, so that the
machine's load hits them alike; a cell is the median of the rounds.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import Api, create_instances
from bench.measure import Response, Spread, WsgiCaller, percentile
from bench.run import (
    POLL_INTERVAL_S,
    _viewer,
    load_average,
    machine,
    poll_targets,
    sandbox_cluster,
    start_console,
    status_path,
    wait_for_cache,
)
from sandbox.build import ensure_binaries

_EVICT = bytearray(64 * 2**20)


def _pause(kind: str, seconds: float) -> None:
    if kind == "sleep":
        time.sleep(seconds)
    elif kind == "busy":
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
    elif kind == "evict":
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            # One byte per 64-byte line: evicts the CPU's caches (L1/L2, most of a shared L3) while busy.
            sum(memoryview(_EVICT)[::4096])
            _EVICT[random.randrange(len(_EVICT))] = 1
            bytes(_EVICT[: 32 * 2**20])


def one_thread(
    caller: WsgiCaller, paths: list[str], polls: int, pause: str = "", seconds: float = 0.0
) -> list[Response]:
    out = []
    for n in range(polls):
        out.append(caller.get(paths[n % len(paths)], htmx=True))
        if pause:
            _pause(pause, seconds)
    return out


def pairs_after_pause(caller: WsgiCaller, path: str, pairs: int, which: int) -> list[Response]:
    """After each 200 ms sleep, two polls back to back; keeps the first (``which`` 0) or the second (1)."""
    out = []
    for _ in range(pairs):
        time.sleep(0.2)
        first, second = caller.get(path, htmx=True), caller.get(path, htmx=True)
        out.append((first, second)[which])
    return out


def threads_back_to_back(caller: WsgiCaller, paths: list[str], polls_each: int) -> list[Response]:
    samples: list[Response] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(paths))

    def run(path: str) -> None:
        barrier.wait()
        own = [caller.get(path, htmx=True) for _ in range(polls_each)]
        with lock:
            samples.extend(own)

    workers = [threading.Thread(target=run, args=(p,), daemon=True) for p in paths]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return samples


def bench_viewers(caller: WsgiCaller, paths: list[str], seconds: float) -> list[Response]:
    samples: list[Response] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(len(paths))
    workers = [
        threading.Thread(target=_viewer, args=(caller, p, seconds, barrier, lock, samples, statuses), daemon=True)
        for p in paths
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1000, help="EMQX instances in the cache")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="write pyinstrument profiles of 'back-to-back' and 'pause 200 ms'")
    parser.add_argument("--cpu-profile", action="store_true", help="only compare CPU time per function (cProfile)")
    args = parser.parse_args()
    info = machine()
    ensure_binaries()
    workdir = Path(tempfile.mkdtemp(prefix="emqx-bench-anomaly-"))
    try:
        with sandbox_cluster() as sandbox:
            api = Api(sandbox)
            console = start_console(sandbox, workdir)
            create_instances(sandbox, api, range(args.size))
            wait_for_cache(console, args.size)
            targets = poll_targets(args.size)
            one = [status_path(targets[0])]
            ten = [status_path(targets[v % len(targets)]) for v in range(10)]
            c = console.caller
            for path in ten:  # warm: templates, summaries, the grants
                c.get(path, htmx=True)
            variants: dict[str, Callable[[], list[Response]]] = {
                "back-to-back": lambda: one_thread(c, one, 300),
                "10 paths": lambda: one_thread(c, ten, 300),
                "pause 20 ms": lambda: one_thread(c, one, 150, "sleep", 0.02),
                "pause 200 ms": lambda: one_thread(c, one, 60, "sleep", 0.2),
                "busy 200 ms": lambda: one_thread(c, one, 60, "busy", 0.2),
                "evict 200 ms": lambda: one_thread(c, one, 60, "evict", 0.2),
                "pause 200 ms, 1st of 2": lambda: pairs_after_pause(c, one[0], 60, 0),
                "pause 200 ms, 2nd of 2": lambda: pairs_after_pause(c, one[0], 60, 1),
                "10 threads, no pause": lambda: threads_back_to_back(c, ten, 30),
                "10 viewers": lambda: bench_viewers(c, ten, 12.0),
            }
            found: dict[str, dict[str, list[float]]] = {k: {"p50": [], "p99": [], "cpu": []} for k in variants}
            counts = dict.fromkeys(variants, 0)
            if args.cpu_profile:
                compare_cpu(c, one[0])
                variants = {}
            for r in range(args.rounds if variants else 0):
                for name, variant in variants.items():
                    samples = variant()
                    counts[name] += len(samples)
                    found[name]["p50"].append(percentile([s.seconds for s in samples], 50))
                    found[name]["p99"].append(percentile([s.seconds for s in samples], 99))
                    found[name]["cpu"].append(percentile([s.cpu for s in samples], 50))
                print(f"round {r + 1} done, load {load_average()}", flush=True)
            if args.profile:
                write_profiles(c, one[0], args.profile)
            console.cluster.close()
            api.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(f"machine: {info}; load at the end {load_average()}")
    print(f"status poll of 1 of {args.size:,} cached EMQX, median of {args.rounds} rounds (min-max)")
    print("| variant | polls | p50 | p99 | CPU per poll, p50 |")
    print("|---|---:|---:|---:|---:|")
    for name in variants:
        f = found[name]
        print(
            f"| {name} | {counts[name]:,} | {Spread.of(f['p50']).ms(2)} | {Spread.of(f['p99']).ms(2)} "
            f"| {Spread.of(f['cpu']).ms(2)} |"
        )
    print(f"(a viewer in '10 viewers' polls every {POLL_INTERVAL_S:.0f} s)")


def compare_cpu(caller: WsgiCaller, path: str, polls: int = 200) -> None:
    """cProfile with the thread's CPU clock (time.thread_time) over ``polls`` back-to-back polls and over
    ``polls`` polls with a 200 ms sleep between them (outside the profile), alternating blocks of 20; prints
    the functions whose CPU time per poll differs most, and the totals. Deterministic profiling inflates
    every call alike in both; what differs is where the paused polls spend their extra CPU."""
    import cProfile
    import pstats

    profiles = {"back-to-back": cProfile.Profile(time.thread_time), "pause 200 ms": cProfile.Profile(time.thread_time)}
    for _ in range(polls // 20):
        for name, profile in profiles.items():
            for _ in range(20):
                profile.enable()
                caller.get(path, htmx=True)
                profile.disable()
                if name != "back-to-back":
                    time.sleep(0.2)
    per: dict[str, dict[tuple[str, int, str], tuple[int, float, float]]] = {}
    for name, profile in profiles.items():
        stats = pstats.Stats(profile)
        per[name] = {k: (v[1], v[2], v[3]) for k, v in stats.stats.items()}  # type: ignore[attr-defined]
    a, b = per["back-to-back"], per["pause 200 ms"]
    total_a = sum(v[1] for v in a.values()) / polls
    total_b = sum(v[1] for v in b.values()) / polls
    print(f"CPU per poll under cProfile: back-to-back {total_a * 1e3:.2f} ms, pause 200 ms {total_b * 1e3:.2f} ms")
    rows = []
    for key in set(a) | set(b):
        ta, tb = a.get(key, (0, 0.0, 0.0))[1] / polls, b.get(key, (0, 0.0, 0.0))[1] / polls
        calls_a, calls_b = a.get(key, (0, 0, 0))[0] / polls, b.get(key, (0, 0, 0))[0] / polls
        rows.append((tb - ta, ta, tb, calls_a, calls_b, key))
    rows.sort(key=lambda r: r[0], reverse=True)
    print("| function (own CPU time) | calls/poll (b2b / paused) | back-to-back us/poll | paused us/poll | diff |")
    print("|---|---:|---:|---:|---:|")
    for diff, ta, tb, ca, cb, (file, line, func) in rows[:25]:
        where = f"{Path(file).name}:{line} {func}" if line else func
        print(f"| {where} | {ca:.1f} / {cb:.1f} | {ta * 1e6:.0f} | {tb * 1e6:.0f} | {diff * 1e6:+.0f} |")
    # The spread of the slowdown: the share of the extra time in the top 10 functions, and the ratio of the
    # functions that take the most time back to back.
    extra = total_b - total_a
    top10 = sum(r[0] for r in rows[:10])
    print(f"extra CPU per poll {extra * 1e6:.0f} us; the 10 functions that grew most hold {top10 / extra:.0%} of it")
    heavy = sorted(rows, key=lambda r: r[1], reverse=True)[:15]
    print("the 15 heaviest functions back to back, paused/back-to-back ratio:")
    for _, ta, tb, _, _, (file, line, func) in heavy:
        where = f"{Path(file).name}:{line} {func}" if line else func
        print(f"  {tb / ta if ta else float('inf'):.2f}x  {ta * 1e6:6.0f} us  {where}")


def write_profiles(caller: WsgiCaller, path: str, directory: Path) -> None:
    """pyinstrument (its statistical profiler, this thread only) over 300 back-to-back polls and over 100
    polls with a 200 ms sleep between them (the sleeps are outside the profiled span)."""
    from pyinstrument import Profiler

    directory.mkdir(parents=True, exist_ok=True)
    for name, pause in (("back-to-back", 0.0), ("pause-200ms", 0.2)):
        profiler = Profiler(interval=0.0002)
        for _ in range(300 if not pause else 100):
            profiler.start()
            caller.get(path, htmx=True)
            profiler.stop()
            if pause:
                time.sleep(pause)
        (directory / f"poll-{name}.txt").write_text(profiler.output_text(unicode=True, show_all=False))
        print(f"profile: {directory / f'poll-{name}.txt'}")


if __name__ == "__main__":
    main()
