"""Where a status poll's CPU goes, as polls arrive from browsers (a pause between two), and its p50.

    .venv/bin/python bench/poll_profile.py                     # 100 EMQX, 300 polls, 200 ms apart
    .venv/bin/python bench/poll_profile.py --count 1000 --polls 500 --pause 0.2 --top 30
    .venv/bin/python bench/poll_profile.py --dashboard --count 1000   # the fleet dashboard's poll (every 5 s)

In-process (bench/run.py's console, sandbox and logged-in viewer: a Viewer of every namespace through a
role grant, not a superuser), the status partial of one progressing EMQX, polled ``--polls`` times with a
``--pause`` sleep between two (bench/poll_anomaly.py: back to back, a poll runs hot and costs about 0.6x
what a browser's poll costs). Prints the wall and CPU (time.thread_time) p50 and p99 of the polls, then
cProfile's top functions by cumulative and by own CPU time, measured with the thread's CPU clock (so
sleeping and waiting for the GIL are not counted), with the per-poll time of each.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import Api, create_instances
from bench.measure import percentile
from bench.run import load_average, poll_targets, sandbox_cluster, start_console, status_path, wait_for_cache
from sandbox.build import ensure_binaries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100, help="EMQX instances cached")
    parser.add_argument("--polls", type=int, default=300)
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between two polls")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--dump", type=Path, help="also write the profile here (pstats; snakeviz or pstats to read)")
    parser.add_argument("--dashboard", action="store_true", help="profile the fleet dashboard's poll instead")
    args = parser.parse_args()
    print(f"load average {load_average()}", flush=True)
    ensure_binaries()
    workdir = Path(tempfile.mkdtemp(prefix="emqx-bench-poll-"))
    try:
        with sandbox_cluster() as sandbox:
            api = Api(sandbox)
            console = start_console(sandbox, workdir)
            create_instances(sandbox, api, range(args.count))
            wait_for_cache(console, args.count)
            path = "/dashboard/_dashboard" if args.dashboard else status_path(poll_targets(args.count)[0])
            for _ in range(20):  # warm: imports, template loading, the grants' first read
                assert console.caller.get(path, htmx=True).status == 200
            walls, cpus = [], []
            profile = cProfile.Profile(time.thread_time)
            for _ in range(args.polls):
                time.sleep(args.pause)
                profile.enable()
                response = console.caller.get(path, htmx=True)
                profile.disable()
                assert response.status == 200, response.status
                walls.append(response.seconds)
                cpus.append(response.cpu)
            console.cluster.close()
            api.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"{args.polls} polls, {args.pause * 1000:.0f} ms apart: wall p50 {percentile(walls, 50) * 1e3:.2f} ms, "
        f"p99 {percentile(walls, 99) * 1e3:.2f} ms; CPU p50 {percentile(cpus, 50) * 1e3:.2f} ms "
        f"(profiled: cProfile adds its own overhead to these); load {load_average()}"
    )
    if args.dump:
        profile.dump_stats(args.dump)
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats(order).print_stats(args.top)
        print(f"\n--- by {order} (seconds over {args.polls} polls; x {1000 / args.polls:g} = ms per poll) ---")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:20000])


if __name__ == "__main__":
    main()
