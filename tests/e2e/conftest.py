"""Browser journeys: Debian's Chromium driven by Playwright, against the live console,
the sandbox cluster and the operator simulator. No fixed sleeps: every wait is on what
the page shows (Playwright's auto-waiting expect()) or on a network event.

The simulated operator (``operator``) is stepped by hand where a journey wants to see one
particular state (one reconcile moves the world exactly one step), and runs in the
background (``operator.start()``) where it only has to get somewhere.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from django.contrib.auth.models import User
from django.utils import translation
from django.utils.text import capfirst
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from console import clusters
from console.models import RoleGrant
from emqx.client.clientset import Clientset
from emqx.models.apps_v2beta1 import EMQX
from sandbox import Sandbox
from sandbox.operator import Simulator

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Chromium's own update/metrics traffic is refused on this network; keep it quiet and quick.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
VIEWPORT = {"width": 1280, "height": 860}
# Seconds one simulated pod takes: fast, yet every state still lasts a reconcile.
PACE = 0.3
# The detail page polls its status panel every 2 s; CI shares 2 cores with everything else.
LIVE_TIMEOUT_MS = 20_000


@pytest.fixture(scope="session", autouse=True)
def _allow_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API runs an event loop in this thread for the whole session; Django
    refuses ORM calls (the tests', and the test database's own flush) from a thread with a
    running loop unless told it is fine (it is: the loop is Playwright's). Set from the first
    browser test on, and put back at the end of the session."""
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if before is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium, one per test module. Playwright's sync API runs an event loop in this thread while
    it is open, and Django's ``async_to_sync`` (django-health-check's views, among others) refuses
    to run beside one: closed at the end of the module, it never reaches the tests that run after
    the browser tests in the same process (``make test`` spreads the files over two processes)."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    context.close()


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# ----- the console, its cluster and its users ------------------------------------------------


@pytest.fixture
def console(settings: object, sandbox: Sandbox, live_server: object) -> Iterator[str]:
    """The live console configured for the sandbox as cluster "default"; its base URL."""
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.kubeconfig)}]  # type: ignore[attr-defined]
    yield str(live_server.url)  # type: ignore[attr-defined]
    clusters.reset()


@pytest.fixture
def clientset(sandbox: Sandbox) -> Iterator[Clientset]:
    """The test's own client (not the console's): arranging state, acting behind the user's
    back, checking what was written."""
    cs = Clientset.from_kubeconfig(sandbox.kubeconfig)
    yield cs
    cs.close()


@dataclass(frozen=True)
class Persona:
    username: str
    password: str


@pytest.fixture
def admin_user(transactional_db: None) -> Persona:
    User.objects.create_superuser("ada", password="pw-ada-1234567")
    return Persona("ada", "pw-ada-1234567")


@pytest.fixture
def viewer_user(transactional_db: None) -> Persona:
    user = User.objects.create_user("vic", password="pw-vic-1234567")
    RoleGrant.objects.create(user=user, role="viewer", cluster="*", namespace="*")
    return Persona("vic", "pw-vic-1234567")


# ----- what the console says, in a language -----------------------------------------------------


class Say(Protocol):
    """A text the console shows, in one language: ``say(msgid, context=..., **params)`` is the
    catalogue's text for ``msgid`` (its ``pgettext`` context, if any) with ``params`` filled in, as
    ``{% blocktranslate %}`` and ``gettext(...) % params`` render it; ``plural`` and ``count`` pick
    the form of a plural entry (``ngettext``, ``{% blocktranslate count %}``)."""

    def __call__(self, msgid: str, /, context: str = "", plural: str = "", count: int = 1, **params: object) -> str: ...


def speaking(language: str) -> Say:
    """What the console says in ``language`` (``"en"``: the msgids themselves), read from the compiled
    catalogue (locale/<language>/LC_MESSAGES/django.mo, and Django's own for its texts such as
    "Username"). A msgid the catalogue lacks raises AssertionError rather than passing the English
    through: a journey in Chinese must not pass on an English page."""

    def say(msgid: str, /, context: str = "", plural: str = "", count: int = 1, **params: object) -> str:
        with translation.override(language):
            if language != "en":
                catalogue = translation.trans_real.translation(language)._catalog  # type: ignore[attr-defined]
                key = f"{context}\x04{msgid}" if context else msgid
                found = (key, 0) in catalogue if plural else key in catalogue
                assert found, f"{msgid!r} (context {context!r}) is not in the {language} catalogue"
            if plural:
                text = (
                    translation.npgettext(context, msgid, plural, count)
                    if context
                    else translation.ngettext(msgid, plural, count)
                )
            else:
                text = translation.pgettext(context, msgid) if context else translation.gettext(msgid)
        return text % params if params else text

    return say


