"""The console under gunicorn, as in production, on a free loopback port, for a benchmark run."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from sandbox.cluster import free_port

ROOT = Path(__file__).resolve().parent.parent


def _die_with_parent() -> None:  # in the child, before exec: no gunicorn outlives the bench
    os.setsid()
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG


class Gunicorn:
    """``gunicorn console.wsgi:application -w WORKERS --threads THREADS`` with ``env``."""

    def __init__(self, env: Mapping[str, str], *, workers: int, threads: int, log: Path) -> None:
        self.port = free_port()
        self.workers = workers
        self.threads = threads
        self.argv = [
            str(Path(sys.executable).with_name("gunicorn")),
            "console.wsgi:application",
            f"--workers={workers}",
            f"--threads={threads}",
            f"--bind=127.0.0.1:{self.port}",
            "--log-level=warning",
        ]
        self._env = dict(env)
        self._log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def command(self) -> str:
        return "gunicorn " + " ".join(self.argv[1:]).replace(f"127.0.0.1:{self.port}", "127.0.0.1:PORT")

    def start(self, timeout: float = 30.0) -> Gunicorn:
        with open(self._log, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}): {self._log.read_text()[-2000:]}")
            if len(self.worker_pids()) == self.workers and _accepts(self.port):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start in {timeout:.0f} s: {self._log.read_text()[-2000:]}")

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        with contextlib.suppress(OSError):
            return [int(pid) for pid in children.read_text().split()]
        return []

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None


def _accepts(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def rss_mib(pid: int) -> float:
    """Resident memory (VmRSS of /proc/<pid>/status) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")
