"""/healthz, /readyz and /metrics as the kubelet, Prometheus and anyone else see them (in-process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client

from sandbox import Sandbox
from sandbox.cluster import free_port
from tests.deploy.conftest import ROOT
from tests.support import eventually

pytestmark = pytest.mark.django_db


def _dead_cluster(tmp_path: Path) -> str:
    """A kubeconfig whose API server refuses connections (nothing listens on the port)."""
    path = tmp_path / "dead.kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "dead", "cluster": {"server": f"https://127.0.0.1:{free_port()}"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}],
                "current-context": "dead",
            }
        )
    )
    return str(path)


def test_healthz_answers_without_a_login_whatever_the_clusters_do(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    settings.CONSOLE_CLUSTERS = [{"name": "dead-one", "kubeconfig": _dead_cluster(tmp_path)}]
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok\n")


def test_readyz_tells_anonymous_callers_a_status_word_and_staff_why(
    client: Client, admin_client: Client, settings: Any, sandbox: Sandbox
) -> None:
    settings.CONSOLE_CLUSTERS = [{"name": "secret-cluster-name", "kubeconfig": str(sandbox.kubeconfig)}]
    loading = client.get("/readyz")  # the first probe starts the caches, and they are not in yet
    assert (loading.status_code, loading.content) == (503, b"unavailable\n")
    assert loading["Content-Type"] == "text/plain"
    detail = admin_client.get("/readyz")  # staff see which check failed, and why
    if detail.status_code == 503:  # unless the caches have synced meanwhile
        assert detail.json()["ClusterCaches()"].endswith("cluster cache(s) still loading")
    eventually(lambda: client.get("/readyz").status_code == 200, 30)
    assert client.get("/readyz").content == b"ok\n"
    assert json.loads(admin_client.get("/readyz").content) == {
        "Database(alias='default')": "OK",
        "ClusterCaches()": "OK",
    }


def test_a_cluster_that_is_down_does_not_hold_up_readiness(client: Client, settings: Any, tmp_path: Path) -> None:
    settings.CONSOLE_CLUSTERS = [{"name": "dead-one", "kubeconfig": _dead_cluster(tmp_path)}]
    eventually(lambda: client.get("/readyz").status_code == 200, 30, message="a dead cluster held up readiness")


def _metrics(client: Client, **headers: str) -> Any:
    return client.get("/metrics", headers=headers)


def test_metrics_need_the_bearer_token_when_one_is_set(client: Client, settings: Any) -> None:
    settings.CONSOLE_METRICS_TOKEN = "s3cret-token"
    assert _metrics(client).status_code == 401
    assert _metrics(client, Authorization="Bearer wrong").status_code == 401
    answered = _metrics(client, Authorization="Bearer s3cret-token")
    assert answered.status_code == 200 and b"emqx_console_api_requests_total" in answered.content


def test_metrics_are_off_in_production_without_a_token(client: Client, settings: Any) -> None:
    settings.CONSOLE_METRICS_TOKEN = ""
    settings.PRODUCTION = True
    assert _metrics(client).status_code == 404
    settings.PRODUCTION = False
    assert _metrics(client).status_code == 200  # development, on loopback


def _counter(client: Client, name: str) -> float:
    for line in _metrics(client).content.decode().splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return 0.0


def test_metrics_count_log_in_failures(client: Client, settings: Any, django_user_model: Any) -> None:
    settings.CONSOLE_METRICS_TOKEN = ""
    django_user_model.objects.create_user("someone", password="the-right-password-0451")
    before = _counter(client, "emqx_console_login_failures_total")
    client.post("/login/", {"username": "someone", "password": "a-wrong-one"}, REMOTE_ADDR="192.0.2.7")
    assert _counter(client, "emqx_console_login_failures_total") == before + 1


def test_metrics_count_lockouts(client: Client, settings: Any, django_user_model: Any) -> None:
    settings.CONSOLE_METRICS_TOKEN = ""
    django_user_model.objects.create_user("guessed", password="the-right-password-0451")
    before = _counter(client, "emqx_console_lockouts_total")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "guessed", "password": "a-wrong-one"}, REMOTE_ADDR="192.0.2.8")
    assert _counter(client, "emqx_console_lockouts_total") == before + 1


def test_a_log_format_that_does_not_exist_stops_the_console_at_start() -> None:
    env = {**os.environ, "CONSOLE_LOG_FORMAT": "xml", "DJANGO_SETTINGS_MODULE": "console.settings"}
    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert started.returncode != 0
    assert "CONSOLE_LOG_FORMAT must be text or json, not 'xml'." in started.stderr
