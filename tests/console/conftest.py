"""Console tests: Django's test client against the real sandbox cluster."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from console import clusters
from emqx.client.clientset import Clientset
from sandbox import Sandbox
from tests.conftest import SANDBOX_OF_BUNDLE
from tests.console.kind_cases import CASES, Case, World

# The console's name for each era's cluster in these tests.
CLUSTER_OF_ERA = {"current": "default", "2021": "legacy", "2.3": "stable", "3.0": "next"}


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


@pytest.fixture
def cache_mode() -> str:
    """How the console keeps its watch caches: ``memory`` (each process its own, the default) or ``shared``
    (console.sharedcache: one writer, readers of a SQLite file; here the test's process is both). A test runs
    in both with ``@pytest.mark.parametrize("cache_mode", CACHE_MODES)``."""
    return "memory"


CACHE_MODES = ["memory", "shared"]


@pytest.fixture(params=CASES, ids=lambda c: c.id)
def world(
    request: pytest.FixtureRequest, settings: Any, admin_client: Client, cache_mode: str, tmp_path: Any
) -> Iterator[World]:
    """One registered kind in one served version (every one, in turn): its cluster configured for
    the console (its caches kept as ``cache_mode`` says), a namespace of the test's own there, and a
    logged-in superuser."""
    case: Case = request.param
    sandbox: Sandbox = request.getfixturevalue(SANDBOX_OF_BUNDLE[case.era])
    cluster = CLUSTER_OF_ERA[case.era]
    settings.CONSOLE_CLUSTERS = [{"name": cluster, "kubeconfig": str(sandbox.kubeconfig)}]
    settings.CONSOLE_SHARED_CACHE_DIR = str(tmp_path / "shared-cache") if cache_mode == "shared" else None
    clusters.reset()
    namespace = f"t-{case.admin.slug}-{case.model.version}-{secrets.token_hex(3)}"
    sandbox.create_namespace(namespace)
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        yield World(case, cluster, namespace, cs, sandbox, admin_client)
    clusters.reset()
