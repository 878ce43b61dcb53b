"""Build kube-apiserver, etcd and kubectl from the Go module proxy, once per pinned version.

The binaries land in a cache folder keyed by a hash of everything that decides their
content (go.mod, go.sum, the ldflags, the Go version), outside the work tree, so a fresh
clone on the same machine reuses them and a version bump rebuilds them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

GO_MODULE = Path(__file__).resolve().parent / "go"

# Keep in step with sandbox/go/go.mod.
KUBE_VERSION = "v1.37.2"
ETCD_VERSION = "v3.7.0"

_KUBE_MAJOR, _KUBE_MINOR = KUBE_VERSION.lstrip("v").split(".")[:2]
_KUBE_LDFLAGS = " ".join(
    [
        "-s -w",
        f"-X k8s.io/component-base/version.gitVersion={KUBE_VERSION}",
        f"-X k8s.io/component-base/version.gitMajor={_KUBE_MAJOR}",
        f"-X k8s.io/component-base/version.gitMinor={_KUBE_MINOR}",
        "-X k8s.io/component-base/version.gitTreeState=clean",
        "-X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z",
        # kubectl reports its client version through the same variables.
        f"-X k8s.io/client-go/pkg/version.gitVersion={KUBE_VERSION}",
        f"-X k8s.io/client-go/pkg/version.gitMajor={_KUBE_MAJOR}",
        f"-X k8s.io/client-go/pkg/version.gitMinor={_KUBE_MINOR}",
    ]
)

# binary name -> (Go package, ldflags)
TARGETS: dict[str, tuple[str, str]] = {
    "kube-apiserver": ("k8s.io/kubernetes/cmd/kube-apiserver", _KUBE_LDFLAGS),
    "kubectl": ("k8s.io/kubernetes/cmd/kubectl", _KUBE_LDFLAGS),
    "etcd": (
        "go.etcd.io/etcd/server/v3",
        f"-s -w -X go.etcd.io/etcd/api/v3/version.Version={ETCD_VERSION.lstrip('v')}",
    ),
}


# helm, for the chart's tests (deploy/chart/): a Go module of its own (sandbox/helm/), so its
# dependencies neither lift the kube-apiserver build's nor change that build's cache key. Keep in
# step with sandbox/helm/go.mod. Its lint and template default to the Kubernetes version of the
# client-go it is built with (v0.37.0: 1.37), as helm's own Makefile stamps it.
HELM_MODULE = Path(__file__).resolve().parent / "helm"
HELM_VERSION = "v3.22.0"
HELM_PACKAGE = "helm.sh/helm/v3/cmd/helm"
HELM_LDFLAGS = " ".join(
    [
        "-s -w",
        f"-X helm.sh/helm/v3/internal/version.version={HELM_VERSION}",
        "-X helm.sh/helm/v3/internal/version.gitTreeState=clean",
        "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1",
        "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37",
        "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1",
        "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37",
    ]
)


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise SystemExit("sandbox: the Go toolchain is needed to build kube-apiserver and etcd (`go` not on PATH)")
    return go


def _stamp() -> str:
    """A hash of every input that decides the binaries' bytes."""
    h = hashlib.sha256()
    for name in ("go.mod", "go.sum"):
        h.update((GO_MODULE / name).read_bytes())
    for name, (pkg, flags) in sorted(TARGETS.items()):
        h.update(f"{name} {pkg} {flags}\n".encode())
    h.update(subprocess.run([_go(), "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.encode())
    return h.hexdigest()[:16]


def bin_dir() -> Path:
    """Where the binaries for the pinned versions live (built or not)."""
    override = os.environ.get("EMQX_SANDBOX_BIN")
    if override:
        return Path(override)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "emqx-console" / "sandbox-bin" / _stamp()


def binaries() -> dict[str, Path]:
    d = bin_dir()
    return {name: d / name for name in TARGETS}


def ensure_binaries(*, quiet: bool = False) -> dict[str, Path]:
    """Build whatever binary is missing for the pinned versions; return name -> path."""
    paths = binaries()
    missing = [name for name, p in paths.items() if not p.exists()]
    if not missing:
        return paths
    out = bin_dir()
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false -trimpath"}
    for name in missing:
        pkg, flags = TARGETS[name]
        if not quiet:
            print(
                f"sandbox: building {name} from {pkg} (first time only; several minutes)", file=sys.stderr, flush=True
            )
        started = time.monotonic()
        tmp = out / f".{name}.tmp"
        subprocess.run(
            [_go(), "build", "-ldflags", flags, "-o", str(tmp), pkg],
            cwd=GO_MODULE,
            env=env,
            check=True,
        )
        tmp.rename(paths[name])  # atomic: a half-written binary is never taken for a built one
        if not quiet:
            size = paths[name].stat().st_size / 2**20
            print(
                f"sandbox: built {name} in {time.monotonic() - started:.0f} s ({size:.0f} MiB)",
                file=sys.stderr,
                flush=True,
            )
    return paths


def _helm_stamp() -> str:
    """A hash of every input that decides helm's bytes (its own module, flags and Go version)."""
    h = hashlib.sha256()
    for name in ("go.mod", "go.sum"):
        h.update((HELM_MODULE / name).read_bytes())
    h.update(f"helm {HELM_PACKAGE} {HELM_LDFLAGS}\n".encode())
    h.update(subprocess.run([_go(), "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.encode())
    return h.hexdigest()[:16]


def helm_binary() -> Path:
    """Where helm for the pinned version lives (built or not): beside the sandbox's binaries,
    ``sandbox-bin/helm-<hash>/helm`` (EMQX_SANDBOX_HELM overrides it)."""
    override = os.environ.get("EMQX_SANDBOX_HELM")
    if override:
        return Path(override)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "emqx-console" / "sandbox-bin" / f"helm-{_helm_stamp()}" / "helm"


def ensure_helm(*, quiet: bool = False) -> Path:
    """Build helm from the Go module proxy unless the pinned one is cached; return its path.
    About 3 minutes of compiling on 2 cores, once. Raises subprocess.CalledProcessError when
    the build fails and SystemExit when Go is missing."""
    path = helm_binary()
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    if not quiet:
        print(f"sandbox: building helm {HELM_VERSION} (first time only; minutes)", file=sys.stderr, flush=True)
    started = time.monotonic()
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false -trimpath"}
    tmp = path.parent / ".helm.tmp"
    subprocess.run(
        [_go(), "build", "-ldflags", HELM_LDFLAGS, "-o", str(tmp), HELM_PACKAGE], cwd=HELM_MODULE, env=env, check=True
    )
    tmp.rename(path)  # atomic: a half-written binary is never taken for a built one
    if not quiet:
        size = path.stat().st_size / 2**20
        took = time.monotonic() - started
        print(f"sandbox: built helm in {took:.0f} s ({size:.0f} MiB)", file=sys.stderr, flush=True)
    return path
