"""Time a console pod to ``/readyz`` 200 with N clusters configured (issue 18's "ready in <= 10 s").

    .venv/bin/python -m bench.readyz --clusters 10 --servers 2 --runs 3

Starts ``--servers`` sandbox API servers (operator-2.2 CRDs, ten empty namespaces each, or ``--emqx`` EMQX
spread over them) and configures ``--clusters`` clusters over them in turn (each cluster its own clientset,
discovery and caches, as ten real clusters would be: the console's side of the cost is the same; empty
sandboxes are cheap, ten of them with objects are not). Then, ``--runs`` times, starts gunicorn as the image
does (``-w 1 --threads 8``, production settings) and reports, from the moment gunicorn is started:

* ``up``: gunicorn accepts connections (its worker has imported Django and the console);
* ``first``: the first answer of ``/readyz`` (any status: the first probe starts every cache);
* ``ready``: the first ``/readyz`` 200, probed every 50 ms (every cache of every kind of every cluster synced).

``ready - first`` is what the caches take; ``first`` is the process's own start, which no cache change moves.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import NAMESPACES, Api, create_instances
from bench.run import console_environment, load_average
from bench.scale import _get, cluster_name, sandboxes_started, spread
from bench.server import Gunicorn
from sandbox.build import ensure_binaries


def one_run(env: dict[str, str], workdir: Path, timeout: float) -> tuple[float, float, float]:
    """(up, first, ready) seconds from gunicorn's start, for one fresh pod."""
    headers = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https"}
    server = Gunicorn(env, workers=1, threads=8, log=workdir / "gunicorn-readyz.log")
    started = time.monotonic()
    server.start(timeout=timeout)
    try:
        up = time.monotonic() - started
        first = 0.0
        while True:
            code = _get(server.port, "/readyz", headers, timeout=5.0)
            now = time.monotonic() - started
            if code and not first:
                first = now
            if code == 200:
                return up, first, now
            if now > timeout:
                raise RuntimeError(f"/readyz not 200 after {timeout:.0f} s (last {code})")
            time.sleep(0.05)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=10, help="clusters configured")
    parser.add_argument("--servers", type=int, default=2, help="sandbox API servers the clusters share")
    parser.add_argument("--emqx", type=int, default=0, help="EMQX instances over the servers")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    print(f"python -m bench.readyz {shlex.join(sys.argv[1:])}: load average {load_average()}", flush=True)
    ensure_binaries()
    workdir = Path(tempfile.mkdtemp(prefix="emqx-bench-readyz-"))
    try:
        with sandboxes_started(args.servers) as sandboxes:
            for sb, count in zip(sandboxes, spread(args.emqx, args.servers), strict=True):
                for namespace in NAMESPACES:
                    sb.create_namespace(namespace)
                if count:
                    api = Api(sb)
                    create_instances(sb, api, range(count))
                    api.close()
            clusters = [
                {"name": cluster_name(n), "kubeconfig": str(sandboxes[n % args.servers].kubeconfig)}
                for n in range(args.clusters)
            ]
            env = console_environment(
                sandboxes[0],
                workdir,
                {"CONSOLE_CLUSTERS_JSON": json.dumps(clusters), "CONSOLE_EVENTS_POLL_SECONDS": "3600"},
            )
            env.update(CONSOLE_ENV="production", DJANGO_ALLOWED_HOSTS="127.0.0.1")
            import subprocess

            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--verbosity=0"],
                cwd=Path(__file__).resolve().parent.parent,
                env=env,
                check=True,
            )
            results = []
            for run in range(args.runs):
                up, first, ready = one_run(env, workdir, args.timeout)
                results.append((up, first, ready))
                print(
                    f"  run {run + 1}: up {up:.2f} s, first /readyz answer {first:.2f} s, "
                    f"/readyz 200 {ready:.2f} s (caches {ready - first:.2f} s)",
                    flush=True,
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    med = [statistics.median(r[i] for r in results) for i in range(3)]
    print(
        f"{args.clusters} clusters over {args.servers} API servers, {args.emqx:,} EMQX: median of {args.runs}: "
        f"up {med[0]:.2f} s, first answer {med[1]:.2f} s, /readyz 200 {med[2]:.2f} s; load {load_average()}"
    )


if __name__ == "__main__":
    main()
