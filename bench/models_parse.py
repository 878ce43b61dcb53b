"""What it costs to turn a LIST of EMQX objects into models, against decoding the JSON alone.

    .venv/bin/python bench/models_parse.py                      # 1,000 items, 7 repeats
    .venv/bin/python bench/models_parse.py --items 200 --repeats 15
    .venv/bin/python bench/models_parse.py --as-written         # items without the API server's defaults

The document is built in memory: 1,000 copies of a full EMQX v2beta1 (the operator's full example with
server-set metadata, managedFields and a Ready status), each with its own name and uid, in one EMQXList.
By default each item also carries the schema defaults, as the API server returns it (it applies them on
every write and read); `--as-written` leaves them out, so the models fill them in, which costs more.
Each way is timed `--repeats` times after one warm-up run (which also builds pydantic's validators);
the garbage collector runs before each repeat, not during it. The table gives the median, the spread
(min-max) and the ratio of the medians to json.loads.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pydantic

from emqx.models import ResourceList
from emqx.models.apps_v2beta1 import EMQX


def full_emqx(index: int) -> dict[str, Any]:
    """A Ready EMQX as the API server returns it (spec from the operator's emqx.v2beta1.full example)."""
    labels = {"apps.emqx.io/instance": "emqx", "apps.emqx.io/managed-by": "emqx-operator"}
    pod_spec = {
        "command": ["/usr/bin/docker-entrypoint.sh"],
        "args": ["/opt/emqx/bin/emqx", "foreground"],
        "ports": [{"containerPort": 18083, "name": "dashboard", "protocol": "TCP"}],
        "env": [{"name": "Foo", "value": "Bar"}],
        "extraVolumes": [{"name": "fake-volume", "emptyDir": {}}],
        "extraVolumeMounts": [{"name": "fake-volume", "mountPath": "/tmp/fake"}],
    }
    node = {
        "node": f"emqx@emqx-{index}-core-0.emqx-{index}-headless.default.svc.cluster.local",
        "node_status": "running",
        "otp_release": "26.2.1-2/14.2.1",
        "version": "5.6.0",
        "role": "core",
        "edition": "Enterprise",
        "connections": 120,
        "live_connections": 118,
        "controllerUID": "5a0e38e4-7c43-4a59-a1b5-0b8d60a0a5a2",
        "podUID": "b7f5d7e2-0a9e-4c1b-9a57-1c0f4a2f4c11",
    }
    nodes_status = {
        "replicas": 3,
        "readyReplicas": 3,
        "currentRevision": "7d9b8f6c5",
        "currentReplicas": 3,
        "updateRevision": "7d9b8f6c5",
        "updateReplicas": 3,
    }
    conditions = [
        ("Ready", "ClusterReady", "2024-01-01T00:02:13Z"),
        ("Available", "ClusterAvailable", "2024-01-01T00:02:12Z"),
        ("ReplicantNodesReady", "ReplicantNodesReady", "2024-01-01T00:02:10Z"),
        ("ReplicantNodesProgressing", "CreateNewReplicaSet", "2024-01-01T00:01:30Z"),
        ("CoreNodesReady", "CoreNodesReady", "2024-01-01T00:01:29Z"),
        ("CoreNodesProgressing", "CreateNewStatefulSet", "2024-01-01T00:00:02Z"),
        ("Initialized", "Initialized", "2024-01-01T00:00:01Z"),
    ]
    return {
        "apiVersion": "apps.emqx.io/v2beta1",
        "kind": "EMQX",
        "metadata": {
            "name": f"emqx-{index}",
            "namespace": "default",
            "uid": f"0b6c1c55-4fd4-4a4c-9d0e-{index:012d}",
            "resourceVersion": str(48213 + index),
            "generation": 2,
            "creationTimestamp": "2024-01-01T00:00:00Z",
            "labels": labels,
            "managedFields": [
                {
                    "apiVersion": "apps.emqx.io/v2beta1",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {".": {}, "f:image": {}, "f:coreTemplate": {}}},
                    "manager": "kubectl-client-side-apply",
                    "operation": "Update",
                    "time": "2024-01-01T00:00:00Z",
                },
                {
                    "apiVersion": "apps.emqx.io/v2beta1",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:status": {".": {}, "f:conditions": {}, "f:coreNodes": {}}},
                    "manager": "emqx-operator",
                    "operation": "Update",
                    "subresource": "status",
                    "time": "2024-01-01T00:02:13Z",
                },
            ],
        },
        "spec": {
            "image": "emqx/emqx-enterprise:latest",
            "imagePullPolicy": "Always",
            "revisionHistoryLimit": 3,
            "config": {"data": "dashboard.listeners.http.bind = 18083\nsysmon.vm.long_schedule = disabled\n"},
            "coreTemplate": {
                "metadata": {"name": "emqx-core", "labels": {**labels, "apps.emqx.io/db-role": "core"}},
                "spec": {
                    "replicas": 1,
                    "volumeClaimTemplates": {
                        "resources": {"requests": {"storage": "20Mi"}},
                        "accessModes": ["ReadWriteOnce"],
                    },
                    **copy.deepcopy(pod_spec),
                },
            },
            "replicantTemplate": {
                "metadata": {"name": "emqx-replicant", "labels": {**labels, "apps.emqx.io/db-role": "replicant"}},
                "spec": {"replicas": 3, **copy.deepcopy(pod_spec)},
            },
            "dashboardServiceTemplate": {
                "metadata": {"name": "emqx-dashboard", "labels": labels},
                "spec": {
                    "selector": {"apps.emqx.io/db-role": "core"},
                    "ports": [{"name": "dashboard", "protocol": "TCP", "port": 18083, "targetPort": 18083}],
                },
            },
            "listenersServiceTemplate": {
                "metadata": {"name": "emqx-listeners", "labels": labels},
                "spec": {"selector": {"apps.emqx.io/db-role": "replicant"}},
            },
        },
        "status": {
            "conditions": [
                {
                    "type": kind,
                    "status": "True",
                    "reason": reason,
                    "message": f"{kind} since {time}",
                    "lastTransitionTime": time,
                    "observedGeneration": 2,
                }
                for kind, reason, time in conditions
            ],
            "coreNodes": [{**node, "node": node["node"].replace("core-0", f"core-{n}")} for n in range(3)],
            "coreNodesStatus": {**nodes_status, "collisionCount": 0},
            "replicantNodes": [{**node, "node": f"emqx@10.0.{index % 250}.{n}", "role": "replicant"} for n in range(3)],
            "replicantNodesStatus": nodes_status,
        },
    }


