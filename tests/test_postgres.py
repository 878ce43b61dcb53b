"""The console on PostgreSQL, the production database: its migrations, and the tests of what it
keeps there (audit log, login throttling, roles, the condition timeline's deduplication), run
again against a real PostgreSQL server instead of SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresServer, bindir

ROOT = Path(__file__).resolve().parents[1]
# The modules whose tests read and write the database beyond sessions.
DATABASE_TESTS = [
    "tests/console/test_audit.py",
    "tests/console/test_audit_page.py",
    "tests/console/test_login.py",
    "tests/console/test_login_throttling.py",
    "tests/console/test_request_id.py",
    "tests/console/test_timeline.py",
    "tests/console/test_impersonation.py",
]

# What holds only on SQLite (the timeline's recorder is off on an in-memory SQLite database).
SQLITE_ONLY = [
    "--deselect",
    "tests/console/test_timeline.py::test_recording_is_off_by_default_on_an_in_memory_sqlite_database",
]

# `make test` installs PostgreSQL, so in CI a missing server is a failure, not a skip.
pytestmark = pytest.mark.skipif(
    bindir() is None and not os.environ.get("CI"), reason="PostgreSQL is not installed (make test installs it)"
)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def _run(postgres: PostgresServer, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": postgres.url, "CONSOLE_ENV": "development"}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_migrations_apply_on_postgresql(postgres: PostgresServer) -> None:
    migrated = _run(postgres, "manage.py", "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    pending = _run(postgres, "manage.py", "makemigrations", "--check", "--dry-run")
    assert pending.returncode == 0, pending.stdout[-3000:]  # the models and the migrations agree
    engine = _run(postgres, "manage.py", "shell", "-c", "from django.db import connection; print(connection.vendor)")
    assert engine.stdout.strip().splitlines()[-1] == "postgresql"


def test_what_the_console_keeps_in_its_database_works_on_postgresql(postgres: PostgresServer) -> None:
    result = _run(postgres, "-m", "pytest", *DATABASE_TESTS, *SQLITE_ONLY, "-q", "-p", "no:cacheprovider", "-x")
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
