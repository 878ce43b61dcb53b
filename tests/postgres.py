"""A throwaway PostgreSQL server on loopback, for the tests that check the console's database
code on the production database (Debian's postgresql package; `make test` installs it).

initdb into a temporary folder, trust authentication on 127.0.0.1 only, a free port, and
the server dies with the process that started it. PostgreSQL refuses to run as root: as
root, the server runs as the ``postgres`` user the package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from sandbox.cluster import _die_with_parent, free_port

USER = "postgres"


def bindir() -> Path | None:
    """Where initdb and postgres are (Debian keeps them out of PATH), or None."""
    for candidate in (shutil.which("pg_ctl"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)):
        if candidate:
            return Path(os.path.realpath(candidate)).parent
    return None


class PostgresServer:
    def __init__(self) -> None:
        found = bindir()
        if found is None:
            raise RuntimeError("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
        self.bin = found
        self.dir = Path(tempfile.mkdtemp(prefix="console-pg-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._as_postgres = os.geteuid() == 0

    def _run_as(self) -> dict[str, object]:
        if not self._as_postgres:
            return {}
        account = pwd.getpwnam(USER)
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    @property
    def url(self) -> str:
        return f"postgres://{USER}@127.0.0.1:{self.port}/console"

    def start(self, timeout: float = 30.0) -> PostgresServer:
        data = self.dir / "data"
        if self._as_postgres:
            account = pwd.getpwnam(USER)
            os.chown(self.dir, account.pw_uid, account.pw_gid)
        subprocess.run(
            [str(self.bin / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "--no-sync", "-E", "UTF8"],
            check=True,
            capture_output=True,
            **self._run_as(),  # type: ignore[arg-type]
        )
        log = open(self.dir / "server.log", "wb")  # noqa: SIM115 - the server writes to it until stop()
        settings = ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]  # throwaway data
        command = [str(self.bin / "postgres"), "-D", str(data), "-p", str(self.port), "-h", "127.0.0.1"]
        command += ["-k", str(self.dir), *(arg for s in settings for arg in ("-c", s))]
        self.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
            **self._run_as(),  # type: ignore[arg-type]
        )
        deadline = time.monotonic() + timeout
        while True:
            ready = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
            )
            if ready.returncode == 0:
                break
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {(self.dir / 'server.log').read_text()[-2000:]}")
            time.sleep(0.1)
        subprocess.run(
            [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, "console"],
            check=True,
            capture_output=True,
        )
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # "smart" shutdown would wait for clients; SIGTERM does not
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
