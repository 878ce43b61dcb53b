"""The README's screenshots, of the console with the demo data in a realistic mixed state.

    .venv/bin/python -m tests.e2e.make_screenshots [--out docs/screenshots]

A throwaway sandbox cluster of its own, the demo seed (``sandbox.demo_data``), the simulated operator on every
namespace, the console served in-process (static files included) and Chromium. It waits for the state each
picture should show (never for a fixed time), then writes dashboard.png, list.png, detail.png, form-error.png,
yaml-review.png, conflict.png, list-actions.png, history.png and rebalance-wizard.png, 1280 px wide, then the
list, a detail page and the add form as a phone shows them (390 px wide), in the light and the dark theme:
list-390-light.png, list-390-dark.png, detail-390-light.png … form-390-dark.png; then the Chinese journey's
screens: zh-list.png, zh-detail.png, zh-form-error.png and zh-conflict.png (these need a font with Chinese
characters: Debian's fonts-noto-cjk, ``apt-get install fonts-noto-cjk``). PNG. Not a test (pytest does
not collect it): the journeys in test_*.py check behaviour, this only takes pictures. Takes about a minute.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WIDTH = 1280
PHONE_WIDTH = 390
PHONE_HEIGHT = 844  # an iPhone 12-14's CSS viewport
# A phone picture shows at most this many CSS pixels from the top (about two screens): enough to see the
# layout, small enough for the README.
PHONE_MAX_HEIGHT = 1700
MAX_BYTES = 300 * 1024


def eventually(what: str, check: Callable[[], bool], timeout: float = 120.0) -> None:
    """Wait until ``check()`` holds (re-checking every half second), or fail saying what."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for: {what}")
        time.sleep(0.5)


def _conditions(cs: Any, namespace: str, name: str) -> list[Any]:
    obj = cs.apps_v2beta1.emqxes(namespace).get(name)
    return list(obj.status.conditions or []) if obj.status else []


def _current(cs: Any, namespace: str, name: str) -> str:
    return next((c.type for c in _conditions(cs, namespace, name) if c.status == "True"), "")


def _settled_on(cs: Any, namespace: str, name: str, version: str) -> bool:
    """Ready, with every core node on ``version``."""
    obj = cs.apps_v2beta1.emqxes(namespace).get(name)
    nodes = (obj.status.core_nodes or []) if obj.status else []
    return _current(cs, namespace, name) == "Ready" and bool(nodes) and all(n.version == version for n in nodes)


def _replicants_ready(cs: Any, namespace: str, name: str) -> int:
    obj = cs.apps_v2beta1.emqxes(namespace).get(name)
    status = obj.status.replicant_nodes_status if obj.status else None
    return (status.ready_replicas or 0) if status else 0


