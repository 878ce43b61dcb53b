"""What "Save as new" copies, and how "Compare with" lines two objects up. Pure functions, no I/O.

Save as new (Django admin's ``save_as``) copies an object to another name, namespace or cluster. The copy
is a new object, so it keeps only what a person decided:

- ``apiVersion``, ``kind``, the spec, and the labels and annotations that are not bookkeeping;
- none of the metadata the API server or a controller sets: uid, resourceVersion, creationTimestamp,
  generation, managedFields, ownerReferences, finalizers, deletionTimestamp ... (everything but
  name, namespace, labels and annotations; console.diffs.EDITABLE_METADATA), and no status;
- bookkeeping dropped (:func:`bookkeeping`): kubectl's ``kubectl.kubernetes.io/last-applied-configuration``
  (client-side ``kubectl apply`` stores the whole object there; copied, a later apply to the copy would
  merge against the source's) and every label or annotation under the operator's prefix ``apps.emqx.io/``
  (``apps.emqx.io/instance``, ``apps.emqx.io/managed-by``, ``apps.emqx.io/db-role`` name the object they
  were set for), except ``apps.emqx.io/paused``, which a person sets (the Pause action) and the
  operator only reads (../shared/crds/OPERATOR-STATUS.md, ``Paused``).

A copy into another cluster is written in the source's version when that cluster serves it; otherwise
in a version the kind's admin declares the same stored object (``ResourceAdmin.same_schema_versions``,
e.g. EMQX v2 and v2beta1 on operator 2.3, whose CRD has no conversion webhook: the API server itself
only rewrites apiVersion), by its apiVersion alone, the target's strict dry-run then judging every field;
in no other version (:func:`target_version`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from console.diffs import EDITABLE_METADATA, clean

__all__ = ["OPERATOR_PREFIX", "PERSON_SET", "bookkeeping", "compared", "copied", "target_version"]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
OPERATOR_PREFIX = "apps.emqx.io/"
PERSON_SET = frozenset({"apps.emqx.io/paused"})
"""Keys under the operator's prefix that a person sets and the operator only reads."""


def bookkeeping(key: str) -> bool:
    """Whether a label or annotation key is kubectl's or the operator's bookkeeping (module docstring)."""
    return key == LAST_APPLIED or (key.startswith(OPERATOR_PREFIX) and key not in PERSON_SET)


def _kept(values: Any) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        return {}
    return {str(k): v for k, v in values.items() if not bookkeeping(str(k))}


def copied(doc: Mapping[str, Any], *, namespace: str, name: str, api_version: str | None = None) -> dict[str, Any]:
    """The document of a new object copied from ``doc`` (an object document, as ``to_dict()``
    gives it) under ``namespace``/``name``, in ``api_version`` (default: the source's): apiVersion,
    kind, name, namespace, the labels and annotations that are not :func:`bookkeeping`, and the spec.
    Never shares a mutable part with ``doc``."""
    source = clean(doc)
    meta = source.get("metadata") or {}
    result: dict[str, Any] = {
        "apiVersion": api_version or source.get("apiVersion"),
        "kind": source.get("kind"),
        "metadata": {"name": name, "namespace": namespace},
    }
    for key in ("labels", "annotations"):
        if kept := _kept(meta.get(key)):
            result["metadata"][key] = kept
    if "spec" in source:
        result["spec"] = source["spec"]
    assert set(result["metadata"]) <= set(EDITABLE_METADATA)
    return copy.deepcopy(result)


def compared(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an object "Compare with" sets against another's: apiVersion, kind, the labels and
    annotations that are not bookkeeping, and the spec; not its name and namespace (the two sides are
    named above the diff: comparing staging's ``mqtt`` with production's ``mqtt-prod`` is the point)."""
    result = copied(doc, namespace="", name="")
    del result["metadata"]["name"], result["metadata"]["namespace"]
    return result


def target_version(
    source_version: str, served: Iterable[str], same_schema: Iterable[frozenset[str]]
) -> tuple[str | None, bool]:
    """The version a copy of a ``source_version`` object is written in, on a cluster serving
    ``served`` (its versions, preferred first), and whether that rewrites its apiVersion:
    the source's own when served; else the first served one declared the same stored object
    (``same_schema``); else None: the console does not convert between other versions."""
    served = tuple(served)
    if source_version in served:
        return source_version, False
    for group in same_schema:
        if source_version in group:
            for version in served:
                if version in group:
                    return version, True
    return None, False
