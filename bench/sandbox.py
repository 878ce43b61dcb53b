"""How long the sandbox takes to build and to start, and how big the binaries are.

    .venv/bin/python bench/sandbox.py            # start-up time, 5 runs
    .venv/bin/python bench/sandbox.py --cold     # also a first build from an empty Go build cache

The cold build keeps the Go module download cache (the proxy is not a thing to measure) but
starts from an empty GOCACHE and an empty binary folder, as on a new clone of a new machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import Sandbox
from sandbox.build import binaries, ensure_binaries


def cold_build() -> None:
    with tempfile.TemporaryDirectory() as gocache, tempfile.TemporaryDirectory() as bindir:
        os.environ["GOCACHE"] = gocache
        os.environ["EMQX_SANDBOX_BIN"] = bindir
        started = time.monotonic()
        paths = ensure_binaries(quiet=True)
        took = time.monotonic() - started
        sizes = {name: p.stat().st_size / 2**20 for name, p in paths.items()}
        del os.environ["GOCACHE"], os.environ["EMQX_SANDBOX_BIN"]
    print(f"cold build (empty GOCACHE, 2 cores): {took:.0f} s")
    for name, mib in sizes.items():
        print(f"  {name:15} {mib:6.1f} MiB")


def starts(runs: int) -> None:
    ensure_binaries()
    phases: dict[str, list[float]] = {}
    for _ in range(runs):
        sb = Sandbox.create(crds="2.2")
        try:
            sb.start()
            for k, v in sb.timings.items():
                phases.setdefault(k, []).append(v)
        finally:
            sb.destroy()
    print(f"sandbox start, {runs} runs (median, min-max seconds):")
    for k, vals in phases.items():
        print(f"  {k:15} {statistics.median(vals):5.2f}  ({min(vals):.2f}-{max(vals):.2f})")
    print("binaries:", ", ".join(f"{n} {p.stat().st_size / 2**20:.0f} MiB" for n, p in binaries().items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", action="store_true", help="also measure a first build from scratch")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.cold:
        cold_build()
    starts(args.runs)


if __name__ == "__main__":
    main()
