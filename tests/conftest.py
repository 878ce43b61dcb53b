"""Shared fixtures: one real sandbox cluster per test session, a fresh namespace per test.

The cluster is kube-apiserver + etcd built from Go modules (see sandbox/), with RBAC on and
the emqx-operator's CRDs installed. Nothing is faked: tests that talk to Kubernetes talk to it.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from emqx.client.clientset import Clientset
from sandbox import Sandbox
from sandbox.build import binaries
from tests.support import eventually

KubectlRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """The session's cluster with the operator 2.2 CRD bundle (EMQX v2beta1, the 4.x brokers v1beta4,
    Rebalance): the one most of the suite was written on, and the line with the most kinds."""
    sb = Sandbox.create(crds="2.2")
    try:
        yield sb.start()
    finally:
        sb.destroy()


@pytest.fixture(scope="session")
def sandbox_2021() -> Iterator[Sandbox]:
    """A second cluster as a 2021 user had it: EmqxBroker/EmqxEnterprise v1beta1 only."""
    sb = Sandbox.create(crds="2021", prefix="emqx-sandbox-2021-")
    try:
        yield sb.start()
    finally:
        sb.destroy()


@pytest.fixture(scope="session")
def sandbox_23() -> Iterator[Sandbox]:
    """A cluster on operator 2.3's CRDs: EMQX v2 stored, v2beta1 still served, Rebalance v2beta1."""
    sb = Sandbox.create(crds="2.3", prefix="emqx-sandbox-23-")
    try:
        yield sb.start()
    finally:
        sb.destroy()


@pytest.fixture(scope="session")
def sandbox_30() -> Iterator[Sandbox]:
    """A cluster on operator 3.0's CRDs: EMQX v3beta1 only, and EMQXAPIKey."""
    sb = Sandbox.create(crds="3.0", prefix="emqx-sandbox-30-")
    try:
        yield sb.start()
    finally:
        sb.destroy()


SANDBOX_OF_BUNDLE = {
    "2.2": "sandbox",
    "current": "sandbox",
    "2021": "sandbox_2021",
    "2.3": "sandbox_23",
    "3.0": "sandbox_30",
}
"""The session fixture holding each bundle's cluster (request.getfixturevalue(SANDBOX_OF_BUNDLE[b]))."""


def _namespace_name(node_name: str) -> str:
    stem = re.sub(r"[^a-z0-9-]+", "-", node_name.lower()).strip("-")[:40].strip("-")
    return f"t-{stem}-{secrets.token_hex(3)}"


@pytest.fixture
def namespace(sandbox: Sandbox, request: pytest.FixtureRequest) -> str:
    """A namespace of the test's own, named after it. Left in place afterwards: without a
    kube-controller-manager a deleted namespace never finishes terminating, and the whole
    cluster goes away at the end of the session anyway."""
    name = _namespace_name(request.node.name)
    sandbox.create_namespace(name)
    return name


@pytest.fixture
def clientset(sandbox: Sandbox) -> Iterator[Clientset]:
    """The test's own client as the sandbox's admin, for arranging and checking state;
    closed after the test."""
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        yield cs


@pytest.fixture
def cs(clientset: Clientset) -> Clientset:
    """The same client under the short name the client and operator tests use."""
    return clientset


def run_kubectl(kubeconfig: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binaries()["kubectl"]), f"--kubeconfig={kubeconfig}", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="session")
def kubectl(sandbox: Sandbox) -> KubectlRunner:
    """kubectl (built from the same Kubernetes release) as the sandbox's admin, or as
    another identity with kubeconfig=...; returns the CompletedProcess, never raises."""

    def run(*args: str, input: str | None = None, kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_kubectl(kubeconfig or sandbox.kubeconfig, *args, input=input)

    return run


def wait_until_allowed(
    kubectl: KubectlRunner,
    verb: str,
    resource: str,
    *,
    user: str,
    groups: tuple[str, ...] = (),
    namespace: str | None = None,
    timeout: float = 15.0,
) -> None:
    """Wait until the API server's authorizer applies a RoleBinding just created.

    RBAC is served from the API server's own informers, so a binding takes effect a moment
    after it is stored; `kubectl auth can-i --as` asks the same authorizer."""
    args = ["auth", "can-i", verb, resource, f"--as={user}", *(f"--as-group={g}" for g in groups)]
    if namespace:
        args += ["-n", namespace]
    eventually(
        lambda: kubectl(*args).stdout.strip() == "yes",
        timeout,
        message=f"RBAC never allowed {user} to {verb} {resource}",
    )


# The files that take minutes, longest first (`--durations` of a whole run). `make test` hands whole
# files to two processes (pytest-xdist, --dist loadfile) in collection order: one of these handed out
# last would keep one process busy for minutes while the other has nothing left to do.
LONGEST_FIRST = (
    "tests/e2e/test_accessibility.py",
    "tests/test_postgres.py",
    "tests/operator/test_demo_command.py",
    "tests/console/test_admin_properties.py",
    "tests/console/test_fuzz.py",
    "tests/console/test_multicluster.py",
    "tests/console/test_admin_pages.py",
    "tests/console/test_permission_matrix.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The LONGEST_FIRST files first, the others after them in their usual order (a stable sort)."""
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
