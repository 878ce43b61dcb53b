"""The console as the chart's pod runs it: the environment of the Deployment helm installed, the in-cluster
configuration from a token of the chart's ServiceAccount (TokenRequest API, as the kubelet mounts it),
KUBERNETES_SERVICE_HOST/_PORT and the sandbox's CA at the service account's usual path (a mount namespace
of its own, as in a pod). It shows the chart's RBAC is enough for every page and write the README
promises, and that nothing more is granted: the API server refuses the rest."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from sandbox import Sandbox
from sandbox.cluster import _die_with_parent
from tests.conftest import KubectlRunner, wait_until_allowed
from tests.deploy.conftest import CHART, ROOT, Helm, new_database, pod_environment, secret_data, value_args
from tests.postgres import PostgresServer

# Mounts a fresh /run (the pod's view), puts the token and the CA where every Kubernetes client looks for
# them, and runs the driver: all in a mount namespace of its own, so the machine's /run is untouched.
POD = """
set -e
mount -t tmpfs tmpfs /run
mkdir -p /run/secrets/kubernetes.io/serviceaccount
cp "$_TOKEN_FILE" /run/secrets/kubernetes.io/serviceaccount/token
cp "$_CA_FILE" /run/secrets/kubernetes.io/serviceaccount/ca.crt
echo "$_NAMESPACE" > /run/secrets/kubernetes.io/serviceaccount/namespace
exec "$@"
"""


def _installed_pod(
    helm: Helm, sandbox: Sandbox, kubectl: KubectlRunner, namespace: str, database_url: str, *values: str
) -> tuple[dict[str, str], str]:
    """Install the chart (no hooks) and return the console container's environment, resolved as the
    kubelet would from the installed Deployment and Secrets, and the ServiceAccount's name."""
    database = kubectl(
        "create", "secret", "generic", "emqx-console-database", "-n", namespace,
        f"--from-literal=DATABASE_URL={database_url}",
    )  # fmt: skip
    assert database.returncode == 0, database.stderr
    release = f"c{secrets.token_hex(3)}"
    done = helm(
        "install", release, str(CHART), "-n", namespace, "--no-hooks", "--kubeconfig", str(sandbox.kubeconfig),
        "--set-json", 'allowedHosts=["console.example.com"]', *values,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifest = helm("get", "manifest", release, "-n", namespace, "--kubeconfig", str(sandbox.kubeconfig)).stdout
    deployment = next(d for d in yaml.safe_load_all(manifest) if d and d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    stored = {}
    for name in {
        e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})
    }:
        got = kubectl("get", "secret", name, "-n", namespace, "-o", "json")
        assert got.returncode == 0, got.stderr
        stored[name] = secret_data(json.loads(got.stdout))
    return pod_environment(container, stored, pod_ip="127.0.0.1"), pod["serviceAccountName"]


def _run_as_pod(
    sandbox: Sandbox,
    kubectl: KubectlRunner,
    tmp_path: Path,
    namespace: str,
    env: dict[str, str],
    account: str,
    mode: str,
) -> dict[str, Any]:
    token = kubectl("create", "token", account, "-n", namespace, "--duration=1h")  # the TokenRequest API
    assert token.returncode == 0, token.stderr
    (tmp_path / "token").write_text(token.stdout.strip())
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CONSOLE_", "KUBE"))}
    pod_env = {
        **base,
        **env,
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(sandbox.apiserver_port),
        "_TOKEN_FILE": str(tmp_path / "token"),
        "_CA_FILE": str(sandbox.ca_file),
        "_NAMESPACE": namespace,
    }
    command = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", POD, "pod"]
    command += [sys.executable, "tests/deploy/pod_driver.py", mode, namespace]
    done = subprocess.run(
        command, cwd=ROOT, env=pod_env, capture_output=True, text=True, timeout=240, preexec_fn=_die_with_parent
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_the_charts_rbac_is_enough_for_every_page_and_write_and_grants_nothing_more(
    helm: Helm,
    sandbox: Sandbox,
    kubectl: KubectlRunner,
    namespace: str,
    postgres: PostgresServer,
    tmp_path: Path,
) -> None:
    url = new_database(postgres, f"pod_{namespace.replace('-', '_')}")
    env, account = _installed_pod(helm, sandbox, kubectl, namespace, url)
    assert json.loads(env["CONSOLE_CLUSTERS_JSON"]) == [{"name": "local", "in_cluster": True}]
    wait_until_allowed(kubectl, "create", "emqxes.apps.emqx.io", user=f"system:serviceaccount:{namespace}:{account}")
    report = _run_as_pod(sandbox, kubectl, tmp_path, namespace, env, account, "writes")
    assert report["add"] == {"status": 302, "errors": []}
    assert {
        label: answer for label, answer in report["pages"].items() if answer != {"status": 200, "trouble": ""}
    } == {}
    assert report["edit"] == 302
    assert report["delete"] == {"status": 302, "errors": []}
    assert report["audit"] == [["create", "success"], ["delete", "success"], ["update", "success"]]
    assert report["own identity"] == {
        "create-emqx": "allowed",
        "create-configmap": "forbidden",
        "read-secrets": "forbidden",
        "delete-namespace": "forbidden",
    }


def test_with_impersonation_the_cluster_decides_each_persons_writes(
    helm: Helm,
    sandbox: Sandbox,
    kubectl: KubectlRunner,
    namespace: str,
    postgres: PostgresServer,
    tmp_path: Path,
) -> None:
    url = new_database(postgres, f"pod_{namespace.replace('-', '_')}")
    env, account = _installed_pod(helm, sandbox, kubectl, namespace, url, *value_args("in-cluster-impersonation"))
    verbs = "--verb=get,list,watch,create"
    role = kubectl("create", "role", "emqx-writer", "-n", namespace, verbs, "--resource=emqxes.apps.emqx.io")
    bind = kubectl("create", "rolebinding", "alice", "-n", namespace, "--role=emqx-writer", "--user=console:alice")
    assert role.returncode == 0 and bind.returncode == 0, role.stderr + bind.stderr
    wait_until_allowed(kubectl, "create", "emqxes.apps.emqx.io", user="console:alice", namespace=namespace)
    wait_until_allowed(
        kubectl, "impersonate", "users/console:alice", user=f"system:serviceaccount:{namespace}:{account}"
    )
    report = _run_as_pod(sandbox, kubectl, tmp_path, namespace, env, account, "impersonation")
    assert report["alice"] == {"status": 302, "errors": []}
    assert report["bob"]["status"] == 200 and any("console:bob" in e for e in report["bob"]["errors"]), report["bob"]
    assert report["own identity"]["create-emqx"] == "forbidden"  # the console itself writes nothing
    assert [row for row in report["audit"] if row[0] == "alice"] == [["alice", "success"]]
