"""What the EMQX state rules cost per version: summarizing 1,000 instances as the list page does.

    .venv/bin/python bench/state_rules.py                 # 1,000 instances per version, 7 repeats
    .venv/bin/python bench/state_rules.py --items 200 --repeats 15

For each status shape an operator line writes (v2beta1 of 2.2; v2 of 2.3 in its state-machine model A and its
independent-conditions model B; v3beta1 of 3.0), it builds N Ready instances in memory (models parsed once,
as the watch cache holds them) and times ``EMQXAdmin.summarize`` over all of them: cold (new objects, so the
per-object memo is empty, as after a change of every instance) and warm (the same objects again, as on the
next list page). No cluster is needed. Prints the median and the spread (min-max) in milliseconds.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
django.setup()

from console.registry import site  # noqa: E402
from emqx.models import apps_v2, apps_v2beta1, apps_v3beta1  # noqa: E402

T = "2026-11-30T08:00:00Z"


def _c(type_: str, status: str = "True", reason: str = "", generation: int | None = None) -> dict[str, Any]:
    cond: dict[str, Any] = {
        "type": type_,
        "status": status,
        "reason": reason or type_,
        "message": "",
        "lastTransitionTime": T,
    }
    if generation is not None:
        cond["observedGeneration"] = generation
    return cond


SHAPES: dict[str, tuple[Any, Callable[[], dict[str, Any]]]] = {
    "v2beta1 (2.2)": (
        apps_v2beta1.EMQX,
        lambda: {"conditions": [_c("Ready"), _c("Available"), _c("CoreNodesReady"), _c("Initialized")]},
    ),
    "v2 model A (2.3)": (
        apps_v2.EMQX,
        lambda: {"conditions": [_c("Ready"), _c("Available"), _c("CoreNodesReady"), _c("Initialized")]},
    ),
    "v2 model B (2.3)": (
        apps_v2.EMQX,
        lambda: {"conditions": [_c("CoreNodesProgressing", "False", "Converged"), _c("Available"), _c("Ready")]},
    ),
    "v3beta1 (3.0)": (
        apps_v3beta1.EMQX,
        lambda: {
            "conditions": [
                _c("EMQXAPIAvailable", "True", "RequestSucceeded", 1),
                _c("CoreNodesProgressing", "False", "Converged", 1),
                _c("Available", "True", "CorePodsAvailable", 1),
                _c("Ready", "True", "Ready", 1),
                _c("ConfigApplied", "True", "Applied", 1),
                _c("Paused", "False", "AnnotationNotSet", 1),
            ],
            "coreReplicas": 3,
            "replicantReplicas": 0,
        },
    ),
}


def build(model: Any, status: Callable[[], dict[str, Any]], items: int) -> list[Any]:
    return [
        model.from_dict(
            {
                "metadata": {
                    "name": f"i{n}",
                    "namespace": "ns",
                    "generation": 1,
                    "uid": f"u{n}",
                    "resourceVersion": str(n + 1),
                },
                "spec": {"image": "emqx/emqx:5.8.6", "coreTemplate": {"spec": {"replicas": 3}}},
                "status": status(),
            }
        )
        for n in range(items)
    ]


def timed(run: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return times


def summarize_each(admin: Any, batches: Any) -> Callable[[], object]:
    """One timed run: summarize every instance of the next batch."""
    return lambda: [admin.summarize(obj) for obj in next(batches)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    admin = site.for_kind("EMQX")
    py = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"# {py}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"# summarize() over {args.items} Ready instances; ms, median (min-max) of {args.repeats}")
    print(f"{'status shape':<20} {'cold':>22} {'warm (memoized)':>22}")
    for label, (model, status) in SHAPES.items():
        batches = [build(model, status, args.items) for _ in range(args.repeats)]
        states = {admin.summarize(obj).state for obj in batches[0]}
        assert states == {"Ready"}, (label, states)  # the rules read each shape as Ready
        batches = [build(model, status, args.items) for _ in range(args.repeats)]
        cold = timed(summarize_each(admin, iter(batches)), args.repeats)
        warm = timed(summarize_each(admin, iter([batches[0]] * args.repeats)), args.repeats)
        print(f"{label:<20} {_spread(cold):>22} {_spread(warm):>22}")


def _spread(times: list[float]) -> str:
    return f"{statistics.median(times):.1f} ({min(times):.1f}-{max(times):.1f})"


if __name__ == "__main__":
    main()