english = speaking("en")


def log_in(page: Page, base_url: str, who: Persona, next_path: str = "/", *, say: Say = english) -> None:
    """Log in through the login form, then land on ``next_path``; ``say`` is the language the login page
    speaks (the browser's, or the one chosen in the header's switcher)."""
    page.goto(f"{base_url}/login/?next={next_path}")
    # Django's AuthenticationForm labels its fields with the User model's verbose names, capitalised.
    page.get_by_label(capfirst(say("username"))).fill(who.username)
    page.get_by_label(capfirst(say("password"))).fill(who.password)
    page.get_by_role("button", name=say("Log in")).click()
    expect(page.get_by_role("button", name=say("Log out"))).to_be_visible()


def detail_path(namespace: str, name: str, slug: str = "emqx") -> str:
    return f"/clusters/default/{slug}/{namespace}/{name}/"


# ----- the forms -------------------------------------------------------------------------------
# A form field's name is its JSON path into the object (``metadata.name``, ``spec.image``,
# ``spec.coreTemplate.spec.replicas``); ids are ``id_<path>``, so CSS ids would need escaping.


def field(page: Page, path: str) -> Locator:
    """The form's input (or select, or textarea) for ``path``."""
    return page.locator(f'[name="{path}"]')


def field_errors(page: Page, path: str) -> Locator:
    """The error list above the field for ``path``."""
    return page.locator(f'[id="errors-{path}"]')


# ----- the simulated operator ------------------------------------------------------------------


class Operator:
    """The status simulator in the test's namespace (see sandbox/operator/README.md).

    ``step(name)`` is one reconcile of one object: the world moves exactly one step, so a
    journey can hold an instance in the state it wants to look at. ``start()`` lets it run
    in the background at ``PACE``. Stepping and running are not mixed: steps come first."""

    def __init__(self, clientset: Clientset, namespace: str) -> None:
        self.namespace = namespace
        self.clientset = clientset
        self.sim = Simulator(clientset, pace=PACE, namespace=namespace)

    def step(self, name: str) -> None:
        assert not self.sim.running, "step the simulator before starting it, not while it runs"
        self.sim.reconcile_object("EMQX", self.namespace, name)

    def current(self, name: str) -> str:
        """The current condition (the first True one), as `kubectl get emqx` shows it."""
        obj: EMQX = self.clientset.apps_v2beta1.emqxes(self.namespace).get(name)
        conditions = (obj.status.conditions or []) if obj.status else []
        return next((c.type for c in conditions if c.status == "True"), "")

    def step_until(self, name: str, condition: str, max_steps: int = 40) -> None:
        """Reconcile until the instance's current condition is ``condition``."""
        for _ in range(max_steps):
            self.step(name)
            if self.current(name) == condition:
                return
        raise AssertionError(f"EMQX {self.namespace}/{name} did not reach {condition} in {max_steps} steps")

    def start(self) -> None:
        self.sim.start()

    def stop(self) -> None:
        self.sim.stop()


@pytest.fixture
def operator(clientset: Clientset, namespace: str) -> Iterator[Operator]:
    op = Operator(clientset, namespace)
    yield op
    op.stop()  # harmless when it never ran


def current_state(page: Page) -> object:
    """The detail page's live status: the current condition in the status panel."""
    return page.locator("#status-panel #current-state")


def expect_live(panel: Locator) -> None:
    """The status panel says it polls ("live"), not that it stopped ("settled — live updates
    paused…", which contains the word too)."""
    expect(panel.locator("h2 small")).to_have_text(re.compile(r"^live( · updated (just now|\d+ s ago))?$"))


def expect_settled(panel: Locator, timeout: float | None = None) -> None:
    """The status panel says it stopped polling: the object is where its spec asks."""
    expect(panel.locator("h2 small")).to_have_text(re.compile(r"^settled"), timeout=timeout)


def is_status_poll(url: str) -> bool:
    return re.search(r"/emqx/[^/]+/[^/]+/_status$", url.split("?", 1)[0]) is not None
