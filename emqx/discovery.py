"""Which apps.emqx.io kinds and versions a cluster serves, and which version to use.

Each operator line serves its own set (emqx/crds/SOURCES.md):

- 1.0 (2021): EmqxBroker/EmqxEnterprise ``v1beta1`` only;
- 2.2: EMQX ``v2beta1`` (and deprecated ``v2alpha1``), EmqxBroker/EmqxEnterprise ``v1beta4``
  (and ``v1beta3``), Rebalance ``v2beta1``, EmqxPlugin ``v1beta4``;
- 2.3: EMQX ``v2`` (storage) and deprecated ``v2beta1``, Rebalance ``v2beta1``;
- 3.0: EMQX ``v3beta1`` only, EMQXAPIKey ``v3beta1``.

The console asks :class:`Discovery` instead of assuming::

    d = cs.discovery
    d.preferred_version("EmqxBroker")   # "v1beta4" on 2.2, "v1beta1" on a 2021 cluster
    d.preferred_version("EMQX")         # "v2" on 2.3 (its storage version), "v3beta1" on 3.0
    d.kind("EMQX").versions             # ("v2", "v2beta1") on 2.3

The preferred version of a kind is the CRD's storage version when the caller may read
CustomResourceDefinitions; otherwise the first version serving the kind in the group's
discovery order, which starts with the group's ``preferredVersion`` and otherwise follows
Kubernetes version priority (v2 > v3beta1 > v2beta1 > v2alpha1 > v1beta4 > v1beta3 > v1beta1).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from emqx.errors import Forbidden, NotFound, Unauthorized, UnknownKind
from emqx.rest import Transport

__all__ = ["GROUP", "KNOWN_KINDS", "Discovery", "GroupInfo", "ServedKind", "operator_line", "version_priority_key"]

GROUP = "apps.emqx.io"
KNOWN_KINDS: tuple[str, ...] = ("EMQX", "EmqxBroker", "EmqxEnterprise", "Rebalance", "EmqxPlugin", "EMQXAPIKey")

_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority_key(version: str) -> tuple[int, int, int, str]:
    """Sort key giving Kubernetes' version priority (``sorted(vs, key=version_priority_key)``
    puts the highest first): GA before beta before alpha, higher major first, then higher
    minor; versions that do not look like Kubernetes versions last, alphabetically."""
    match = _KUBE_VERSION.match(version)
    if match is None:
        return (3, 0, 0, version)
    major = int(match.group(1))
    stability = {None: 0, "beta": 1, "alpha": 2}[match.group(2)]
    minor = int(match.group(3) or 0)
    return (stability, -major, -minor, "")


def operator_line(info: GroupInfo) -> str | None:
    """The emqx-operator line whose CRDs serve what ``info`` shows ("3.0", "2.3", "2.2", "2.1",
    "1.2", "1.1", "1.0"), or None when no EMQX kind is served. The rule (emqx/crds/SOURCES.md and
    ../shared/crds/OPERATOR-STATUS.md, "Which versions each operator line serves"): EMQX v3beta1
    is 3.0's alone; EMQX v2 is 2.3's; EMQX v2beta1 is 2.2's; EMQX v2alpha1 alone is 2.1's; without
    EMQX, the newest broker version tells (v1beta3 1.2, v1beta2 1.1, v1beta1 1.0; v1beta4 is 2.x)."""
    emqx = info.kinds.get("EMQX")
    emqx_versions = set(emqx.versions) if emqx is not None else set()
    for version, line in (("v3beta1", "3.0"), ("v2", "2.3"), ("v2beta1", "2.2"), ("v2alpha1", "2.1")):
        if version in emqx_versions:
            return line
    broker_versions = {
        v for kind in ("EmqxBroker", "EmqxEnterprise") if kind in info.kinds for v in info.kinds[kind].versions
    }
    for version, line in (("v1beta4", "2.2"), ("v1beta3", "1.2"), ("v1beta2", "1.1"), ("v1beta1", "1.0")):
        if version in broker_versions:
            return line
    return None


@dataclass(frozen=True, slots=True)
class ServedKind:
    """What the cluster serves of one kind. ``versions`` is highest priority first;
    ``preferred_version`` is None when the kind is not served at all."""

    kind: str
    plural: str = ""
    namespaced: bool = True
    versions: tuple[str, ...] = ()
    preferred_version: str | None = None
    storage_version: str | None = None
    deprecated_versions: frozenset[str] = frozenset()
    short_names: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()
    verbs: frozenset[str] = frozenset()

    @property
    def served(self) -> bool:
        """Whether the cluster serves this kind in any version."""
        return bool(self.versions)

    def serves(self, version: str) -> bool:
        """Whether the cluster serves this kind in ``version``."""
        return version in self.versions


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """The apps.emqx.io API group as discovered: versions in the server's order."""

    versions: tuple[str, ...] = ()
    preferred_version: str | None = None
    kinds: Mapping[str, ServedKind] = field(default_factory=dict)


