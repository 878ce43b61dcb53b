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


def _nav(html: str) -> str:
    start = html.index('id="site-nav"')
    return html[start : html.index("</nav>", start)]


def test_the_navigation_offers_only_the_kinds_a_cluster_serves(fleet: None, admin_client: Client) -> None:
    def nav_of(cluster: str) -> str:
        return _nav(admin_client.get(f"/clusters/{cluster}/emqx/").content.decode())

    # The first look discovers the cluster; until then every kind is offered.
    eventually(lambda: "EMQX API keys" in nav_of("next-30") and "API keys" not in nav_of("legacy-22"), 30)
    next_nav, legacy_nav, prod_nav = nav_of("next-30"), nav_of("legacy-22"), nav_of("prod-23")
    assert "/clusters/next-30/emqxapikeys/" in next_nav and "/clusters/next-30/rebalances/" not in next_nav
    assert "/clusters/legacy-22/emqxbrokers/" in legacy_nav and "/clusters/prod-23/emqxbrokers/" not in prod_nav
    assert "/clusters/prod-23/rebalances/" in prod_nav
    # The 2.2 -> 2.3 checks are offered where they still matter.
    assert "Upgrade checks" in legacy_nav and "Upgrade checks" not in prod_nav and "Upgrade checks" not in next_nav


def test_a_cluster_dashboard_counts_only_the_kinds_the_cluster_serves(fleet: None, admin_client: Client) -> None:
    def rows(cluster: str) -> list[str]:
        return re.findall(
            r'<tr data-kind="([^"]+)"', admin_client.get(f"/clusters/{cluster}/_dashboard").content.decode()
        )

    eventually(lambda: rows("next-30") == ["EMQX"], 30, message=f"kinds counted on next-30: {rows('next-30')}")
    eventually(lambda: rows("legacy-22") == ["EMQX", "EmqxBroker", "EmqxEnterprise"], 30)
    # The fleet's table has a row for a kind any of its clusters serves.
    fleet_rows = re.findall(r'<tr data-kind="([^"]+)"', admin_client.get("/dashboard/_dashboard").content.decode())
    assert fleet_rows == ["EMQX", "EmqxBroker", "EmqxEnterprise"]
