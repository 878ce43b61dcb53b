"""Logging in: sessions, CSRF and the production settings. Throttling against password guessing:
test_login_throttling.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


def test_a_good_password_logs_in(client: Client) -> None:
    User.objects.create_user("erin", password="correct-horse-battery")
    response = client.post("/login/", {"username": "erin", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(User.objects.get(username="erin").pk)


def test_a_wrong_password_says_so_and_logs_nobody_in(client: Client) -> None:
    User.objects.create_user("erin", password="correct-horse-battery")
    response = client.post("/login/", {"username": "erin", "password": "guess"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_session_lasts_8_hours(client: Client) -> None:
    User.objects.create_user("erin", password="correct-horse-battery")
    response = client.post("/login/", {"username": "erin", "password": "correct-horse-battery"})
    assert response.cookies["sessionid"]["max-age"] == 8 * 60 * 60
    assert client.session.get_expiry_age() == 8 * 60 * 60


def test_posts_without_a_csrf_token_are_refused() -> None:
    client = Client(enforce_csrf_checks=True)
    User.objects.create_user("hal", password="correct-horse-battery")
    assert client.post("/login/", {"username": "hal", "password": "correct-horse-battery"}).status_code == 403


def test_production_settings_pass_the_deployment_checklist(tmp_path: Path) -> None:
    # The deployment checklist is about our settings, not about this test run's environment.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **env,
        "CONSOLE_ENV": "production",
        "DJANGO_SECRET_KEY": "a-long-random-production-key-" + "k3y" * 20,
        "DJANGO_ALLOWED_HOSTS": "console.example.com",
        "CONSOLE_SQLITE_PATH": str(tmp_path / "db.sqlite3"),
    }
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "System check identified no issues" in out.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env.update({"CONSOLE_ENV": "production", "DJANGO_ALLOWED_HOSTS": "x.example.com"})
    out = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "Set the environment variable DJANGO_SECRET_KEY" in out.stderr
