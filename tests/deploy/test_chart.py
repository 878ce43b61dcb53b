"""The Helm chart as helm renders it: clean for every value set, refused when a value has the wrong
type, and holding what the README promises (security context, probes, RBAC, the migration hook, the
secret key, the clusters). Rendering only; tests/deploy/test_chart_install.py installs it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import CHART, ROOT, VALUE_SETS, Helm, kinds, only, render, secret_data, value_args

RELEASE = "console-emqx-console"


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_lint_and_template_are_clean(helm: Helm, value_set: str) -> None:
    linted = helm("lint", "--strict", str(CHART), *value_args(value_set))
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "[WARNING]" not in linted.stdout and "[ERROR]" not in linted.stdout, linted.stdout
    templated = helm("template", "console", str(CHART), *value_args(value_set))
    assert templated.returncode == 0 and templated.stderr == "", templated.stderr


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"replicaCount": "two"}, "at '/replicaCount': got string, want integer"),
        ({"impersonation": {"enabled": "yes"}}, "at '/impersonation/enabled': got string, want boolean"),
        ({"clusters": {"kubeconfigs": [{"name": "prod"}]}}, "missing property 'secretName'"),
        ({"clusters": {"kubeconfigs": [{"name": "prod eu", "secretName": "k"}]}}, "'prod eu' does not match pattern"),
        ({"impersonation": {"groupPrefix": "system:"}}, "at '/impersonation/groupPrefix': 'not' failed"),
        ({"logFormat": "xml"}, "at '/logFormat'"),
        ({"replicas": 3}, "additional properties 'replicas' not allowed"),
        ({"database": {"existingSecret": ""}}, "at '/database/existingSecret': minLength: got 0, want 1"),
    ],
    ids=[
        "count-as-text",
        "flag-as-text",
        "kubeconfig-without-secret",
        "cluster-name-not-a-slug",
        "system-prefix",
        "unknown-log-format",
        "misspelt-key",
        "no-database",
    ],
)
def test_a_wrong_value_is_refused_at_install(helm: Helm, tmp_path: Any, values: dict[str, Any], complaint: str) -> None:
    bad = tmp_path / "values.yaml"
    bad.write_text(yaml.safe_dump(values))
    refused = helm("template", "console", str(CHART), "-f", str(bad))  # install checks with the same code
    assert refused.returncode != 0
    assert "values don't meet the specifications of the schema" in refused.stderr, refused.stderr
    assert complaint in refused.stderr, refused.stderr


POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_every_pod_runs_unprivileged_on_a_read_only_root_with_only_tmp_writable(helm: Helm, kind: str) -> None:
    pod = only(render(helm), kind)["spec"]["template"]["spec"]
    assert pod["securityContext"] == POD_SECURITY
    (container,) = pod["containers"]
    assert container["securityContext"] == CONTAINER_SECURITY
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/tmp"}
    assert next(v for v in pod["volumes"] if v["name"] == "tmp") == {
        "name": "tmp",
        # The Deployment's holds the workers' shared watch cache (console/sharedcache.py).
        "emptyDir": {"sizeLimit": "512Mi" if kind == "Deployment" else "16Mi"},
    }
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]


def test_the_pods_are_probed_on_healthz_and_readyz(helm: Helm) -> None:
    (container,) = only(render(helm), "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    # The kubelet asks by the pod's address: Django must answer for it (DJANGO_ALLOWED_HOSTS).
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert env["DJANGO_ALLOWED_HOSTS"]["value"].split(",")[-1] == "$(POD_IP)"
    assert [e["name"] for e in container["env"]].index("POD_IP") == 0  # defined before it is used


READ = {"apiGroups": ["apps.emqx.io"], "resources": ["*"], "verbs": ["get", "list", "watch"]}
READ_WRITE = {
    "apiGroups": ["apps.emqx.io"],
    "resources": ["*"],
    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
}
EVENTS = {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list"]}
NAMESPACES = {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}
CRDS = {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["get", "list"]}


@pytest.mark.parametrize(
    ("value_set", "sets", "rules"),
    [
        ("default", {}, [READ_WRITE, EVENTS, NAMESPACES, CRDS]),
        ("default", {"rbac__readCRDs": False}, [READ_WRITE, EVENTS, NAMESPACES]),
        (
            "default",
            {"impersonation__enabled": True},
            [
                READ,
                EVENTS,
                NAMESPACES,
                CRDS,
                {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]},
                {"apiGroups": [""], "resources": ["groups"], "verbs": ["impersonate"]},
            ],
        ),
        (
            "in-cluster-impersonation",
            {},
            [
                READ,
                EVENTS,
                NAMESPACES,
                CRDS,
                {
                    "apiGroups": [""],
                    "resources": ["users"],
                    "verbs": ["impersonate"],
                    "resourceNames": ["console:alice", "console:bob"],
                },
                {
                    "apiGroups": [""],
                    "resources": ["groups"],
                    "verbs": ["impersonate"],
                    "resourceNames": ["console:emqx-operators"],
                },
            ],
        ),
    ],
    ids=["writes-as-itself", "without-crds", "impersonating-anyone", "impersonating-listed-names"],
)
def test_the_cluster_role_holds_exactly_the_rules_for_the_mode(
    helm: Helm, value_set: str, sets: dict[str, Any], rules: list[dict[str, Any]]
) -> None:
    manifests = render(helm, value_set, **sets)
    assert only(manifests, "ClusterRole")["rules"] == rules
    binding = only(manifests, "ClusterRoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": RELEASE}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": RELEASE, "namespace": "emqx"}]


def _readme_rules(mode: str) -> list[dict[str, Any]]:
    """The rules the README's "Install on Kubernetes" section lists for ``mode``, from its YAML blocks."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Install on Kubernetes") :]
    block = re.search(rf"```yaml\n# chart ClusterRole: {mode}\n(.*?)```", section, re.S)
    assert block is not None, f"the README lists no ClusterRole for {mode}"
    rules: list[dict[str, Any]] = yaml.safe_load(block[1])["rules"]
    return rules


