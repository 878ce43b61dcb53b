"""EMQX instances for benchmarks: created in batches on the sandbox, with the status the operator writes.

Each instance is the operator's full v2beta1 example (3 core and 3 replicant nodes, config, service
templates: see bench/models_parse.py), in one of ten namespaces. Right after the create, its status
is written through the status subresource (PUT .../status, what the operator's Status().Update()
and our update_status do): True conditions newest first, coreNodes/replicantNodes with their
counts. Most instances are Ready; one in ten is Available (a replicant still starting) and one in
ten CoreNodesProgressing, so the list shows every state and some instances are still polled.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import urllib3

from bench.models_parse import full_emqx
from sandbox import Sandbox

GROUP_VERSION = "apps.emqx.io/v2beta1"
NAMESPACES = [f"bench-{n:02d}" for n in range(10)]
VERSIONS = ["5.8.6", "5.8.5", "5.7.2"]
WRITE_THREADS = 8


def name_of(index: int) -> str:
    return f"emqx-{index:04d}"


def namespace_of(index: int) -> str:
    return NAMESPACES[index % len(NAMESPACES)]


def state_of(index: int) -> str:
    return {7: "Available", 9: "CoreNodesProgressing"}.get(index % 10, "Ready")


def emqx_document(index: int) -> dict[str, Any]:
    """What a user applies: the operator's full example, named, labelled and versioned."""
    example = full_emqx(index)
    spec = copy.deepcopy(example["spec"])
    spec["image"] = f"emqx/emqx-enterprise:{VERSIONS[index % len(VERSIONS)]}"
    spec["coreTemplate"]["spec"]["replicas"] = 3
    labels = {**example["metadata"]["labels"], "tier": ("gold", "silver", "bronze")[index % 3]}
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "EMQX",
        "metadata": {"name": name_of(index), "namespace": namespace_of(index), "labels": labels},
        "spec": spec,
    }


def status_document(index: int, generation: int, state: str, *, message: str = "") -> dict[str, Any]:
    """The operator's status for ``state``: True conditions only, newest first, with node lists."""
    example = full_emqx(index)["status"]
    order = [
        "Ready",
        "Available",
        "ReplicantNodesReady",
        "ReplicantNodesProgressing",
        "CoreNodesReady",
        "CoreNodesProgressing",
        "Initialized",
    ]
    conditions = [dict(c, observedGeneration=generation) for c in example["conditions"]]
    conditions = conditions[order.index(state) :]
    if message:
        conditions[0]["message"] = message
    name, namespace = name_of(index), namespace_of(index)
    core_nodes = [
        dict(node, node=f"emqx@{name}-core-{n}.{name}-headless.{namespace}.svc.cluster.local")
        for n, node in enumerate(example["coreNodes"])
    ]
    replicant_nodes = copy.deepcopy(example["replicantNodes"])
    core_ready, replicants_ready = 3, 3
    if state == "Available":
        replicants_ready = 2
        replicant_nodes[2]["node_status"] = "starting"
    elif state == "CoreNodesProgressing":
        core_ready, replicant_nodes = 1, []
        core_nodes = core_nodes[:1]
    status: dict[str, Any] = {
        "conditions": conditions,
        "coreNodes": core_nodes,
        "coreNodesStatus": {**example["coreNodesStatus"], "readyReplicas": core_ready},
    }
    if replicant_nodes:
        status["replicantNodes"] = replicant_nodes
        status["replicantNodesStatus"] = {**example["replicantNodesStatus"], "readyReplicas": replicants_ready}
    return status


class Api:
    """Plain HTTP to the sandbox as its admin (keep-alive pool, the sandbox's CA): for arranging
    state and for the raw LIST the console is compared with, never through the console's client."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.server = sandbox.server
        self._http = urllib3.PoolManager(
            maxsize=WRITE_THREADS * 2, cert_reqs="CERT_REQUIRED", ca_certs=str(sandbox.ca_file), retries=False
        )
        self._headers = {"Authorization": f"Bearer {sandbox.admin_token}", "Accept": "application/json"}

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        response = self._http.request(method, self.server + path, body=data, headers=headers, timeout=30.0)
        return response.status, response.data

    def json(self, method: str, path: str, body: Any = None, *, ok: Iterable[int] = (200, 201)) -> Any:
        status, data = self.request(method, path, body)
        if status not in tuple(ok):
            raise RuntimeError(f"{method} {path} answered {status}: {data[:500]!r}")
        return json.loads(data)

    def list_emqx(self) -> Any:
        """The raw LIST of every EMQX in every namespace, decoded: what the console is compared with."""
        return self.json("GET", f"/apis/{GROUP_VERSION}/emqxes")

    def write_status(self, obj: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        """PUT .../status: the object as last read, with a new status (optimistic concurrency)."""
        meta = obj["metadata"]
        path = f"/apis/{GROUP_VERSION}/namespaces/{meta['namespace']}/emqxes/{meta['name']}/status"
        result: dict[str, Any] = self.json("PUT", path, {**obj, "status": status})
        return result

    def create_instance(self, index: int) -> dict[str, Any]:
        document = emqx_document(index)
        created = self.json("POST", f"/apis/{GROUP_VERSION}/namespaces/{namespace_of(index)}/emqxes", document)
        return self.write_status(created, status_document(index, created["metadata"]["generation"], state_of(index)))

    def get_instance(self, index: int) -> dict[str, Any]:
        result: dict[str, Any] = self.json(
            "GET", f"/apis/{GROUP_VERSION}/namespaces/{namespace_of(index)}/emqxes/{name_of(index)}"
        )
        return result

    def close(self) -> None:
        self._http.clear()


def create_instances(sandbox: Sandbox, api: Api, indexes: range, progress: Callable[[int], None] | None = None) -> None:
    """Create (and give a status to) the instances ``indexes``, WRITE_THREADS at a time."""
    for namespace in NAMESPACES:
        sandbox.create_namespace(namespace)
    done = 0
    lock = threading.Lock()

    def one(index: int) -> None:
        nonlocal done
        api.create_instance(index)
        with lock:
            done += 1
            if progress is not None and done % 250 == 0:
                progress(done)

    with ThreadPoolExecutor(WRITE_THREADS) as pool:
        for _ in pool.map(one, indexes):
            pass
