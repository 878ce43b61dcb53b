"""The progress of an EMQX update that takes minutes, read from the status the operator writes.

During an update each node set reports the revision it runs and the one it moves to
(``coreNodesStatus`` / ``replicantNodesStatus``: ``currentRevision``, ``currentReplicas``,
``updateRevision``, ``updateReplicas``; operator 2.2's EMQX v2beta1 and 2.3's v2 for both roles,
3.0's v3beta1 for the replicant ReplicaSets only: its one core StatefulSet reports counts, no
revision), and the nodes that serve clients are evacuated one at a time before they stop
(``nodeEvacuationsStatus`` in v2beta1 and 2.3's v2, ``nodeEvacuations`` in v3beta1 and the later
v2 code, whose field the served v2 schema prunes). Field names and what each line writes:
../shared/crds/OPERATOR-STATUS.md. This module turns those fields into one :class:`Progress`
(no Django here: console.kinds.emqx builds it into the Summary, the status panel shows it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Evacuation", "Progress", "RoleProgress", "evacuations_in", "evacuations_of", "progress_of"]


@dataclass(frozen=True, slots=True)
class RoleProgress:
    """One node role's rollout: ``label`` ("Core nodes"), the revision its pods run
    (``current_revision``) and the one they move to (``update_revision``; both '' for a set that
    rolls in place and names no revisions: v3beta1's core StatefulSet), how many pods are on
    each (None: not reported), the desired count, and which of the listed nodes are on the old
    and on the new revision (node names, as the status lists them)."""

    label: str
    current_revision: str
    update_revision: str
    current_replicas: int | None
    update_replicas: int | None
    desired: int | None
    old_nodes: tuple[str, ...] = ()
    new_nodes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Evacuation:
    """One node being evacuated: its ``state`` as EMQX reports it (``waiting_health_check``,
    ``evicting_conns``, ``waiting_takeover``, ``evicting_sessions``), connections and sessions
    when it started and now (None: not reported; v2 and v3beta1 report only the initial ones),
    the eviction rates (per second) and the nodes receiving its sessions."""

    node: str
    state: str
    initial_connections: int | None = None
    current_connections: int | None = None
    initial_sessions: int | None = None
    current_sessions: int | None = None
    connection_rate: int | None = None
    session_rate: int | None = None
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Progress:
    """An update in flight: the roles that roll (old and new revision) and the evacuations."""

    roles: tuple[RoleProgress, ...]
    evacuations: tuple[Evacuation, ...] = ()


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) else None


def evacuations_of(entries: Iterable[Any] | None) -> tuple[Evacuation, ...]:
    """The status's evacuation entries of any EMQX version: v2beta1's ``node`` with ``stats``
    (``initial_connected``, ``current_connected``, ``initial_sessions``, ``current_sessions``), v2's
    and v3beta1's ``nodeName`` with ``initialConnections`` and ``initialSessions``."""
    result = []
    for entry in entries or ():
        stats = getattr(entry, "stats", None)
        result.append(
            Evacuation(
                node=str(getattr(entry, "node_name", None) or getattr(entry, "node", None) or "?"),
                state=str(entry.state or ""),
                initial_connections=_int(getattr(stats, "initial_connected", None))
                if stats is not None
                else _int(getattr(entry, "initial_connections", None)),
                current_connections=_int(getattr(stats, "current_connected", None)) if stats is not None else None,
                initial_sessions=_int(getattr(stats, "initial_sessions", None))
                if stats is not None
                else _int(getattr(entry, "initial_sessions", None)),
                current_sessions=_int(getattr(stats, "current_sessions", None)) if stats is not None else None,
                connection_rate=_int(getattr(entry, "connection_eviction_rate", None)),
                session_rate=_int(getattr(entry, "session_eviction_rate", None)),
                recipients=tuple(str(r) for r in getattr(entry, "session_recipients", None) or ()),
            )
        )
    return tuple(result)


def evacuations_in(status: Any) -> tuple[Evacuation, ...]:
    """The node evacuations an EMQX status of any version reports: ``nodeEvacuationsStatus``
    (v2beta1, v2) or ``nodeEvacuations`` (v3beta1), read by :func:`evacuations_of`; () for none."""
    entries = getattr(status, "node_evacuations_status", None) or getattr(status, "node_evacuations", None)
    return evacuations_of(entries)


def _nodes_of(status: Any, role: str) -> list[Any]:
    """The status's nodes of ``role`` ("core", "replicant"): ``coreNodes`` / ``replicantNodes``
    (v2beta1, v2), or v3beta1's one ``clusterNodes`` list by each node's ``role``."""
    listed = getattr(status, f"{role}_nodes", None)
    if listed is not None:
        return list(listed)
    return [n for n in getattr(status, "cluster_nodes", None) or () if getattr(n, "role", None) == role]


def _on_revision(node: Any, revision: str) -> bool:
    """Whether a status node runs on ``revision``: its pod is named after it (core pods
    ``<name>-core-<revision>-<ordinal>``, replicant pods ``<name>-replicant-<revision>-<suffix>``,
    as the operator names its StatefulSets and ReplicaSets by the pod-template hash); v2beta1 lists
    no pod name, but names a core node after its pod's DNS name."""
    if not revision:
        return False
    names = (getattr(node, "pod_name", None), getattr(node, "node", None), getattr(node, "name", None))
    return any(f"-{revision}-" in str(name) for name in names if name)


def _node_name(node: Any) -> str:
    return str(getattr(node, "node", None) or getattr(node, "name", None) or "?")


def _split(nodes: Sequence[Any], current: str, update: str, wanted_version: str) -> tuple[list[str], list[str]]:
    """(old, new) node names: by the revision in the pod's name where it shows one, else by the
    EMQX version (a node on another version than the spec's is old)."""
    old: list[str] = []
    new: list[str] = []
    for node in nodes:
        if _on_revision(node, update):
            new.append(_node_name(node))
        elif _on_revision(node, current):
            old.append(_node_name(node))
        elif wanted_version and getattr(node, "version", None):
            (new if str(node.version) == wanted_version else old).append(_node_name(node))
    return old, new


def _rolling_in_place(status: Any, condition_type: str) -> bool:
    """Whether the operator says a role's one set is rolling its pods in place: ``condition_type``
    (``CoreNodesProgressing``) True with reason ``RollingUpdate`` ("U/D core pods updated"), as
    operator 3.0 (v3beta1) and 2.3's model B write it for their one core StatefulSet, whose status
    has counts (``updatedReplicas``, ``currentReplicas``) but no revisions (OPERATOR-STATUS.md)."""
    return any(
        getattr(c, "type", None) == condition_type
        and str(getattr(c, "status", "")) == "True"
        and getattr(c, "reason", None) == "RollingUpdate"
        for c in getattr(status, "conditions", None) or ()
    )


def progress_of(status: Any, wanted_version: str) -> Progress | None:
    """The update in flight of an EMQX status (v2beta1, v2 or v3beta1 model), or None when none
    is. A role rolls when its sets name an ``updateRevision`` other than their ``currentRevision``
    (blue-green: v2beta1, v2, v3beta1's replicant ReplicaSets), or when its one set rolls in place
    (:func:`_rolling_in_place`: v3beta1's core StatefulSet; the revisions then read '' and the
    counts are the pods updated and not yet). Nodes being evacuated (:func:`evacuations_in`) are
    an update too. ``wanted_version`` is the EMQX version the spec asks for (``5.8.6``)."""
    if status is None:
        return None
    roles = []
    for label, section, role, condition in (
        ("Core nodes", "core_nodes_status", "core", "CoreNodesProgressing"),
        ("Replicant nodes", "replicant_nodes_status", "replicant", "ReplicantNodesProgressing"),
    ):
        sets = getattr(status, section, None)
        update = str(getattr(sets, "update_revision", None) or "")
        current = str(getattr(sets, "current_revision", None) or "")
        if sets is None:
            continue
        if update and update != current:
            updated, desired = _int(getattr(sets, "update_replicas", None)), _int(getattr(sets, "replicas", None))
        elif not update and _rolling_in_place(status, condition):
            updated = _int(getattr(sets, "updated_replicas", None))
            desired = _int(getattr(status, f"{role}_replicas", None))  # v3beta1's scale status
        else:
            continue
        old, new = _split(_nodes_of(status, role), current, update, wanted_version)
        roles.append(
            RoleProgress(
                label=label,
                current_revision=current,
                update_revision=update,
                current_replicas=_int(getattr(sets, "current_replicas", None)),
                update_replicas=updated,
                desired=desired,
                old_nodes=tuple(old),
                new_nodes=tuple(new),
            )
        )
    evacuations = evacuations_in(status)
    if not roles and not evacuations:
        return None
    return Progress(roles=tuple(roles), evacuations=evacuations)
