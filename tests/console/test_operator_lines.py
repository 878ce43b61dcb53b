"""A fleet of mixed emqx-operator lines on the dashboard: each cluster card names its line, and a
2.2 cluster links its upgrade checks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from console import clusters
from sandbox import Sandbox
from tests.support import eventually

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(settings: Any, sandbox: Sandbox, sandbox_23: Sandbox, sandbox_30: Sandbox) -> Iterator[None]:
    settings.CONSOLE_CLUSTERS = [
        {"name": "legacy-22", "kubeconfig": str(sandbox.kubeconfig)},
        {"name": "prod-23", "kubeconfig": str(sandbox_23.kubeconfig)},
        {"name": "next-30", "kubeconfig": str(sandbox_30.kubeconfig)},
    ]
    yield
    clusters.reset()


def _lines(html: str) -> dict[str, str]:
    cards = re.findall(r'data-cluster="([^"]+)".*?data-operator-line="([^"]+)"', html, re.S)
    return dict(cards)


def test_the_fleet_dashboard_names_each_clusters_operator_line(fleet: None, admin_client: Client) -> None:
    found: dict[str, str] = {}

    def all_three() -> bool:
        found.update(_lines(admin_client.get("/dashboard/_dashboard").content.decode()))
        return len(found) == 3

    eventually(all_three, 30, message=f"operator lines seen: {found}")
    assert found == {"legacy-22": "2.2", "prod-23": "2.3", "next-30": "3.0"}
    page = admin_client.get("/dashboard/_dashboard").content.decode()
    assert page.count("/upgrade/") == 1 and "/clusters/legacy-22/upgrade/" in page
