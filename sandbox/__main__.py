"""`python -m sandbox build|up|down|status|env|run`: the local cluster from the command line.

python -m sandbox up            # start in the background, state in .sandbox/ (--crds 2.3|2.2|3.0|2021)
eval "$(python -m sandbox env)" # KUBECONFIG for kubectl and the console
python -m sandbox down          # stop it and free the ports
python -m sandbox run -- CMD    # start, run CMD with KUBECONFIG set, stop (also on Ctrl-C)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sandbox.build import bin_dir, ensure_binaries
from sandbox.cluster import BUNDLE_CHOICES, DEFAULT_BUNDLE, Sandbox, SandboxError

DEFAULT_DIR = Path(__file__).resolve().parent.parent / ".sandbox"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="state folder (default: .sandbox/)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build kube-apiserver, etcd and kubectl if missing")
    up = sub.add_parser("up", help="start the sandbox in the background")
    up.add_argument(
        "--crds", choices=BUNDLE_CHOICES, default=DEFAULT_BUNDLE, help="the CRDs of which operator line (default 2.3)"
    )
    up.add_argument("--fresh", action="store_true", help="discard the previous state first")
    sub.add_parser("down", help="stop the sandbox")
    sub.add_parser("status", help="say whether it runs, and where")
    sub.add_parser("env", help="print shell exports for KUBECONFIG and PATH (kubectl)")
    run = sub.add_parser("run", help="start a throwaway sandbox, run a command against it, stop it")
    run.add_argument("--crds", choices=BUNDLE_CHOICES, default=DEFAULT_BUNDLE)
    run.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    try:
        return _COMMANDS[args.command](args)
    except SandboxError as err:
        print(f"sandbox: {err}", file=sys.stderr)
        return 1


def _build(args: argparse.Namespace) -> int:
    for name, path in ensure_binaries().items():
        print(f"{name}\t{path}")
    return 0


def _up(args: argparse.Namespace) -> int:
    if args.fresh and args.dir.exists():
        Sandbox.attach(args.dir).stop()
        shutil.rmtree(args.dir)
    existing = Sandbox.attach(args.dir)
    if existing.is_running():
        print(f"sandbox: already running at {existing.server} (kubeconfig {existing.kubeconfig})")
        return 0
    ensure_binaries()
    started = time.monotonic()
    sb = Sandbox(args.dir, crds=args.crds)
    sb.etcd_port, sb.apiserver_port = existing.etcd_port, existing.apiserver_port
    sb.start(detach=True)
    print(f"sandbox: up at {sb.server} in {time.monotonic() - started:.1f} s; kubeconfig {sb.kubeconfig}")
    print('sandbox: eval "$(python -m sandbox env)" to point kubectl at it; `python -m sandbox down` stops it')
    return 0


def _down(args: argparse.Namespace) -> int:
    sb = Sandbox.attach(args.dir)
    was = sb.is_running()
    sb.stop()
    print("sandbox: stopped" if was else "sandbox: was not running")
    return 0


def _status(args: argparse.Namespace) -> int:
    sb = Sandbox.attach(args.dir)
    if sb.is_running():
        print(f"running at {sb.server}; kubeconfig {sb.kubeconfig}")
        return 0
    print("not running")
    return 3


def _env(args: argparse.Namespace) -> int:
    sb = Sandbox.attach(args.dir)
    print(f"export KUBECONFIG={sb.kubeconfig}")
    print(f'export PATH="{bin_dir()}:$PATH"')
    return 0


def _run(args: argparse.Namespace) -> int:
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        print("sandbox: run needs a command after --", file=sys.stderr)
        return 2
    sb = Sandbox.create(crds=args.crds)
    try:
        sb.start()
        env = {**os.environ, "KUBECONFIG": str(sb.kubeconfig), "PATH": f"{bin_dir()}:{os.environ['PATH']}"}
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 130
    finally:
        sb.destroy()


_COMMANDS = {"build": _build, "up": _up, "down": _down, "status": _status, "env": _env, "run": _run}

if __name__ == "__main__":
    sys.exit(main())
