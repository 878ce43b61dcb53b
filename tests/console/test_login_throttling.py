"""Throttling against password guessing (django-axes, console/auth.py, console/proxies.py): on every
log-in page, per (username, client address) pair, with usernames counted as Django compares them,
and with the client's address taken from a trusted proxy's X-Forwarded-For."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client, RequestFactory

from console.proxies import client_ip

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"
LOGIN_PAGES = ["/login/", "/admin/login/"]
WRONG = "correct username and password"  # both pages' "wrong username or password" message
LOCKED = "Too many failed log-in attempts. Try again in 15 minutes."
PROXY = "10.0.0.2"  # the TLS proxy in front of the console, as the console sees it
ATTACKER, PERSON = "203.0.113.66", "198.51.100.7"


@pytest.fixture(autouse=True)
def fast_hashing(settings: Any) -> None:
    """Each attempt hashes a password (also for an unknown user); these tests make hundreds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(params=LOGIN_PAGES)
def page(request: pytest.FixtureRequest) -> str:
    """Each log-in page in turn: the console's and the Django admin's (an admin session is a
    console session too)."""
    return str(request.param)


@pytest.fixture
def fred() -> User:
    """Staff, so that the admin's log-in page lets him in as well."""
    return User.objects.create_user("fred", password=PASSWORD, is_staff=True)


@pytest.fixture
def behind_proxy(settings: Any) -> None:
    settings.CONSOLE_TRUSTED_PROXIES = ["10.0.0.0/8"]


def _try(client: Client, page: str, username: str, password: str, **meta: str) -> HttpResponse:
    response: HttpResponse = client.post(page, {"username": username, "password": password}, **meta)
    return response


def _via_proxy(client_address: str) -> dict[str, str]:
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": client_address}


def _logged_in(response: HttpResponse) -> bool:
    return response.status_code == 302


def test_five_failures_lock_the_username_from_that_address_even_with_the_right_password(
    client: Client, page: str, fred: User
) -> None:
    for _ in range(4):
        response = _try(client, page, "fred", "guess")
        assert response.status_code == 200 and WRONG in response.content.decode()
    fifth = _try(client, page, "fred", "guess")
    assert fifth.status_code == 429 and LOCKED in fifth.content.decode()
    right = _try(client, page, "fred", PASSWORD)
    assert right.status_code == 429 and LOCKED in right.content.decode()
    assert "_auth_user_id" not in client.session


def test_failures_on_either_log_in_page_count_on_both(client: Client, fred: User) -> None:
    for _ in range(3):
        _try(client, "/login/", "fred", "guess")
    for _ in range(2):
        _try(client, "/admin/login/", "fred", "guess")
    for page in LOGIN_PAGES:
        assert LOCKED in _try(client, page, "fred", PASSWORD).content.decode()


def test_a_successful_log_in_clears_earlier_failures(client: Client, page: str, fred: User) -> None:
    for _ in range(4):
        _try(client, page, "fred", "guess")
    assert _logged_in(_try(client, page, "fred", PASSWORD))
    client.logout()
    for _ in range(4):
        _try(client, page, "fred", "guess")
    assert _logged_in(_try(client, page, "fred", PASSWORD))


def test_the_lock_lasts_15_minutes_from_the_last_failure(client: Client, page: str, fred: User) -> None:
    for _ in range(5):
        _try(client, page, "fred", "guess")
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=14, seconds=30))
    assert "Try again in 1 minute." in _try(client, page, "fred", PASSWORD).content.decode()
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=15, seconds=1))
    assert _logged_in(_try(client, page, "fred", PASSWORD))


def test_failures_while_locked_do_not_prolong_the_lock(client: Client, page: str, fred: User) -> None:
    for _ in range(5):
        _try(client, page, "fred", "guess")
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    for _ in range(3):
        assert "Try again in 5 minutes." in _try(client, page, "fred", "guess").content.decode()


def test_other_spellings_of_a_username_share_its_count(client: Client, page: str) -> None:
    User.objects.create_user("admin", password=PASSWORD, is_staff=True)
    spellings = [
        "admin",
        "\uff41\uff44\uff4d\uff49\uff4e",  # in fullwidth letters; Django's log-in form reads it as "admin" (NFKC)
        "\U0001d41a\U0001d41d\U0001d426\U0001d422\U0001d427",  # in mathematical bold letters; likewise
        "ADMIN",
        "\uff21\uff44\uff4d\uff49\uff4e",  # fullwidth "Admin"
    ]
    for spelling in spellings:
        _try(client, page, spelling, "guess")
    assert LOCKED in _try(client, page, "admin", PASSWORD).content.decode()