@pytest.mark.parametrize(
    ("mode", "sets"), [("writing as itself", {}), ("impersonating", {"impersonation__enabled": True})]
)
def test_the_readme_lists_the_rules_the_chart_grants(helm: Helm, mode: str, sets: dict[str, Any]) -> None:
    assert _readme_rules(mode) == only(render(helm, **sets), "ClusterRole")["rules"]


def test_migrations_run_once_per_release_in_a_hook_job_not_in_the_pods(helm: Helm) -> None:
    manifests = render(helm)
    job = only(manifests, "Job")
    assert job["metadata"]["annotations"] == {
        "helm.sh/hook": "pre-install,pre-upgrade",
        "helm.sh/hook-weight": "0",
        "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded",
    }
    pod = job["spec"]["template"]["spec"]
    (migrate,) = pod["containers"]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    # Before the release's objects exist: no ServiceAccount of its own, no token, no release Secret.
    assert pod["automountServiceAccountToken"] is False and "serviceAccountName" not in pod
    refs = [e["valueFrom"]["secretKeyRef"]["name"] for e in migrate["env"] if "valueFrom" in e]
    assert refs == ["emqx-console-database"]
    (console,) = only(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert "command" not in console and "args" not in console  # the image's gunicorn entrypoint
    assert only(manifests, "Deployment")["metadata"].get("annotations") is None  # not a hook


def test_the_secret_key_is_generated_once_and_the_database_url_read_from_the_users_secret(helm: Helm) -> None:
    secret_yaml = (CHART / "templates" / "secret.yaml").read_text()
    assert 'lookup "v1" "Secret" .Release.Namespace $name' in secret_yaml  # kept on upgrade
    manifests = render(helm)
    generated = secret_data(only(manifests, "Secret"))
    assert len(generated["DJANGO_SECRET_KEY"]) == 64 and len(generated["METRICS_TOKEN"]) == 40
    (container,) = only(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in container["env"]
        if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]
    }
    assert refs == {
        "DATABASE_URL": {"name": "emqx-console-database", "key": "DATABASE_URL"},
        "DJANGO_SECRET_KEY": {"name": RELEASE, "key": "DJANGO_SECRET_KEY"},
        "CONSOLE_METRICS_TOKEN": {"name": RELEASE, "key": "METRICS_TOKEN"},
    }
    own = render(helm, secretKey__existingSecret="my-key", metrics__enabled=False)
    assert "Secret" not in kinds(own)
    (container,) = only(own, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert {"name": "my-key", "key": "DJANGO_SECRET_KEY"} in [
        e.get("valueFrom", {}).get("secretKeyRef") for e in container["env"]
    ]


def _env(manifests: list[dict[str, Any]]) -> dict[str, str]:
    (container,) = only(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


def test_kubeconfig_clusters_are_mounted_read_only_and_need_no_cluster_role(helm: Helm) -> None:
    manifests = render(helm, "two-kubeconfigs")
    assert json.loads(_env(manifests)["CONSOLE_CLUSTERS_JSON"]) == [
        {"name": "prod-eu", "kubeconfig": "/etc/emqx-console/kubeconfigs/prod-eu/kubeconfig"},
        {"name": "prod-us", "kubeconfig": "/etc/emqx-console/kubeconfigs/prod-us/config", "context": "prod-us-admin"},
    ]
    pod = only(manifests, "Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["/etc/emqx-console/kubeconfigs/prod-us"]["readOnly"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["kubeconfig-prod-us"]["secret"] == {
        "secretName": "kubeconfig-prod-us",
        "items": [{"key": "config", "path": "config"}],
    }
    assert "ClusterRole" not in kinds(manifests) and "ClusterRoleBinding" not in kinds(manifests)


def test_in_cluster_with_impersonation_sets_the_consoles_prefixes(helm: Helm) -> None:
    env = _env(render(helm, "in-cluster-impersonation"))
    assert json.loads(env["CONSOLE_CLUSTERS_JSON"]) == [{"name": "local", "in_cluster": True}]
    assert (
        env["CONSOLE_IMPERSONATE"],
        env["CONSOLE_IMPERSONATE_USER_PREFIX"],
        env["CONSOLE_IMPERSONATE_GROUP_PREFIX"],
    ) == (
        "true",
        "console:",
        "console:",
    )


def test_an_ingress_with_tls_serves_the_host_the_console_trusts(helm: Helm) -> None:
    manifests = render(helm, "ingress-tls")
    ingress = only(manifests, "Ingress")["spec"]
    assert ingress["tls"] == [{"hosts": ["console.example.com"], "secretName": "console-example-com-tls"}]
    assert ingress["ingressClassName"] == "nginx"
    assert ingress["rules"][0]["host"] == "console.example.com"
    env = _env(manifests)
    assert env["DJANGO_ALLOWED_HOSTS"] == "console.example.com,$(POD_IP)"
    assert env["DJANGO_CSRF_TRUSTED_ORIGINS"] == "https://console.example.com"
    assert env["CONSOLE_TRUSTED_PROXIES"] == "10.0.0.0/8"
    assert only(manifests, "Deployment")["spec"]["replicas"] == 3
    assert "Ingress" not in kinds(render(helm))


def test_the_service_monitor_is_off_by_default_and_scrapes_with_the_token(helm: Helm) -> None:
    assert "ServiceMonitor" not in kinds(render(helm))
    monitor = only(render(helm, "ingress-tls"), "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"] == [
        {
            "port": "http",
            "path": "/metrics",
            "interval": "30s",
            "authorization": {"type": "Bearer", "credentials": {"name": RELEASE, "key": "METRICS_TOKEN"}},
        }
    ]


@pytest.mark.parametrize(("replicas", "budget"), [(1, False), (2, True)])
def test_a_disruption_budget_keeps_one_replica_when_there_are_several(helm: Helm, replicas: int, budget: bool) -> None:
    manifests = render(helm, replicaCount=replicas)
    assert ("PodDisruptionBudget" in kinds(manifests)) is budget
    if budget:
        assert only(manifests, "PodDisruptionBudget")["spec"]["minAvailable"] == 1
