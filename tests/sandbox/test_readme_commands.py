"""What the README says of the sandbox's command line and its binary cache: ``sandbox run`` gives one
command a throwaway cluster, ``sandbox up --crds 2021`` starts a cluster of operator 1.0's CRDs, and
the binaries are cached in ``~/.cache/emqx-console/sandbox-bin/<hash>/``, keyed by go.mod, go.sum,
the link flags and the Go version."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import build

REPO = Path(__file__).resolve().parents[2]


def _sandbox(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )


def test_sandbox_run_gives_one_command_a_cluster_and_removes_it_after() -> None:
    script = 'echo "$KUBECONFIG"; kubectl get crd -o name; exit 7'
    ran = _sandbox("run", "--", "sh", "-c", script)
    assert ran.returncode == 7, ran.stderr  # the command's own exit status
    kubeconfig, *crds = ran.stdout.split()
    assert "customresourcedefinition.apiextensions.k8s.io/emqxes.apps.emqx.io" in crds  # the default bundle, 2.3
    assert not Path(kubeconfig).exists()  # the throwaway cluster is gone with its folder


def test_sandbox_up_crds_2021_serves_operator_1_0s_brokers(tmp_path: Path) -> None:
    state = str(tmp_path / "sb")
    try:
        up = _sandbox("--dir", state, "up", "--crds", "2021")
        assert up.returncode == 0, up.stderr
        kubeconfig = _sandbox("--dir", state, "env").stdout.splitlines()[0].removeprefix("export KUBECONFIG=")
        kubectl = [str(build.bin_dir() / "kubectl"), "--kubeconfig", kubeconfig]
        resources = subprocess.run(
            [*kubectl, "api-resources", "--api-group=apps.emqx.io", "-o", "name"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sorted(resources.stdout.split()) == ["emqxbrokers.apps.emqx.io", "emqxenterprises.apps.emqx.io"]
        versions = subprocess.run([*kubectl, "api-versions"], capture_output=True, text=True, timeout=60)
        assert [v for v in versions.stdout.split() if v.startswith("apps.emqx.io/")] == ["apps.emqx.io/v1beta1"]
    finally:
        down = _sandbox("--dir", state, "down")
    assert down.returncode == 0, down.stderr


@pytest.fixture
def cache_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME in a folder of the test's own, no cache override, and a copy of the Go module to change."""
    monkeypatch.delenv("EMQX_SANDBOX_BIN", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    module = tmp_path / "go"
    module.mkdir()
    for name in ("go.mod", "go.sum"):
        shutil.copy(build.GO_MODULE / name, module / name)
    monkeypatch.setattr(build, "GO_MODULE", module)
    return module


def test_the_binaries_are_cached_by_go_mod_go_sum_link_flags_and_go_version(
    cache_inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build.bin_dir()
    assert first.parent == tmp_path / ".cache" / "emqx-console" / "sandbox-bin"
    assert re.fullmatch(r"[0-9a-f]{16}", first.name)
    assert build.bin_dir() == first  # the same inputs (a fresh clone of the same commit): the same folder

    keys = {first}
    for name in ("go.mod", "go.sum"):  # a version bump changes these
        original = (cache_inputs / name).read_text()
        (cache_inputs / name).write_text(original + "\n")
        keys.add(build.bin_dir())
        (cache_inputs / name).write_text(original)
    assert build.bin_dir() == first

    package, flags = build.TARGETS["kube-apiserver"]
    with monkeypatch.context() as patched:
        patched.setitem(build.TARGETS, "kube-apiserver", (package, flags + " -X k8s.io/x.y=z"))
        keys.add(build.bin_dir())

    fake = tmp_path / "bin"  # another Go toolchain first on PATH: it answers `go env GOVERSION`
    fake.mkdir()
    (fake / "go").write_text('#!/bin/sh\n[ "$1 $2" = "env GOVERSION" ] && echo go1.0.0-other\n')
    (fake / "go").chmod(0o755)
    with monkeypatch.context() as patched:
        patched.setenv("PATH", f"{fake}:{os.environ['PATH']}")
        keys.add(build.bin_dir())

    assert len(keys) == 5, "each of go.mod, go.sum, the link flags and the Go version changes the folder"
