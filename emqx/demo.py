"""The seed's demo, on the typed client: create, get, list and delete an EmqxBroker (in
whichever version the cluster serves), then the same for an EMQX, printing each step.

    python -m emqx.demo [--kubeconfig PATH] [--context C] [--namespace NS]

Exit status: 0 when every step worked (a kind the cluster does not serve is skipped and
said so), 1 when the API refused a step, 2 when no cluster configuration could be used.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from kubernetes.config.kube_config import list_kube_config_contexts

from emqx.client import SUPPORTED_VERSIONS, Clientset, ResourceClient, default_kubeconfig_path
from emqx.errors import ConfigurationError, EmqxClientError, NotFound
from emqx.models._base import Resource

# The document the demo creates, per kind and version: only what the schema requires and a
# replica count, so the operator (if one runs) would start a small cluster.
_SPECS: dict[tuple[str, str], dict[str, Any]] = {
    ("EmqxBroker", "v1beta4"): {
        "replicas": 1,
        "template": {"spec": {"emqxContainer": {"image": {"repository": "emqx/emqx", "version": "4.4.19"}}}},
    },
    ("EmqxBroker", "v1beta1"): {"image": "emqx/emqx:4.3.10", "replicas": 3},  # the 2021 schema's minimum
    ("EMQX", "v2beta1"): {"image": "emqx/emqx:5.8.6", "coreTemplate": {"spec": {"replicas": 1}}},
    ("EMQX", "v2alpha1"): {"image": "emqx/emqx:5.1.0", "coreTemplate": {"spec": {"replicas": 1}}},
}


def _context_namespace(kubeconfig: str | None, context: str | None) -> str:
    """The namespace of the kubeconfig context in use, as kubectl picks it ("default")."""
    try:
        path = kubeconfig or default_kubeconfig_path()
        contexts, current = list_kube_config_contexts(path)  # type: ignore[no-untyped-call]
    except Exception:  # an unreadable kubeconfig is reported by Clientset, with its reason
        return "default"
    wanted = context or (current or {}).get("name")
    for entry in contexts or ():
        if entry.get("name") == wanted:
            return str((entry.get("context") or {}).get("namespace") or "default")
    return "default"


def _demo_kind(cs: Clientset, kind: str, namespace: str, say: Callable[[str], None]) -> None:
    version = cs.discovery.best_version(kind, SUPPORTED_VERSIONS[kind])
    if version is None:
        served = ", ".join(cs.discovery.kind(kind).versions) or "no version"
        say(f"{kind}: the cluster serves {served}; nothing this client supports, skipped")
        return
    client: ResourceClient[Resource] = cs.for_kind(kind, namespace, version=version)
    say(f"{kind}: using {client.api_version} (served: {', '.join(cs.discovery.kind(kind).versions)})")

    document = {"metadata": {"generateName": f"demo-{kind.lower()}-"}, "spec": _SPECS[(kind, version)]}
    created = client.create(document)  # validated into the model, or a typed InvalidArgument
    name = str(created.metadata.name)
    say(
        f"  created {kind} {namespace}/{name} (uid {created.metadata.uid}, resourceVersion "
        f"{created.metadata.resource_version})"
    )

    got = client.get(name)
    say(
        f"  got     {kind} {namespace}/{name}: generation {got.metadata.generation}, "
        f"created {got.metadata.creation_timestamp}"
    )

    listed = client.list()
    names = [str(item.metadata.name) for item in listed.items]
    say(f"  listed  {len(names)} {kind} in {namespace}: {', '.join(names)}")

    client.delete(name)
    try:
        client.get(name)
    except NotFound:
        say(f"  deleted {kind} {namespace}/{name} (a get now answers 404 NotFound)")
    else:
        say(f"  deleted {kind} {namespace}/{name} (finalizers keep it while they run)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m emqx.demo", description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context (default: its current-context)")
    parser.add_argument("--namespace", "-n", help="namespace (default: the context's, else 'default')")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        cs = Clientset.from_kubeconfig(args.kubeconfig, context=args.context)
    except ConfigurationError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 2
    namespace = args.namespace or _context_namespace(args.kubeconfig, args.context)
    with cs:
        try:
            say(f"connected to {cs.server}; apps.emqx.io serves {', '.join(cs.discovery.versions) or 'nothing'}")
            for kind in ("EmqxBroker", "EMQX"):
                _demo_kind(cs, kind, namespace, say)
        except EmqxClientError as error:
            print(f"demo: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
