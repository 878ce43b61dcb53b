"""A kubeconfig whose credential plugin hangs (issue 15, item 15): loading it runs the plugin,
which the kubernetes package waits for with no timeout. The console gives it a deadline, holds no
lock meanwhile, and the other cluster's pages and every page's header go on answering."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client

from console import clusters
from emqx.errors import ConfigurationError
from emqx.rest import Timeouts
from sandbox import Sandbox

pytestmark = pytest.mark.django_db

DEADLINE_S = 4.0


@pytest.fixture
def hung_kubeconfig(tmp_path: Path, sandbox: Sandbox) -> Path:
    """The sandbox's server, with a user whose exec plugin never answers (it sleeps)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "hung", "cluster": {"server": sandbox.server, "insecure-skip-tls-verify": True}}],
        "users": [
            {
                "name": "sso",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": "sleep",
                        "args": ["12"],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
        "contexts": [{"name": "hung", "context": {"cluster": "hung", "user": "sso"}}],
        "current-context": "hung",
    }
    path = tmp_path / "hung.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def with_hung_cluster(
    settings: Any, sandbox: Sandbox, hung_kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    # A shorter deadline than the default 10 s, to keep the test short: the setting, not the code under test.
    monkeypatch.setattr(clusters, "CONSOLE_TIMEOUTS", Timeouts(connect=3.0, read=10.0, credentials=DEADLINE_S))
    settings.CONSOLE_CLUSTERS = [
        {"name": "default", "kubeconfig": str(sandbox.kubeconfig)},
        {"name": "hung", "kubeconfig": str(hung_kubeconfig)},
    ]
    yield
    clusters.reset()


def test_a_hung_credential_plugin_freezes_neither_the_other_cluster_nor_the_header(
    admin: Client, with_hung_cluster: None
) -> None:
    hung = clusters.get_cluster("hung")
    assert hung is not None
    failure: list[BaseException] = []

    def load() -> None:
        try:
            hung.cache("EMQX")
        except BaseException as error:
            failure.append(error)

    loading = threading.Thread(target=load)
    loading.start()
    # While the plugin hangs: the other cluster's list, with the header that shows every cluster.
    page = admin.get("/clusters/default/emqx/")
    assert page.status_code == 200 and "hung" in page.content.decode()
    assert hung.health() in ("", "connecting", "unreachable")
    assert loading.is_alive(), "the other cluster's page answered while the plugin still hung"
    loading.join(DEADLINE_S + 10)
    assert not loading.is_alive()
    assert len(failure) == 1 and isinstance(failure[0], ConfigurationError)
    assert f"did not answer within {DEADLINE_S:g} s" in str(failure[0])


def test_the_hung_clusters_pages_say_why_instead_of_hanging(admin: Client, with_hung_cluster: None) -> None:
    response = admin.get("/clusters/hung/emqx/")
    assert response.status_code in (200, 503)
    html = response.content.decode()
    assert "credential plugin" in html and f"did not answer within {DEADLINE_S:g} s" in html
