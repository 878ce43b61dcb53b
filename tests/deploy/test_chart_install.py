"""The chart installed into the sandbox: the real API server validates every object it makes, an upgrade
keeps the generated secrets, and the console's ServiceAccount may do exactly what the README says.

The sandbox runs no kubelet and no controllers: pods never start, and a hook Job would never finish, so
helm installs with --no-hooks and the hooks (`helm get hooks`) are created next, validated the same way."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
import yaml

from sandbox import Sandbox
from tests.conftest import KubectlRunner, wait_until_allowed
from tests.deploy.conftest import CHART, VALUE_SETS, Helm, secret_data, value_args


def _install(
    helm: Helm, sandbox: Sandbox, namespace: str, value_set: str | None = None, *, upgrade: bool = False, **sets: Any
) -> str:
    """helm install (or upgrade) of the chart into ``namespace``, hooks left out; returns the release name."""
    release = f"c{secrets.token_hex(3)}" if not upgrade else sets.pop("release")
    command = ["upgrade" if upgrade else "install", release, str(CHART), "-n", namespace]
    done = helm(*command, "--no-hooks", "--kubeconfig", str(sandbox.kubeconfig), *value_args(value_set, **sets))
    assert done.returncode == 0, done.stderr
    return release


def _objects(helm: Helm, sandbox: Sandbox, namespace: str, release: str, what: str) -> list[dict[str, Any]]:
    """The release's manifests (what="manifest") or hooks (what="hooks") as helm recorded them."""
    got = helm("get", what, release, "-n", namespace, "--kubeconfig", str(sandbox.kubeconfig))
    assert got.returncode == 0, got.stderr
    return [doc for doc in yaml.safe_load_all(got.stdout) if doc]


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_helm_install_makes_every_object_and_the_api_server_accepts_each(
    helm: Helm, sandbox: Sandbox, namespace: str, kubectl: KubectlRunner, value_set: str
) -> None:
    # The sandbox has no Prometheus operator, so no ServiceMonitor kind: that one is rendered only.
    release = _install(helm, sandbox, namespace, value_set, metrics__serviceMonitor__enabled=False)
    hooks = _objects(helm, sandbox, namespace, release, "hooks")
    assert [h["kind"] for h in hooks] == ["Job"]
    created = kubectl("create", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(hooks))
    assert created.returncode == 0, created.stderr
    expected = _objects(helm, sandbox, namespace, release, "manifest") + hooks
    for manifest in expected:
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        found = kubectl("get", kind.lower(), name, "-n", namespace, "-o", "json")
        assert found.returncode == 0, f"{kind} {name}: {found.stderr}"
        assert json.loads(found.stdout)["kind"] == kind
    made = {m["kind"] for m in expected}
    assert {"Deployment", "Service", "ServiceAccount", "Job"} <= made
    assert ("ClusterRole" in made) is (value_set != "two-kubeconfigs")
    assert ("Ingress" in made) is (value_set == "ingress-tls")


def test_an_upgrade_keeps_the_secret_key_and_the_metrics_token(
    helm: Helm, sandbox: Sandbox, namespace: str, kubectl: KubectlRunner
) -> None:
    release = _install(helm, sandbox, namespace)

    def stored() -> dict[str, str]:
        got = kubectl("get", "secret", f"{release}-emqx-console", "-n", namespace, "-o", "json")
        assert got.returncode == 0, got.stderr
        return secret_data(json.loads(got.stdout))

    first = stored()
    assert len(first["DJANGO_SECRET_KEY"]) == 64
    _install(helm, sandbox, namespace, upgrade=True, release=release, replicaCount=3)
    assert stored() == first  # sessions and Prometheus' token survive the upgrade
    replicas = kubectl(
        "get", "deployment", f"{release}-emqx-console", "-n", namespace, "-o", "jsonpath={.spec.replicas}"
    )
    assert replicas.stdout == "3"


# (verb, resource, allowed writing as itself, allowed impersonating): what the README's section says.
RIGHTS = [
    ("list", "emqxes.apps.emqx.io", True, True),
    ("watch", "emqxbrokers.apps.emqx.io", True, True),
    ("get", "rebalances.apps.emqx.io", True, True),
    ("create", "emqxes.apps.emqx.io", True, False),
    ("update", "emqxes.apps.emqx.io", True, False),
    ("patch", "emqxes.apps.emqx.io", True, False),
    ("delete", "emqxes.apps.emqx.io", True, False),
    ("list", "events", True, True),
    ("get", "namespaces", True, True),
    ("list", "namespaces", False, False),
    ("get", "customresourcedefinitions.apiextensions.k8s.io", True, True),
    ("update", "customresourcedefinitions.apiextensions.k8s.io", False, False),
    ("create", "events", False, False),
    ("get", "secrets", False, False),
    ("list", "pods", False, False),
    ("create", "configmaps", False, False),
    ("delete", "namespaces", False, False),
    ("impersonate", "users/console:alice", False, True),
    ("impersonate", "groups/console:emqx-operators", False, True),
    ("impersonate", "users/console:mallory", False, False),
    ("impersonate", "groups/system:masters", False, False),
    ("impersonate", "serviceaccounts", False, False),
]


@pytest.mark.parametrize("impersonating", [False, True], ids=["writing-as-itself", "impersonating"])
def test_the_service_account_may_do_exactly_what_the_readme_says(
    helm: Helm, sandbox: Sandbox, namespace: str, kubectl: KubectlRunner, impersonating: bool
) -> None:
    value_set = "in-cluster-impersonation" if impersonating else None
    release = _install(helm, sandbox, namespace, value_set)
    identity = f"system:serviceaccount:{namespace}:{release}-emqx-console"
    wait_until_allowed(kubectl, "list", "emqxes.apps.emqx.io", user=identity)
    answers = {}
    for verb, resource, as_itself, as_people in RIGHTS:
        asked = kubectl("auth", "can-i", verb, resource, f"--as={identity}", "--all-namespaces")
        answers[(verb, resource)] = (
            asked.stdout.strip(),
            "yes" if (as_people if impersonating else as_itself) else "no",
        )
    assert {k: v[0] for k, v in answers.items()} == {k: v[1] for k, v in answers.items()}


def test_the_notes_give_the_url_and_the_first_admin_command(helm: Helm, sandbox: Sandbox) -> None:
    installed = helm(
        "install", "--dry-run", "console", str(CHART), "-n", "emqx", "--kubeconfig", str(sandbox.kubeconfig),
        *value_args("ingress-tls", metrics__serviceMonitor__enabled=False),
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    notes = installed.stdout[installed.stdout.index("NOTES:") :]
    assert "https://console.example.com/" in notes
    assert "kubectl -n emqx exec -it deploy/console-emqx-console -- python manage.py createsuperuser" in notes