class Discovery:
    """Discovery of the apps.emqx.io group, cached until :meth:`refresh`. Thread-safe.

    Callers that find nothing cached while a discovery is already under way wait for that one
    and share its answer, or its error (client-go's memory-cached discovery does the same with a
    lock): a console starting the caches of every kind of a cluster at once asks the server
    once, not once per kind. Reading the CRDs for their storage versions is most of a discovery's
    cost (the EMQX CRD's schema is megabytes of JSON to decode), so ten clusters of five kinds
    starting together spent seconds of one CPU on fifty discoveries instead of ten."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._lock = threading.Lock()
        self._info: GroupInfo | None = None
        self._pending: Future[GroupInfo] | None = None

    def refresh(self) -> GroupInfo:
        """Ask the server again (after CRDs were installed, upgraded or removed)."""
        info = self._discover()
        with self._lock:
            self._info = info
        return info

    def group(self) -> GroupInfo:
        """The cached discovery result (discovering on first use; concurrent first uses share one
        discovery). Raises what the discovery raised (ClusterUnreachable, an ApiError), to every
        caller that waited for it; the next call after a failure asks again."""
        with self._lock:
            if self._info is not None:
                return self._info
            pending = self._pending
            leading = pending is None
            if pending is None:
                pending = self._pending = Future()
        if not leading:
            return pending.result()
        try:
            info = self._discover()
        except BaseException as error:
            with self._lock:
                self._pending = None
            pending.set_exception(error)
            raise
        with self._lock:
            if self._info is None:
                self._info = info
            info = self._info
            self._pending = None
        pending.set_result(info)
        return info

    @property
    def versions(self) -> tuple[str, ...]:
        """The group's served versions, preferred first (empty if no EMQX CRD is installed)."""
        return self.group().versions

    @property
    def preferred_group_version(self) -> str | None:
        """The group's ``preferredVersion`` (e.g. ``v2beta1``), or None if not served."""
        return self.group().preferred_version

    def kinds(self) -> Mapping[str, ServedKind]:
        """Every known kind (served or not) and any other kind the group serves, by kind."""
        return self.group().kinds

    def cached(self) -> GroupInfo | None:
        """The discovery result if one was fetched already; never asks the server."""
        with self._lock:
            return self._info

    def operator_line(self) -> str | None:
        """Which emqx-operator line the served versions belong to, from the cached discovery
        (None before the first discovery, or when no EMQX kind is served). See :func:`operator_line`."""
        info = self.cached()
        return operator_line(info) if info is not None else None

    def kind(self, kind: str) -> ServedKind:
        """What is served of ``kind``; an unknown, unserved kind is an UnknownKind error."""
        kinds = self.kinds()
        if kind in kinds:
            return kinds[kind]
        raise UnknownKind(f"unknown kind {kind!r} in {GROUP}: known kinds are {', '.join(sorted(kinds))}")

    def served_versions(self, kind: str) -> tuple[str, ...]:
        """The versions serving ``kind``, highest priority first."""
        return self.kind(kind).versions

    def preferred_version(self, kind: str) -> str | None:
        """The version to use for ``kind`` (storage version, else highest priority), or None."""
        return self.kind(kind).preferred_version

    def best_version(self, kind: str, supported: Iterable[str]) -> str | None:
        """Of the versions the caller can handle (``supported``), the one to use: the
        preferred version if supported, else the highest-priority served one; None if none."""
        info = self.kind(kind)
        usable = set(supported)
        if info.preferred_version in usable:
            return info.preferred_version
        return next((v for v in info.versions if v in usable), None)

    # ----- talking to the server --------------------------------------------------------

    def _discover(self) -> GroupInfo:
        try:
            group = self._transport.request_json("GET", f"/apis/{GROUP}")
        except NotFound:
            return GroupInfo(kinds={k: ServedKind(kind=k) for k in KNOWN_KINDS})
        versions = tuple(
            str(v.get("version")) for v in group.get("versions") or () if isinstance(v, Mapping) and v.get("version")
        )
        preferred = (group.get("preferredVersion") or {}).get("version")

        served: dict[str, dict[str, Any]] = {}
        for version in versions:
            try:
                resources = self._transport.request_json("GET", f"/apis/{GROUP}/{version}")
            except NotFound:  # the version went away between the two requests
                continue
            subresources: dict[str, set[str]] = {}
            for res in resources.get("resources") or ():
                name = str(res.get("name") or "")
                if "/" in name:
                    base, _, sub = name.partition("/")
                    subresources.setdefault(base, set()).add(sub)
            for res in resources.get("resources") or ():
                name = str(res.get("name") or "")
                kind = str(res.get("kind") or "")
                if not kind or "/" in name:
                    continue
                entry = served.setdefault(
                    kind,
                    {
                        "plural": name,
                        "namespaced": bool(res.get("namespaced", True)),
                        "versions": [],
                        "short_names": tuple(res.get("shortNames") or ()),
                        "subresources": frozenset(subresources.get(name, ())),
                        "verbs": frozenset(res.get("verbs") or ()),
                    },
                )
                entry["versions"].append(version)

        kinds: dict[str, ServedKind] = {k: ServedKind(kind=k) for k in KNOWN_KINDS}
        for kind, entry in served.items():
            kind_versions = tuple(sorted(entry["versions"], key=version_priority_key))
            storage, deprecated = self._crd_versions(entry["plural"])
            preferred_for_kind = storage if storage in kind_versions else kind_versions[0]
            kinds[kind] = ServedKind(
                kind=kind,
                plural=entry["plural"],
                namespaced=entry["namespaced"],
                versions=kind_versions,
                preferred_version=preferred_for_kind,
                storage_version=storage,
                deprecated_versions=deprecated,
                short_names=entry["short_names"],
                subresources=entry["subresources"],
                verbs=entry["verbs"],
            )
        return GroupInfo(versions=versions, preferred_version=preferred, kinds=kinds)

    def _crd_versions(self, plural: str) -> tuple[str | None, frozenset[str]]:
        """The CRD's storage version and deprecated versions, if we may read the CRD."""
        try:
            crd = self._transport.request_json(
                "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.{GROUP}"
            )
        except (Forbidden, NotFound, Unauthorized):
            return None, frozenset()
        storage = None
        deprecated: set[str] = set()
        for v in (crd.get("spec") or {}).get("versions") or ():
            if v.get("storage"):
                storage = str(v.get("name"))
            if v.get("deprecated"):
                deprecated.add(str(v.get("name")))
        return storage, frozenset(deprecated)