@contextmanager
def console_server(kubeconfig: Path) -> Iterator[str]:
    """The console (DEBUG off, as shipped) with its static files, on a free loopback port."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(StaticFilesHandler(get_wsgi_application()))
    thread = threading.Thread(target=server.serve_forever, name="console", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def prepare_state(cs: Any) -> None:
    """Demo data, moved to what the pictures show. fleet-rollout (20 s a pod in the seed) is
    hurried into its replicant rollout and then held there."""
    from sandbox.demo_data import seed
    from sandbox.operator.common import PACE_ANNOTATION

    print("demo data:", seed(cs))
    rollout = cs.apps_v2beta1.emqxes("iot-lab")
    rollout.patch("fleet-rollout", {"metadata": {"annotations": {PACE_ANNOTATION: "1"}}})
    eventually(
        "iot-lab/fleet-rollout in its replicant rollout",
        lambda: (
            _current(cs, "iot-lab", "fleet-rollout") == "ReplicantNodesProgressing"
            and _replicants_ready(cs, "iot-lab", "fleet-rollout") >= 2
        ),
    )
    rollout.patch("fleet-rollout", {"metadata": {"annotations": {PACE_ANNOTATION: "3600"}}})
    ready = [("emqx-prod", "mqtt-core"), ("emqx-prod", "telemetry"), ("emqx-staging", "mqtt-core")]
    ready += [("emqx-staging", "canary"), ("iot-lab", "sandbox-56")]
    for namespace, name in ready:
        eventually(f"{namespace}/{name} Ready", lambda ns=namespace, n=name: _current(cs, ns, n) == "Ready")
    eventually("emqx-prod/mqtt-core-rebalance", lambda: _rebalance_phase(cs) == "Completed")


def _rebalance_phase(cs: Any) -> str:
    from emqx.errors import NotFound

    try:
        data = cs.transport.request_json(
            "GET", "/apis/apps.emqx.io/v2beta1/namespaces/emqx-prod/rebalances/mqtt-core-rebalance"
        )
    except NotFound:
        return ""
    return str((data.get("status") or {}).get("phase") or "")


def take(page: Any, out: Path, name: str, *, down_to: str = "#content", max_height: float | None = None) -> Path:
    """The page from its top down to the bottom of ``down_to`` (plus a margin, at most ``max_height``),
    as wide as the page's viewport."""
    path = out / f"{name}.png"
    bottom = page.locator(down_to).last.evaluate("e => e.getBoundingClientRect().bottom + window.scrollY")
    height = min(bottom + 12, max_height or float("inf"))
    width = page.viewport_size["width"]
    page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})
    size = path.stat().st_size
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {size // 1024} KiB")
    if size > MAX_BYTES:
        raise SystemExit(f"{path} is {size // 1024} KiB, over {MAX_BYTES // 1024} KiB")
    return path


def shoot(base: str, cs: Any, out: Path, user: str, password: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    expect.set_options(timeout=20_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": WIDTH, "height": 900}).new_page()
        page.goto(f"{base}/login/?next=/dashboard/")
        page.get_by_label("Username").fill(user)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()

        # The fleet dashboard, once its numbers are in (the warning events come from a poller).
        card = page.locator(".cluster-card[data-cluster=default]")
        expect(card).to_have_attribute("data-status", "ok")
        expect(page.locator("#warning-events")).to_contain_text("InvalidConfig")
        take(page, out, "dashboard", down_to="#degraded, #not-ready")

        page.goto(f"{base}/clusters/default/emqx/")
        expect(page.locator("#emqx-table tbody tr")).to_have_count(9)
        take(page, out, "list")

        page.goto(f"{base}/clusters/default/emqx/iot-lab/fleet-rollout/")
        expect(page.locator("#current-state")).to_have_text("ReplicantNodesProgressing")
        expect(page.locator("#status-panel table.nodes")).to_be_visible()
        expect(page.locator("#events-panel table.events")).to_be_visible()
        take(page, out, "detail", down_to="#events-panel")

        page.goto(f"{base}/clusters/default/emqx/add/?namespace=iot-lab")
        page.locator('[name="metadata.name"]').fill("edge-eu")
        page.locator('[name="spec.image"]').fill("emqx/emqx 5.8.6")
        page.locator('[name="spec.coreTemplate.spec.replicas"]').fill("3")
        page.locator('[name="spec.replicantTemplate.spec.replicas"]').fill("4")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator('[id="errors-spec.image"]')).to_be_visible()
        take(page, out, "form-error", down_to="fieldset:nth-of-type(2)")

        # Edit as YAML: a field the form does not show, and the review of the whole change.
        page.goto(f"{base}/clusters/default/emqx/iot-lab/fleet-rollout/change/?mode=yaml")
        editor = page.locator("textarea[name=yaml]")
        text = editor.input_value()
        text = text.replace("spec:\n", "spec:\n  imagePullPolicy: Always\n", 1)
        editor.fill(text.replace("  annotations:\n", "  annotations:\n    ticket: OPS-1234\n", 1))
        page.get_by_role("button", name="Review changes").click()
        expect(page.locator("#changes")).to_be_visible()
        take(page, out, "yaml-review")

        canary = cs.apps_v2beta1.emqxes("emqx-staging")
        page.goto(f"{base}/clusters/default/emqx/emqx-staging/canary/change/")
        expect(page.locator('[name="spec.coreTemplate.spec.replicas"]')).to_have_value("1")
        # A colleague saves first: a new image and three core nodes.
        theirs = {"image": "emqx/emqx-enterprise:5.8.7", "coreTemplate": {"spec": {"replicas": 3}}}
        canary.patch("canary", {"spec": theirs})
        page.locator('[name="spec.coreTemplate.spec.replicas"]').fill("2")
        page.locator('[name="spec.replicantTemplate.spec.replicas"]').fill("3")
        page.get_by_role("button", name="Review changes").click()
        expect(page.locator("#conflict")).to_be_visible()
        take(page, out, "conflict")

        # The change list's everyday tools: a facet of the sidebar chosen, two rows ticked, an action chosen.
        page.goto(f"{base}/clusters/default/emqx/?state=Ready")
        expect(page.locator("#emqx-table tbody tr").first).to_be_visible()
        for name in ("emqx-prod/mqtt-core", "emqx-prod/telemetry"):
            page.get_by_label(f"Select {name}").check()
        page.locator('select[name="action"]').select_option(label="Scale")
        take(page, out, "list-actions")

        # History: an edit through the console, then the operator's answer to it, newest first.
        page.goto(f"{base}/clusters/default/emqx/emqx-staging/mqtt-core/change/")
        page.locator('[name="spec.image"]').fill("emqx/emqx-enterprise:5.8.7")
        page.get_by_role("button", name="Review changes").click()
        page.get_by_role("button", name="Save", exact=True).click()
        eventually("mqtt-core on 5.8.7", lambda: _settled_on(cs, "emqx-staging", "mqtt-core", "5.8.7"))
        page.goto(f"{base}/clusters/default/emqx/emqx-staging/mqtt-core/history/")
        page.locator("#history summary").first.click()
        take(page, out, "history")

        # The Rebalance wizard, opened from an EMQX Enterprise instance: the operator's defaults filled in.
        page.goto(f"{base}/clusters/default/emqx/emqx-prod/mqtt-core/")
        page.locator("#rebalance-link").click()
        expect(page.get_by_role("heading", name="Add Rebalance")).to_be_visible()
        take(page, out, "rebalance-wizard")

        for theme in ("light", "dark"):
            shoot_phone(browser, base, out, user, password, theme)
        shoot_chinese(browser, base, cs, out, user, password)
        browser.close()


def shoot_phone(browser: Any, base: str, out: Path, user: str, password: str, theme: str) -> None:
    """The list, a detail page and the add form on a 390 px phone in ``theme`` (the system's colour
    scheme, as Playwright's ``color_scheme`` sets it): <page>-390-<theme>.png."""
    from playwright.sync_api import expect

    context = browser.new_context(
        viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT}, color_scheme=theme, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(f"{base}/login/?next=/clusters/default/emqx/")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()

    expect(page.locator("#emqx-table tbody tr")).to_have_count(9)
    take(page, out, f"list-390-{theme}", max_height=PHONE_MAX_HEIGHT)

    page.goto(f"{base}/clusters/default/emqx/iot-lab/fleet-rollout/")
    expect(page.locator("#current-state")).to_have_text("ReplicantNodesProgressing")
    expect(page.locator("#events-panel table.events")).to_be_visible()
    take(page, out, f"detail-390-{theme}", down_to="#status-panel", max_height=PHONE_MAX_HEIGHT)

    page.goto(f"{base}/clusters/default/emqx/add/?namespace=iot-lab")
    expect(page.locator('[name="metadata.name"]')).to_be_visible()
    take(page, out, f"form-390-{theme}", down_to="fieldset:nth-of-type(2)", max_height=PHONE_MAX_HEIGHT)
    context.close()


def shoot_chinese(browser: Any, base: str, cs: Any, out: Path, user: str, password: str) -> None:
    """The journey of tests/e2e/test_journey_zh.py in Simplified Chinese, chosen in the header's switcher on
    the login page (the browser asks for English): zh-list.png, zh-detail.png, zh-form-error.png and
    zh-conflict.png, 1280 px wide."""
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": WIDTH, "height": 900}).new_page()
    page.goto(f"{base}/login/?next=/clusters/default/emqx/")
    page.locator("#language-choice").select_option("zh-hans")
    page.locator("#language-switcher button").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.locator('[name="username"]').fill(user)
    page.locator('[name="password"]').fill(password)
    page.locator("form.login button").click()

    expect(page.locator("#emqx-table tbody tr")).to_have_count(9)
    take(page, out, "zh-list")

    page.goto(f"{base}/clusters/default/emqx/iot-lab/fleet-rollout/")
    expect(page.locator("#status-panel table.nodes")).to_be_visible()
    expect(page.locator("#events-panel table.events")).to_be_visible()
    take(page, out, "zh-detail", down_to="#status-panel")

    page.goto(f"{base}/clusters/default/emqx/add/?namespace=iot-lab")
    page.locator('[name="metadata.name"]').fill("edge-eu")
    page.locator('[name="spec.image"]').fill("emqx/emqx 5.8.6")
    page.locator('[name="spec.coreTemplate.spec.replicas"]').fill("3")
    page.locator('[name="spec.replicantTemplate.spec.replicas"]').fill("4")
    page.locator("#emqx-form button.default").click()
    expect(page.locator('[id="errors-spec.image"]')).to_be_visible()
    take(page, out, "zh-form-error", down_to="fieldset:nth-of-type(2)")

    # A colleague upgrades the image while the change form is open; this person asks for three core nodes.
    page.goto(f"{base}/clusters/default/emqx/iot-lab/sandbox-56/change/")
    expect(page.locator('[name="spec.coreTemplate.spec.replicas"]')).to_have_value("1")
    cs.apps_v2beta1.emqxes("iot-lab").patch("sandbox-56", {"spec": {"image": "emqx/emqx:5.8.6"}})
    page.locator('[name="spec.coreTemplate.spec.replicas"]').fill("3")
    page.locator('#emqx-form button[value="preview"]').click()
    expect(page.locator("#conflict")).to_be_visible()
    take(page, out, "zh-conflict")
    page.context.close()


def has_chinese_font() -> bool:
    """Whether fontconfig (which Chromium draws with on Linux) knows a font covering Chinese
    (``fc-list :lang=zh``); without one the Chinese screens show boxes instead of characters."""
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--pace", type=float, default=0.5, help="seconds per simulated pod")
    args = parser.parse_args(argv)
    if not has_chinese_font():
        raise SystemExit(
            "no font with Chinese characters (fc-list :lang=zh finds none): the zh-*.png screens would show "
            "boxes. Install one first: apt-get install fonts-noto-cjk"
        )
    args.out.mkdir(parents=True, exist_ok=True)

    from emqx.client import Clientset
    from sandbox import Sandbox
    from sandbox.demo_data import seed_rebalance_when_ready
    from sandbox.operator import Simulator

    sb = Sandbox.create(crds="2.2", prefix="emqx-screenshots-")
    stop = threading.Event()
    with tempfile.TemporaryDirectory(prefix="emqx-screenshots-db-") as tmp:
        try:
            sb.start()
            os.environ.update(
                DJANGO_SETTINGS_MODULE="console.settings",
                CONSOLE_KUBECONFIG=str(sb.kubeconfig),
                CONSOLE_SQLITE_PATH=str(Path(tmp) / "db.sqlite3"),
            )
            for name in ("CONSOLE_CLUSTERS_JSON", "CONSOLE_KUBE_CONTEXTS", "CONSOLE_KUBE_CONTEXT", "DJANGO_DEBUG"):
                os.environ.pop(name, None)
            import django

            django.setup()
            from django.contrib.auth.models import User
            from django.core.management import call_command

            call_command("migrate", interactive=False, verbosity=0)
            # The Chinese screens need the compiled catalogue (never committed; up-to-date .mo files are kept).
            call_command("compilemessages", ignore_patterns=[".*", "sandbox", "bench", "tests"], verbosity=0)
            User.objects.create_superuser("admin", password="emqx-demo")

            cs = Clientset.from_kubeconfig(sb.kubeconfig, field_manager="emqx-operator")
            with Simulator(cs, pace=args.pace):
                threading.Thread(
                    target=seed_rebalance_when_ready, args=(cs,), kwargs={"stop": stop}, daemon=True
                ).start()
                prepare_state(cs)
                with console_server(sb.kubeconfig) as base:
                    shoot(base, cs, args.out, "admin", "emqx-demo")
        finally:
            stop.set()
            sb.destroy()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
