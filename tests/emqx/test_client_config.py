"""Building a clientset: kubeconfig path and context resolved as kubectl does, in-cluster,
explicit configuration; one reused connection per clientset."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml
from kubernetes.client import Configuration

from emqx.client import Clientset
from emqx.errors import ClusterUnreachable, ConfigurationError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _two_context_kubeconfig(sandbox, tmp_path: Path, *, current: str) -> Path:
    """The sandbox's kubeconfig plus a 'dead' context whose server is a closed port."""
    config = yaml.safe_load(Path(sandbox.kubeconfig).read_text())
    live_cluster = config["contexts"][0]["context"]["cluster"]
    dead = dict(config["clusters"][0]["cluster"], server=f"https://127.0.0.1:{_closed_port()}")
    config["clusters"].append({"name": "dead", "cluster": dead})
    user = config["contexts"][0]["context"]["user"]
    config["contexts"] = [
        {"name": "live", "context": {"cluster": live_cluster, "user": user}},
        {"name": "dead", "context": {"cluster": "dead", "user": user}},
    ]
    config["current-context"] = current
    path = tmp_path / "two-contexts"
    path.write_text(yaml.safe_dump(config))
    return path


def test_an_explicit_path_uses_its_current_context(sandbox, tmp_path: Path) -> None:
    path = _two_context_kubeconfig(sandbox, tmp_path, current="live")
    with Clientset.from_kubeconfig(path) as cs:
        assert cs.server == sandbox.server
        cs.apps_v2beta1.emqxes("default").list()


def test_a_named_context_overrides_the_current_one(sandbox, tmp_path: Path) -> None:
    path = _two_context_kubeconfig(sandbox, tmp_path, current="dead")
    with Clientset.from_kubeconfig(path, context="live") as cs:
        cs.apps_v2beta1.emqxes("default").list()
    with Clientset.from_kubeconfig(path) as cs, pytest.raises(ClusterUnreachable):
        cs.apps_v2beta1.emqxes("default").list()


def test_without_a_path_kubeconfig_env_is_used(sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(sandbox.kubeconfig))
    with Clientset.from_kubeconfig() as cs:
        assert cs.server == sandbox.server


def test_kubeconfig_env_may_list_several_files(sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "not-there"
    monkeypatch.setenv("KUBECONFIG", f"{missing}:{sandbox.kubeconfig}")
    with Clientset.from_kubeconfig() as cs:
        assert cs.server == sandbox.server


def test_without_kubeconfig_env_the_home_kube_config_is_used(
    sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text(Path(sandbox.kubeconfig).read_text())
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with Clientset.from_kubeconfig() as cs:
        assert cs.server == sandbox.server


def test_a_missing_kubeconfig_is_a_configuration_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ConfigurationError, match="no kubeconfig found"):
        Clientset.from_kubeconfig()
    with pytest.raises(ConfigurationError, match="no kubeconfig found at /nowhere/config"):
        Clientset.from_kubeconfig("/nowhere/config")


def test_an_unknown_context_is_a_configuration_error(sandbox) -> None:
    with pytest.raises(ConfigurationError, match="context 'nope'"):
        Clientset.from_kubeconfig(sandbox.kubeconfig, context="nope")


def test_a_kubeconfig_that_is_not_yaml_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage"
    path.write_text("{ this is : [ not yaml")
    with pytest.raises(ConfigurationError, match="cannot use kubeconfig"):
        Clientset.from_kubeconfig(path)


def test_in_cluster_outside_a_pod_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ConfigurationError, match="not running in a cluster"):
        Clientset.in_cluster()


def test_from_environment_uses_the_kubeconfig_outside_a_pod(sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with Clientset.from_environment(kubeconfig=sandbox.kubeconfig) as cs:
        assert cs.server == sandbox.server


def test_an_explicit_configuration_with_a_token_works(sandbox) -> None:
    configuration = Configuration(host=sandbox.server, api_key={"BearerToken": sandbox.admin_token})
    configuration.api_key_prefix = {"BearerToken": "Bearer"}
    configuration.ssl_ca_cert = str(sandbox.ca_file)
    with Clientset.from_configuration(configuration) as cs:
        assert cs.apps_v2beta1.emqxes("default").list().kind == "EMQXList"


def test_a_configuration_without_a_host_is_refused() -> None:
    configuration = Configuration()
    configuration.host = ""
    with pytest.raises(ConfigurationError, match="no API server address"):
        Clientset.from_configuration(configuration)


def test_one_clientset_reuses_one_connection_for_every_request(sandbox, namespace: str) -> None:
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        for _ in range(10):
            cs.apps_v2beta1.emqxes(namespace).list()
            cs.apps_v1beta4.emqx_brokers(namespace).list()
        cs.discovery.refresh()
        assert cs.transport.connections_opened == 1


def _exec_kubeconfig(sandbox, tmp_path: Path, script: str) -> Path:
    plugin = tmp_path / "credential-plugin"
    plugin.write_text(script)
    plugin.chmod(0o755)
    config = yaml.safe_load(Path(sandbox.kubeconfig).read_text())
    config["users"] = [
        {
            "name": "exec-user",
            "user": {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": str(plugin),
                    "interactiveMode": "Never",
                }
            },
        }
    ]
    for context in config["contexts"]:
        context["context"]["user"] = "exec-user"
    path = tmp_path / "exec-kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def test_an_exec_credential_plugin_is_run_for_the_token(sandbox, tmp_path: Path) -> None:
    credential = (
        '{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", '
        f'"status": {{"token": "{sandbox.admin_token}"}}}}'
    )
    path = _exec_kubeconfig(sandbox, tmp_path, f"#!/bin/sh\necho '{credential}'\n")
    with Clientset.from_kubeconfig(path) as cs:
        assert cs.apps_v2beta1.emqxes("default").list().kind == "EMQXList"


def test_a_failing_exec_credential_plugin_is_a_configuration_error(sandbox, tmp_path: Path) -> None:
    path = _exec_kubeconfig(sandbox, tmp_path, "#!/bin/sh\necho 'no credentials for you' >&2\nexit 1\n")
    with pytest.raises(ConfigurationError, match=r"its credential plugin failed: .*no credentials for you"):
        Clientset.from_kubeconfig(path)
