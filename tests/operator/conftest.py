"""Fixtures of the simulator tests (helpers are in tests/operator/__init__.py)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest

from emqx.client import Clientset
from sandbox import Sandbox
from sandbox.operator import Simulator
from tests.operator import FAST


@pytest.fixture
def sim(cs: Clientset, namespace: str) -> Simulator:
    """The operator's simulator for the test's namespace, not started (tests reconcile one step
    at a time)."""
    return Simulator(cs, pace=FAST, namespace=namespace)


def _own_namespace(sandbox: Sandbox, request: pytest.FixtureRequest) -> str:
    stem = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"t-{stem}-{secrets.token_hex(3)}"
    sandbox.create_namespace(name)
    return name


@pytest.fixture
def namespace_23(sandbox_23: Sandbox, request: pytest.FixtureRequest) -> str:
    """A namespace of the test's own on the operator 2.3 cluster (EMQX v2 and v2beta1 served)."""
    return _own_namespace(sandbox_23, request)


@pytest.fixture
def cs_23(sandbox_23: Sandbox) -> Iterator[Clientset]:
    """The sandbox admin's client for the operator 2.3 cluster."""
    with Clientset.from_kubeconfig(sandbox_23.kubeconfig) as cs:
        yield cs


@pytest.fixture
def namespace_30(sandbox_30: Sandbox, request: pytest.FixtureRequest) -> str:
    """A namespace of the test's own on the operator 3.0 cluster (EMQX v3beta1, EMQXAPIKey)."""
    return _own_namespace(sandbox_30, request)


@pytest.fixture
def cs_30(sandbox_30: Sandbox) -> Iterator[Clientset]:
    """The sandbox admin's client for the operator 3.0 cluster."""
    with Clientset.from_kubeconfig(sandbox_30.kubeconfig) as cs:
        yield cs


@pytest.fixture
def sim_23(cs_23: Clientset, namespace_23: str) -> Simulator:
    """The simulator on the 2.3 cluster (model A unless a test says otherwise), not started."""
    return Simulator(cs_23, pace=FAST, namespace=namespace_23)


@pytest.fixture
def sim_30(cs_30: Clientset, namespace_30: str) -> Simulator:
    """The simulator on the 3.0 cluster, not started."""
    return Simulator(cs_30, pace=FAST, namespace=namespace_30)