def emqx_list(items: int, server_defaults: bool) -> bytes:
    documents = [full_emqx(index) for index in range(items)]
    if server_defaults:
        # What the API server returns: every schema default applied (our models apply the same ones).
        documents = [
            EMQX.model_validate(d).model_dump(mode="json", by_alias=True, exclude_none=True) for d in documents
        ]
    document = {
        "apiVersion": "apps.emqx.io/v2beta1",
        "kind": "EMQXList",
        "metadata": {"resourceVersion": "99999"},
        "items": documents,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def measure(function: Callable[[], object], repeats: int) -> list[float]:
    function()  # warm-up: builds pydantic's deferred validators, fills caches
    seconds = []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--as-written", action="store_true", help="leave the schema defaults out of the items")
    args = parser.parse_args()

    body = emqx_list(args.items, server_defaults=not args.as_written)
    emqx_list_model = ResourceList[EMQX]
    parsed = emqx_list_model.model_validate_json(body)
    assert parsed.to_dict() == json.loads(body), "the LIST must round-trip"

    def per_item() -> list[EMQX]:
        return [EMQX.model_validate(item) for item in json.loads(body)["items"]]

    ways: list[tuple[str, Callable[[], object]]] = [
        ("json.loads(bytes)", lambda: json.loads(body)),
        ("json.loads + ResourceList[EMQX].model_validate", lambda: emqx_list_model.model_validate(json.loads(body))),
        ("json.loads + EMQX.model_validate per item", per_item),
        ("ResourceList[EMQX].model_validate_json(bytes)", lambda: emqx_list_model.model_validate_json(body)),
        ("(to_dict() of every parsed item, for reference)", lambda: [item.to_dict() for item in parsed.items]),
    ]
    print(
        f"{args.items} EMQX v2beta1 items with status"
        f"{' as written' if args.as_written else ', schema defaults applied'}, {len(body) / 2**20:.2f} MiB of JSON; "
        f"{args.repeats} repeats; Python {platform.python_version()}, pydantic {pydantic.VERSION}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"{'':48} {'median':>9} {'min-max':>17} {'vs json.loads':>14}")
    baseline = None
    for label, function in ways:
        seconds = measure(function, args.repeats)
        median = statistics.median(seconds)
        baseline = baseline or median
        spread = f"{min(seconds) * 1e3:.0f}-{max(seconds) * 1e3:.0f} ms"
        print(f"{label:48} {median * 1e3:6.0f} ms {spread:>17} {median / baseline:13.1f}x")


if __name__ == "__main__":
    main()
