"""The README's first command: `make run` (manage.py demo) gives a working console in a browser.

The demo runs as `make run` runs it (its own sandbox, the demo seed, the simulator and Django's
runserver, with the settings' defaults), on a free port and with a database of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, expect

from sandbox.cluster import free_port

ROOT = Path(__file__).resolve().parents[2]
# Starting a sandbox takes 6-9 s once built; seeding and migrating a little more; CI is slow.
START_TIMEOUT_S = 90.0


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`manage.py demo` running; its base URL."""
    tmp = tmp_path_factory.mktemp("demo")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSOLE_", "DJANGO_"))}
    env.update(CONSOLE_SQLITE_PATH=str(tmp / "db.sqlite3"), PYTHONUNBUFFERED="1")
    log = (tmp / "demo.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--addr", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(f"{base}/login/"):
            assert proc.poll() is None, f"manage.py demo exited:\n{(tmp / 'demo.log').read_text()}"
            assert time.monotonic() < deadline, f"manage.py demo did not serve:\n{(tmp / 'demo.log').read_text()}"
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)  # the demo stops its server, simulator and sandbox
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_the_demo_login_shows_the_seeded_instances(page: Page, demo: str) -> None:
    page.goto(f"{demo}/login/?next=/clusters/default/emqx/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("emqx-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="EMQX instances")).to_be_visible()
    expect(page.get_by_role("link", name="fleet-rollout", exact=True)).to_be_visible()
    expect(page.locator("#emqx-table tbody tr")).to_have_count(9)


def test_the_demo_serves_the_stylesheet_and_htmx(page: Page, demo: str) -> None:
    statics: list[Request] = []
    page.on("request", lambda r: statics.append(r) if "/static/" in r.url else None)
    page.goto(f"{demo}/login/", wait_until="load")
    assert any(r.url.endswith(".css") for r in statics) and any(r.url.endswith(".js") for r in statics)
    answers = {r.url.rsplit("/", 1)[1]: (r.response().status if r.response() else r.failure) for r in statics}
    assert answers == dict.fromkeys(answers, 200)
    assert page.evaluate("typeof window.htmx") == "object"