def test_failures_with_many_usernames_lock_no_one_else_out(client: Client, page: str, fred: User) -> None:
    for i in range(25):
        _try(client, page, f"someone-{i}", "guess")
    assert _logged_in(_try(client, page, "fred", PASSWORD))


def test_an_admin_can_lift_a_lock_early(client: Client, admin_client: Client, fred: User) -> None:
    for _ in range(5):
        _try(client, "/login/", "fred", "guess")
    listing = admin_client.get("/admin/axes/accessattempt/?locked_out=yes").content.decode()
    assert "fred" in listing
    attempt = AccessAttempt.objects.get(username="fred")
    deleted = admin_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert _logged_in(_try(client, "/login/", "fred", PASSWORD))


# ----- behind the TLS proxy ------------------------------------------------------------------------


def test_behind_the_proxy_an_attacker_locks_out_only_themselves(
    client: Client, page: str, fred: User, behind_proxy: None
) -> None:
    for _ in range(5):
        _try(client, page, "fred", "guess", **_via_proxy(ATTACKER))
    for i in range(25):
        _try(client, page, f"someone-{i}", "guess", **_via_proxy(ATTACKER))
    assert LOCKED in _try(client, page, "fred", PASSWORD, **_via_proxy(ATTACKER)).content.decode()
    assert _logged_in(_try(Client(), page, "fred", PASSWORD, **_via_proxy(PERSON)))


def test_addresses_a_client_puts_in_front_of_the_proxys_do_not_reset_its_count(
    client: Client, page: str, fred: User, behind_proxy: None
) -> None:
    for i in range(5):  # the proxy appends the real address to whatever the client sent
        _try(client, page, "fred", "guess", **_via_proxy(f"192.0.2.{i}, {ATTACKER}"))
    assert LOCKED in _try(client, page, "fred", PASSWORD, **_via_proxy(ATTACKER)).content.decode()


@pytest.mark.parametrize("trusted", [[], ["10.0.0.0/8"]], ids=["no-trusted-proxy", "peer-not-trusted"])
def test_a_forwarded_for_header_is_not_believed_from_a_peer_that_is_not_a_trusted_proxy(
    client: Client, page: str, fred: User, settings: Any, trusted: list[str]
) -> None:
    settings.CONSOLE_TRUSTED_PROXIES = trusted
    for i in range(5):
        _try(client, page, "fred", "guess", REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    assert LOCKED in _try(client, page, "fred", PASSWORD, REMOTE_ADDR=ATTACKER).content.decode()


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        ("203.0.113.66", "", "203.0.113.66"),  # no proxy in between
        ("203.0.113.66", "192.0.2.1", "203.0.113.66"),  # a client's own header: not believed
        ("10.0.0.2", "", "10.0.0.2"),  # the proxy itself, e.g. its health checks
        ("10.0.0.2", "203.0.113.66", "203.0.113.66"),
        ("10.0.0.2", "192.0.2.1, 203.0.113.66", "203.0.113.66"),  # only the hop the proxy added
        ("10.0.0.2", "203.0.113.66, 10.1.2.3", "203.0.113.66"),  # two trusted proxies in a row
        ("10.0.0.2", "10.1.2.3, 10.4.5.6", "10.1.2.3"),  # every hop trusted: the furthest one
        ("10.0.0.2", "203.0.113.66, not-an-address", "10.0.0.2"),  # garbage stops the walk
        ("::ffff:10.0.0.2", "2001:db8::7", "2001:db8::7"),  # IPv6, and an IPv4-mapped proxy
        ("fd00::1", "203.0.113.66", "203.0.113.66"),
    ],
)
def test_the_client_address_is_the_first_untrusted_hop_from_the_right(
    settings: Any, peer: str, forwarded_for: str, expected: str
) -> None:
    settings.CONSOLE_TRUSTED_PROXIES = ["10.0.0.0/8", "fd00::/8"]
    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_ip(request) == expected


def test_the_proxy_header_can_be_another_one(settings: Any) -> None:
    settings.CONSOLE_TRUSTED_PROXIES = ["10.0.0.2"]
    settings.CONSOLE_TRUSTED_PROXY_HEADER = "X-Real-IP"
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.1", HTTP_X_REAL_IP=PERSON)
    assert client_ip(request) == PERSON


def test_a_trusted_proxy_that_is_not_an_address_stops_the_console_at_start() -> None:
    env = {**os.environ, "CONSOLE_TRUSTED_PROXIES": "10.0.0.0/8,proxy.example.com"}
    out = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "CONSOLE_TRUSTED_PROXIES: 'proxy.example.com' is not an IP address or a CIDR network" in out.stderr
