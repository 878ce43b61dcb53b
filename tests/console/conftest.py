"""Console tests: Django's test client against the real sandbox cluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from console import clusters
from sandbox import Sandbox


@pytest.fixture
def console_cluster(settings: object, sandbox: Sandbox) -> Iterator[clusters.Cluster]:
    """The console configured for the sandbox, with fresh caches for each test."""
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.kubeconfig)}]  # type: ignore[attr-defined]
    cluster = clusters.get_cluster("default")
    assert cluster is not None
    yield cluster
    clusters.reset()


@pytest.fixture
def admin(admin_client: Client, console_cluster: clusters.Cluster) -> Client:
    return admin_client

