"""`python -m emqx.demo` runs against a real cluster, today's and a 2021 one, printing each step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emqx.demo", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_the_demo_creates_gets_lists_and_deletes_a_broker_then_an_emqx(sandbox, namespace: str, kubectl) -> None:
    result = _demo("--kubeconfig", str(sandbox.kubeconfig), "--namespace", namespace)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "EmqxBroker: using apps.emqx.io/v1beta4" in out
    assert "EMQX: using apps.emqx.io/v2beta1" in out
    for step in ("created", "got", "listed", "deleted"):
        assert out.count(f"  {step} ") == 2, out
    assert out.rstrip().endswith("done")
    # and it cleaned up after itself
    for resource in ("emqxbrokers.apps.emqx.io", "emqxes.apps.emqx.io"):
        assert kubectl("get", resource, "-n", namespace, "-o", "name").stdout.strip() == ""


def test_the_demo_uses_v1beta1_brokers_on_a_2021_cluster_and_skips_emqx(sandbox_2021) -> None:
    sandbox_2021.create_namespace("demo-2021")
    result = _demo("--kubeconfig", str(sandbox_2021.kubeconfig), "--namespace", "demo-2021")
    assert result.returncode == 0, result.stderr
    assert "EmqxBroker: using apps.emqx.io/v1beta1" in result.stdout
    assert "EMQX: the cluster serves no version; nothing this client supports, skipped" in result.stdout
    assert "  deleted EmqxBroker demo-2021/demo-emqxbroker-" in result.stdout


def test_the_demo_takes_the_namespace_of_the_context(sandbox, namespace: str, tmp_path: Path) -> None:
    import yaml

    config = yaml.safe_load(Path(sandbox.kubeconfig).read_text())
    config["contexts"][0]["context"]["namespace"] = namespace
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    result = _demo("--kubeconfig", str(path), "--context", config["contexts"][0]["name"])
    assert result.returncode == 0, result.stderr
    assert f"created EmqxBroker {namespace}/demo-emqxbroker-" in result.stdout


def test_the_demo_without_a_kubeconfig_says_so_and_exits_2(tmp_path: Path) -> None:
    result = _demo("--kubeconfig", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "no kubeconfig found" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_demo_as_a_user_without_rights_reports_forbidden_and_exits_1(sandbox, namespace: str) -> None:
    result = _demo("--kubeconfig", str(sandbox.user_kubeconfig("demo-nobody")), "--namespace", namespace)
    assert result.returncode == 1
    assert "Forbidden" in result.stderr
    assert "Traceback" not in result.stderr
