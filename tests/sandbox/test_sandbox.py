"""The sandbox is a real Kubernetes API server: kubectl works, schemas and RBAC are enforced."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sandbox import Sandbox
from sandbox.build import KUBE_VERSION
from tests.conftest import SANDBOX_OF_BUNDLE, KubectlRunner, wait_until_allowed

REPO = Path(__file__).resolve().parents[2]


def _emqx(name: str, spec: dict) -> str:
    return json.dumps({"apiVersion": "apps.emqx.io/v2beta1", "kind": "EMQX", "metadata": {"name": name}, "spec": spec})


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        # As any server restarting on the port would: TIME_WAIT leftovers don't count as taken.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and not stat.read_text().split(") ", 1)[1].startswith("Z")


def test_kubectl_reports_the_pinned_server_version(kubectl: KubectlRunner) -> None:
    out = kubectl("version", "-o", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["serverVersion"]["gitVersion"] == KUBE_VERSION


def test_kubectl_lists_the_operator_crds_with_their_served_versions(kubectl: KubectlRunner) -> None:
    out = kubectl("get", "crd", "-o", "json")
    assert out.returncode == 0, out.stderr
    served = {
        item["metadata"]["name"]: sorted(v["name"] for v in item["spec"]["versions"] if v["served"])
        for item in json.loads(out.stdout)["items"]
    }
    assert served == {
        "emqxes.apps.emqx.io": ["v2alpha1", "v2beta1"],
        "emqxbrokers.apps.emqx.io": ["v1beta3", "v1beta4"],
        "emqxenterprises.apps.emqx.io": ["v1beta3", "v1beta4"],
        "rebalances.apps.emqx.io": ["v1beta4", "v2beta1"],
        "emqxplugins.apps.emqx.io": ["v1beta3", "v1beta4"],
    }


def test_kubectl_creates_and_lists_emqx_by_short_name(kubectl: KubectlRunner, namespace: str) -> None:
    created = kubectl("-n", namespace, "create", "-f", "-", input=_emqx("demo", {"image": "emqx:5.8"}))
    assert created.returncode == 0, created.stderr
    listed = kubectl("get", "emqx", "-A", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    names = {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in json.loads(listed.stdout)["items"]}
    assert (namespace, "demo") in names


def test_the_server_applies_schema_defaults(kubectl: KubectlRunner, namespace: str) -> None:
    kubectl("-n", namespace, "create", "-f", "-", input=_emqx("defaults", {"image": "emqx:5.8"}))
    out = kubectl("-n", namespace, "get", "emqx", "defaults", "-o", "json")
    spec = json.loads(out.stdout)["spec"]
    # The current CRD (chart 2.2.30) defaults coreTemplate to one replica.
    assert spec["coreTemplate"]["spec"]["replicas"] == 1


def test_a_string_where_replicas_is_an_integer_is_rejected_with_its_field_path(
    sandbox: Sandbox, namespace: str
) -> None:
    body = json.loads(_emqx("bad", {"image": "emqx:5.8", "coreTemplate": {"spec": {"replicas": "three"}}}))
    status, resp = sandbox.request("POST", f"/apis/apps.emqx.io/v2beta1/namespaces/{namespace}/emqxes", body)
    assert status == 422
    assert resp["reason"] == "Invalid"
    fields = [c["field"] for c in resp["details"]["causes"]]
    assert "spec.coreTemplate.spec.replicas" in fields


def test_min_available_and_max_unavailable_together_break_the_cel_rule(sandbox: Sandbox, namespace: str) -> None:
    spec = {"image": "emqx:5.8", "coreTemplate": {"spec": {"minAvailable": 1, "maxUnavailable": 1}}}
    status, resp = sandbox.request(
        "POST", f"/apis/apps.emqx.io/v2beta1/namespaces/{namespace}/emqxes", json.loads(_emqx("cel", spec))
    )
    assert status == 422
    assert any(c["field"].startswith("spec.coreTemplate.spec") for c in resp["details"]["causes"]), resp
    assert "mutually exclusive" in resp["message"].lower() or "minavailable" in resp["message"].lower()


def test_a_user_without_a_role_binding_is_forbidden(sandbox: Sandbox, kubectl: KubectlRunner, namespace: str) -> None:
    nobody = sandbox.user_kubeconfig("nobody")
    out = kubectl("-n", namespace, "get", "emqx", kubeconfig=nobody)
    assert out.returncode != 0
    assert "forbidden" in out.stderr.lower()
    assert 'User "nobody" cannot list resource "emqxes"' in out.stderr


def test_a_user_bound_to_a_read_role_can_read_but_not_delete(
    sandbox: Sandbox, kubectl: KubectlRunner, namespace: str
) -> None:
    kubectl("-n", namespace, "create", "-f", "-", input=_emqx("ro", {"image": "emqx:5.8"}))
    assert (
        kubectl(
            "-n", namespace, "create", "role", "emqx-reader", "--verb=get,list", "--resource=emqxes.apps.emqx.io"
        ).returncode
        == 0
    )
    assert (
        kubectl(
            "-n", namespace, "create", "rolebinding", "alice-reads", "--role=emqx-reader", "--user=alice"
        ).returncode
        == 0
    )
    wait_until_allowed(kubectl, "get", "emqxes.apps.emqx.io", user="alice", namespace=namespace)
    alice = sandbox.user_kubeconfig("alice")

    got = kubectl("-n", namespace, "get", "emqx", "ro", "-o", "name", kubeconfig=alice)
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == "emqx.apps.emqx.io/ro"

    deleted = kubectl("-n", namespace, "delete", "emqx", "ro", kubeconfig=alice)
    assert deleted.returncode != 0
    assert 'cannot delete resource "emqxes"' in deleted.stderr
    assert kubectl("-n", namespace, "get", "emqx", "ro").returncode == 0  # still there


def test_group_membership_from_the_client_certificate_counts_for_rbac(
    sandbox: Sandbox, kubectl: KubectlRunner, namespace: str
) -> None:
    kubectl("-n", namespace, "create", "role", "emqx-lister", "--verb=list", "--resource=emqxes.apps.emqx.io")
    kubectl("-n", namespace, "create", "rolebinding", "ops-list", "--role=emqx-lister", "--group=ops")
    wait_until_allowed(kubectl, "list", "emqxes.apps.emqx.io", user="bob", groups=("ops",), namespace=namespace)
    bob = sandbox.user_kubeconfig("bob", groups=["ops"])
    assert kubectl("-n", namespace, "get", "emqx", kubeconfig=bob).returncode == 0


def test_an_outage_keeps_the_data_and_the_port(sandbox: Sandbox, kubectl: KubectlRunner, namespace: str) -> None:
    kubectl("-n", namespace, "create", "-f", "-", input=_emqx("survivor", {"image": "emqx:5.8"}))
    port = sandbox.apiserver_port
    with sandbox.outage():
        down = kubectl("-n", namespace, "get", "emqx", "survivor", "--request-timeout=2s")
        assert down.returncode != 0
        assert "was refused" in down.stderr
    assert sandbox.apiserver_port == port
    assert kubectl("-n", namespace, "get", "emqx", "survivor").returncode == 0


def test_the_2021_cluster_serves_only_v1beta1_brokers(sandbox_2021: Sandbox) -> None:
    status, body = sandbox_2021.request("GET", "/apis/apps.emqx.io")
    assert status == 200
    assert [v["version"] for v in body["versions"]] == ["v1beta1"]
    status, resources = sandbox_2021.request("GET", "/apis/apps.emqx.io/v1beta1")
    kinds = sorted(r["kind"] for r in resources["resources"] if "/" not in r["name"])
    assert kinds == ["EmqxBroker", "EmqxEnterprise"]
    short = {r["kind"]: r.get("shortNames") for r in resources["resources"] if "/" not in r["name"]}
    assert short == {"EmqxBroker": ["emqx"], "EmqxEnterprise": ["emqx-ee"]}


def test_stopping_frees_the_ports_and_ends_every_process() -> None:
    sb = Sandbox.create(crds=None)
    sb.start()
    pids = [p.pid for p in sb._procs.values()]
    ports = [sb.apiserver_port, sb.etcd_port]
    sb.destroy()
    assert not any(_pid_alive(pid) for pid in pids)
    assert all(_port_is_free(p) for p in ports)


def test_a_killed_test_run_takes_its_cluster_with_it(tmp_path: Path) -> None:
    """Ctrl-C, a crash or SIGKILL of the process that started the sandbox leaves nothing behind."""
    script = textwrap.dedent(
        f"""
        import json, sys, time
        sys.path.insert(0, {str(REPO)!r})
        from sandbox import Sandbox
        from pathlib import Path
        sb = Sandbox(Path({str(tmp_path / "state")!r})).start()
        print(json.dumps([p.pid for p in sb._procs.values()]), flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    pids = json.loads(child.stdout.readline())
    assert all(_pid_alive(pid) for pid in pids)
    child.send_signal(signal.SIGKILL)
    child.wait()
    deadline = time.monotonic() + 15
    while any(_pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_pid_alive(pid) for pid in pids)


def test_the_command_line_starts_reports_and_stops_a_detached_sandbox(tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sandbox", "--dir", str(tmp_path / "sb"), *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )

    try:
        up = cli("up")
        assert up.returncode == 0, up.stderr
        status = cli("status")
        assert status.returncode == 0 and "running at https://127.0.0.1:" in status.stdout
        env = cli("env").stdout
        kubeconfig = env.splitlines()[0].removeprefix("export KUBECONFIG=")
        assert Path(kubeconfig).exists()
        state = json.loads((tmp_path / "sb" / "state.json").read_text())
    finally:
        down = cli("down")
    assert down.returncode == 0 and "stopped" in down.stdout
    assert not any(_pid_alive(state[k]) for k in ("etcd_pid", "apiserver_pid"))
    assert cli("status").returncode == 3


@pytest.mark.parametrize("bundle", ["2.2", "2021", "2.3", "3.0"])
def test_every_crd_of_a_bundle_is_established(bundle: str, request: pytest.FixtureRequest) -> None:
    sb: Sandbox = request.getfixturevalue(SANDBOX_OF_BUNDLE[bundle])
    status, body = sb.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    assert status == 200
    established = {
        item["metadata"]["name"]: any(
            c["type"] == "Established" and c["status"] == "True" for c in item["status"]["conditions"]
        )
        for item in body["items"]
    }
    assert established and all(established.values())
