"""The console as production runs it: gunicorn, production settings, behind a TLS proxy
(X-Forwarded-Proto), static files served by the app itself, against the sandbox cluster."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox import Sandbox
from sandbox.cluster import free_port
from tests import factories

ROOT = Path(__file__).resolve().parents[1]
HOST = "console.example.com"
PASSWORD = "a-production-password-0451"


@pytest.fixture(scope="module")
def served(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn with two workers in production mode; yields its base URL."""
    work = tmp_path_factory.mktemp("serving")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CONSOLE_"))}
    env.update(
        CONSOLE_ENV="production",
        DJANGO_SECRET_KEY="a-long-random-production-key-" + "k3y" * 20,
        DJANGO_ALLOWED_HOSTS=HOST,
        DJANGO_CSRF_TRUSTED_ORIGINS=f"https://{HOST}",
        CONSOLE_SQLITE_PATH=str(work / "db.sqlite3"),
        CONSOLE_KUBECONFIG=str(sandbox.kubeconfig),
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
    )
    for command in (["migrate", "--noinput"], ["createsuperuser", "--noinput", "--username=ops", "--email=o@x.io"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-3000:]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "console.wsgi:application", f"--bind=127.0.0.1:{port}", "--workers=2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "gunicorn.log", "wb"),  # noqa: SIM115 - gunicorn writes to it until the end
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{base}/login/", headers={"Host": HOST}, timeout=10, allow_redirects=False)
            break
        except requests.RequestException:  # refused, or a worker still booting (a busy machine: seconds)
            assert server.poll() is None, (work / "gunicorn.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
    try:
        yield base
    finally:
        server.terminate()
        server.wait(20)


class _Browser(requests.Session):
    """A browser behind the TLS proxy: the proxy speaks plain HTTP to gunicorn, so Secure
    cookies, which requests keeps for https only, are sent by hand as the browser would."""

    def __init__(self) -> None:
        super().__init__()
        self.headers.update({"Host": HOST, "X-Forwarded-Proto": "https"})

    def request(self, method: str | bytes, url: str | bytes, *args: object, **kwargs: object) -> requests.Response:  # type: ignore[override]
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.cookies)
        if cookies:
            kwargs["headers"] = {**dict(kwargs.get("headers") or {}), "Cookie": cookies}  # type: ignore[arg-type]
        return super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]


def _session() -> requests.Session:
    return _Browser()


def test_plain_http_is_redirected_to_https(served: str) -> None:
    response = requests.get(f"{served}/login/", headers={"Host": HOST}, allow_redirects=False, timeout=10)
    assert response.status_code == 301 and response.headers["Location"] == f"https://{HOST}/login/"


def test_static_files_are_served_with_the_page(served: str) -> None:
    s = _session()
    login = s.get(f"{served}/login/", timeout=10)
    assert login.status_code == 200
    assert login.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', login.text)
    assert any("htmx" in a for a in assets) and any(a.endswith(".css") for a in assets), assets
    for asset in assets:
        assert s.get(f"{served}{asset}", timeout=10).status_code == 200, asset


def test_an_operator_logs_in_and_sees_the_clusters_instances(served: str, sandbox: Sandbox, namespace: str) -> None:
    from emqx.client.clientset import Clientset

    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        cs.apps_v2beta1.emqxes(namespace).create(factories.emqx("served", namespace=namespace))
    s = _session()
    page = s.get(f"{served}/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    assert all(c.secure for c in s.cookies)  # cookies only over TLS
    logged_in = s.post(
        f"{served}/login/",
        data={"username": "ops", "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"https://{HOST}/login/", "Origin": f"https://{HOST}"},
        allow_redirects=False,
        timeout=10,
    )
    assert logged_in.status_code == 302, logged_in.text[-2000:]
    deadline = time.monotonic() + 30
    while True:  # each worker starts its own watch cache on its first request
        listed = s.get(f"{served}/clusters/default/emqx/", params={"namespace": namespace}, timeout=30)
        assert listed.status_code == 200
        if f"/clusters/default/emqx/{namespace}/served/" in listed.text:
            break
        assert time.monotonic() < deadline, "the instance never showed up"
        time.sleep(0.2)
