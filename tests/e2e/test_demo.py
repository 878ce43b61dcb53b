"""The README's first command: `make run` (manage.py demo) gives a working console in a browser.

The demo runs as `make run` runs it (its own two sandbox clusters, prod-2-3 on emqx-operator 2.3
and legacy-2-2 on 2.2, each with its demo seed and simulator, and Django's runserver, with the
settings' defaults), on a free port and with a database of its own.
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
# Starting a sandbox takes 6-9 s once built, the demo starts two; seeding and migrating a little
# more; CI is slow.
START_TIMEOUT_S = 180.0
# The fleet dashboard polls every 5 s; a cluster's caches may still be connecting on the first load.
DASHBOARD_TIMEOUT_MS = 30_000


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


def _log_in(page: Page, demo: str, next_path: str) -> None:
    page.goto(f"{demo}/login/?next={next_path}")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("emqx-demo")
    page.get_by_role("button", name="Log in").click()


def test_the_fleet_dashboard_shows_both_clusters_of_the_demo(page: Page, demo: str) -> None:
    _log_in(page, demo, "/")
    expect(page.get_by_role("heading", name="All clusters")).to_be_visible()
    cards = page.locator(".cluster-card")
    expect(cards).to_have_count(2)
    # In this order: the console's first cluster is operator 2.3's.
    expect(cards.locator("h2 a")).to_have_text(["prod-2-3", "legacy-2-2"])
    for name, instances in (("prod-2-3", "5"), ("legacy-2-2", "11")):  # legacy: 9 EMQX and two 4.x brokers
        card = page.locator(f'.cluster-card[data-cluster="{name}"]')
        expect(card).to_have_attribute("data-status", "ok", timeout=DASHBOARD_TIMEOUT_MS)
        expect(card.locator('[data-count="instances"]')).to_have_text(instances, timeout=DASHBOARD_TIMEOUT_MS)
    # The 4.x brokers live on the 2.2 cluster only.
    expect(page.locator('.cluster-card[data-cluster="prod-2-3"]')).to_contain_text("Not served here: EmqxBroker")
    expect(page.locator('.cluster-card[data-cluster="legacy-2-2"]')).not_to_contain_text("Not served here")
    # Each card names its operator line, as a mixed fleet has them.
    for name, line in (("prod-2-3", "2.3"), ("legacy-2-2", "2.2")):
        card = page.locator(f'.cluster-card[data-cluster="{name}"]')
        expect(card.locator(".card-line")).to_have_attribute("data-operator-line", line)
        expect(card.locator(".card-line")).to_contain_text(f"emqx-operator {line}")


def test_the_2_2_cluster_links_its_upgrade_checks_which_list_its_4x_brokers(page: Page, demo: str) -> None:
    _log_in(page, demo, "/")
    card = page.locator('.cluster-card[data-cluster="legacy-2-2"]')
    card.get_by_role("link", name="upgrade to 2.3: checks").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Upgrading the emqx-operator from 2.2 to 2.3")
    expect(page.locator("#upgrade-verdict")).to_have_attribute("data-verdict", "blocked")
    legacy = page.locator("#check-legacy")
    expect(legacy).to_have_attribute("data-state", "blocked")
    expect(legacy).to_contain_text("legacy-broker")
    expect(legacy).to_contain_text("legacy-ee")
    legacy.get_by_role("link", name="legacy-broker").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("legacy-broker")
    # The 2.3 cluster has nothing left of this upgrade.
    page.goto(f"{demo}/clusters/prod-2-3/upgrade/")
    expect(page.locator("#upgrade-verdict")).to_have_attribute("data-verdict", "past")


def test_each_cluster_lists_its_own_seeded_instances(page: Page, demo: str) -> None:
    _log_in(page, demo, "/clusters/legacy-2-2/emqx/")
    expect(page.get_by_role("heading", name="EMQX instances")).to_be_visible()
    expect(page.get_by_role("link", name="fleet-rollout", exact=True)).to_be_visible()
    expect(page.locator("#emqx-table tbody tr")).to_have_count(9)

    page.goto(f"{demo}/clusters/prod-2-3/emqx/")
    expect(page.get_by_role("link", name="payments-gw", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="device-gateway", exact=True)).to_be_visible()
    expect(page.locator("#emqx-table tbody tr")).to_have_count(5)


def test_the_demo_serves_the_stylesheet_and_htmx(page: Page, demo: str) -> None:
    statics: list[Request] = []
    page.on("request", lambda r: statics.append(r) if "/static/" in r.url else None)
    page.goto(f"{demo}/login/", wait_until="load")
    assert any(r.url.endswith(".css") for r in statics) and any(r.url.endswith(".js") for r in statics)
    answers = {r.url.rsplit("/", 1)[1]: (r.response().status if r.response() else r.failure) for r in statics}
    assert answers == dict.fromkeys(answers, 200)
    assert page.evaluate("typeof window.htmx") == "object"
