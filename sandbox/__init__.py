"""The local Kubernetes sandbox: kube-apiserver + etcd built from Go modules, on loopback."""

from sandbox.cluster import CRD_BUNDLES, Sandbox, SandboxError, running

__all__ = ["CRD_BUNDLES", "Sandbox", "SandboxError", "running"]
