"""The set-up the in-process benchmark scripts share: a sandbox of their own, the console
configured for it (CONSOLE_CLUSTERS_JSON), a throwaway database (SQLite, or PostgreSQL on
loopback), migrated; all removed at the end, also on an error."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from sandbox import Sandbox


@contextmanager
def console_on_sandbox(prefix: str, *, env: Mapping[str, str] = {}, postgres: bool = False) -> Iterator[Sandbox]:
    """Yield the started sandbox once Django is set up and migrated for it."""
    sb = Sandbox.create(crds="2.2", prefix=prefix)
    tmp = tempfile.mkdtemp(prefix="emqx-bench-db-")
    pg = None
    ready = False
    try:
        sb.start()
        os.environ["DJANGO_SETTINGS_MODULE"] = "console.settings"
        os.environ["CONSOLE_SQLITE_PATH"] = f"{tmp}/db.sqlite3"
        os.environ["CONSOLE_CLUSTERS_JSON"] = json.dumps([{"name": "default", "kubeconfig": str(sb.kubeconfig)}])
        os.environ.update(env)
        if postgres:
            from tests.postgres import PostgresServer

            pg = PostgresServer().start()
            os.environ["DATABASE_URL"] = pg.url
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        ready = True
        yield sb
    finally:
        if ready:
            from console import clusters

            clusters.reset()
        sb.destroy()
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def logged_in_superuser() -> object:
    """A Django test client logged in as a new superuser ``bench``."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.create_superuser("bench", password="bench-pw-123456"))
    return client
