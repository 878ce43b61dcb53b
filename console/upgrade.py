"""What blocks upgrading a cluster's emqx-operator from 2.2.x to 2.3.x, and what to do about each.

The rules, and where they come from (summarised in the shared notes OPERATOR-STATUS.md, "Upgrade
path users follow"):

- **EmqxBroker, EmqxEnterprise, EmqxPlugin objects.** 2.3 serves none of these kinds and its Helm
  chart removes their CRDs; the chart's pre-upgrade check Job (``pre-upgrade-check.yaml``) fails a
  2.2.x -> 2.3.x upgrade while any such object exists.
- **EMQX objects possibly still encoded as v2alpha1.** The 2.3 CRD has no v2alpha1, and the API
  server refuses a CRD whose ``spec.versions`` drops a version still listed in its
  ``status.storedVersions`` ("v2alpha1 was previously a storage version, and must remain in
  spec.versions until a storage migration ..."). Which encoding etcd holds cannot be read through
  the API; a ``managedFields`` entry with ``apiVersion: apps.emqx.io/v2alpha1`` shows that the
  object was written through v2alpha1, which is the evidence shown per object.
- **Conversion webhooks.** The README on ``main-2.3`` ("Upgrading / From 2.2.x", step 1) patches
  ``emqxes`` and ``rebalances`` to ``spec.conversion.strategy: None`` before the old manager (which
  serves the ``/convert`` webhook) is deleted; 2.3 has no conversion webhook (PR #1160).

The pure functions (:func:`operator_line`, :func:`legacy_blockers`, :func:`conversion_blockers`,
:func:`stored_version_blockers`, :func:`v2alpha1_blockers`) take the API's JSON documents;
:func:`check` reads them from a cluster (GET and LIST only: it changes nothing) and puts the
report together. No view code here; ``console.views.upgrade`` renders the report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from console.permissions import can_somewhere, readable_namespaces
from console.registry import site
from emqx.client.clientset import Clientset
from emqx.discovery import GROUP
from emqx.errors import (
    ApiError,
    ClusterUnreachable,
    ConfigurationError,
    Forbidden,
    NotFound,
    ResponseDecodeError,
    Unauthorized,
)
from emqx.rest import api_path

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = [
    "CONVERTED_CRDS",
    "LEGACY_KINDS",
    "STEPS",
    "Blocker",
    "Check",
    "Step",
    "UpgradeReport",
    "check",
    "conversion_blockers",
    "legacy_blockers",
    "operator_line",
    "require_view",
    "stored_version_blockers",
    "v2alpha1_blockers",
]

LEGACY_KINDS: tuple[tuple[str, str], ...] = (
    ("EmqxBroker", "emqxbrokers"),
    ("EmqxEnterprise", "emqxenterprises"),
    ("EmqxPlugin", "emqxplugins"),
)
"""The kinds 2.3 no longer serves (kind, plural)."""

CONVERTED_CRDS: tuple[str, ...] = (f"emqxes.{GROUP}", f"rebalances.{GROUP}")
"""The CRDs the README patches to conversion strategy None."""

EMQX_CRD = f"emqxes.{GROUP}"
V2ALPHA1 = f"{GROUP}/v2alpha1"
_PAGE = 500


@dataclass(frozen=True)
class Blocker:
    """One thing that stops the upgrade: the object (``namespace`` empty for a CRD), why it
    blocks, what to do and the kubectl commands that do it. ``url`` is the console's page of
    the object when there is one; ``evidence`` what the check saw."""

    kind: str
    name: str
    namespace: str = ""
    why: str = ""
    action: str = ""
    commands: tuple[str, ...] = ()
    evidence: str = ""
    url: str = ""


@dataclass(frozen=True)
class Check:
    """One rule, checked: what blocks (``blockers``), or why it could not be checked
    (``unchecked``, '' when it was), or what was found when nothing blocks (``passed``)."""

    key: str
    title: str
    rule: str
    blockers: tuple[Blocker, ...] = ()
    unchecked: str = ""
    passed: str = ""


@dataclass(frozen=True)
class Step:
    """One step of the README's upgrade procedure."""

    title: StrOrPromise
    """In the page's language when shown (gettext_lazy); the commands are code and stay as they are."""
    commands: tuple[str, ...]
    optional: bool = False


@dataclass(frozen=True)
class UpgradeReport:
    """What :func:`check` found on one cluster. ``line`` is the operator line its CRDs belong to
    (see :func:`operator_line`); ``served`` the apps.emqx.io kinds and versions it serves;
    ``limited`` whether only some namespaces were checked (the user may not read all)."""

    line: str
    served: Mapping[str, tuple[str, ...]]
    checks: tuple[Check, ...] = ()
    limited: bool = False

    @property
    def past(self) -> bool:
        """The cluster already runs operator 2.3 or later: nothing of this upgrade is left."""
        return self.line in ("2.3", "3.0")

    @property
    def blockers(self) -> tuple[Blocker, ...]:
        """Every blocker of every check."""
        return tuple(b for c in self.checks for b in c.blockers)

    @property
    def unchecked(self) -> tuple[Check, ...]:
        """The checks that could not be done."""
        return tuple(c for c in self.checks if c.unchecked)

    @property
    def clear(self) -> bool:
        """Everything was checked and nothing blocks."""
        return not self.past and bool(self.checks) and not self.blockers and not self.unchecked


_CRD_PATCH = (
    "kubectl patch crd {crd} --type=json "
    """-p='[{{"op":"replace", "path":"/spec/conversion", "value":{{"strategy":"None"}}}}]'"""
)

STEPS: tuple[Step, ...] = (
    Step(
        _("Patch the CRDs to remove the conversion webhook"),
        tuple(_CRD_PATCH.format(crd=crd) for crd in CONVERTED_CRDS),
    ),
    Step(
        _("Delete the 2.2 controller manager: its ClusterRole and binding, its webhook configurations, its namespace"),
        (
            "kubectl delete --ignore-not-found clusterrole emqx-operator-manager-role",
            "kubectl delete --ignore-not-found clusterrolebinding emqx-operator-manager-rolebinding",
            "kubectl delete --ignore-not-found mutatingwebhookconfiguration "
            "emqx-operator-mutating-webhook-configuration",
            "kubectl delete --ignore-not-found validatingwebhookconfiguration "
            "emqx-operator-validating-webhook-configuration",
            "kubectl delete --ignore-not-found namespace emqx-operator-system",
        ),
    ),
    Step(
        _("Delete the legacy CRDs"),
        (
            "kubectl delete --ignore-not-found crd emqxbrokers.apps.emqx.io emqxenterprises.apps.emqx.io "
            "emqxplugins.apps.emqx.io",
        ),
        optional=True,
    ),
    Step(
        _("Install 2.3.0"),
        (
            "kubectl apply --server-side=true -f https://github.com/emqx/emqx-operator/releases/download/v2.3.0/install.yaml",
        ),
    ),
)
"""The README's "Upgrading / From 2.2.x" on ``main-2.3``, step by step, with its commands (the texts in the
page's language, the commands as they are)."""


# ----- the rules, on the API's documents ------------------------------------------------------------


def operator_line(served: Mapping[str, Iterable[str]]) -> str:
    """The operator line a cluster's apps.emqx.io CRDs belong to, from the versions it serves per
    kind (discovery): ``"3.0"`` (EMQX v3beta1), ``"2.3"`` (EMQX v2), ``"2.2"`` (EMQX v2beta1 without
    v2), ``"older"`` (apps.emqx.io served, but no EMQX v2beta1: operator 1.x or 2.0/2.1) or ``"none"``
    (nothing served: the operator's CRDs are not installed). Source: OPERATOR-STATUS.md, "Which
    versions each operator line serves"."""
    emqx = set(served.get("EMQX", ()))
    if "v3beta1" in emqx:
        return "3.0"
    if "v2" in emqx:
        return "2.3"
    if "v2beta1" in emqx:
        return "2.2"
    return "older" if any(tuple(v) for v in served.values()) else "none"


def _field(doc: Mapping[str, Any] | None, *path: str) -> Mapping[str, Any]:
    """The mapping at ``path`` in a JSON document; empty when absent or not a mapping."""
    value: Any = doc
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _field(obj, "metadata")


def legacy_blockers(kind: str, objects: Iterable[Mapping[str, Any]]) -> list[Blocker]:
    """One blocker per EmqxBroker, EmqxEnterprise or EmqxPlugin object (``kind``), each as the API
    returns it (only ``metadata`` is read), sorted by namespace and name. 2.3 serves none of these
    kinds and the Helm chart's pre-upgrade check fails while any exists."""
    plural = dict(LEGACY_KINDS).get(kind, kind.lower())
    resource = f"{plural}.{GROUP}"
    if kind == "EmqxPlugin":
        action = gettext(
            "Delete it. 2.3 has no EmqxPlugin kind; plugins of EMQX 4.x brokers go with the brokers "
            "(configure plugins of EMQX 5 in the EMQX's own configuration)."
        )
    else:
        action = gettext(
            "Move its clients to an EMQX 5 cluster (an EMQX object), then delete it. Deleting the %(kind)s "
            "deletes the EMQX 4.x cluster the operator runs for it."
        ) % {"kind": kind}
    rows = []
    for obj in objects:
        meta = _meta(obj)
        name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
        rows.append(
            Blocker(
                kind=kind,
                name=name,
                namespace=namespace,
                why=gettext(
                    "Operator 2.3 does not serve %(kind)s; its Helm chart's pre-upgrade check fails while any exists."
                )
                % {"kind": kind},
                action=action,
                commands=(f"kubectl -n {namespace} delete {resource} {name}",),
            )
        )
    return sorted(rows, key=lambda b: (b.namespace, b.name))


def conversion_blockers(crds: Mapping[str, Mapping[str, Any] | None]) -> list[Blocker]:
    """A blocker per CRD (``emqxes``, ``rebalances``; keyed by CRD name, the document as the API
    returns it, None when not installed) whose ``spec.conversion.strategy`` is still ``Webhook``:
    the README's step 1 patches it to None before the 2.2 manager that serves the webhook goes."""
    rows = []
    for name in CONVERTED_CRDS:
        crd = crds.get(name)
        if not crd:
            continue
        conversion = _field(crd, "spec", "conversion")
        strategy = str(conversion.get("strategy") or "None")
        if strategy != "Webhook":
            continue
        service = _field(conversion, "webhook", "clientConfig", "service")
        where = f"{service.get('namespace')}/{service.get('name')}" if service.get("name") else gettext("its webhook")
        rows.append(
            Blocker(
                kind="CustomResourceDefinition",
                name=name,
                why=gettext(
                    "Its conversion strategy is Webhook: the API server calls the 2.2 operator's /convert webhook "
                    "(%(where)s), which is deleted with the 2.2 manager; 2.3 has none."
                )
                % {"where": where},
                action=gettext(
                    "Patch the conversion strategy to None (step 1 of the emqx-operator's own upgrade guide, "
                    "below), before deleting the 2.2 manager."
                ),
                commands=(_CRD_PATCH.format(crd=name),),
                evidence=f"spec.conversion.strategy: {strategy}",
            )
        )
    return rows


def _stored_versions(crd: Mapping[str, Any]) -> list[str]:
    return [str(v) for v in _field(crd, "status").get("storedVersions") or ()]


_REWRITE = "kubectl get emqxes.apps.emqx.io -A -o json | kubectl replace -f -"
_TRIM = (
    "kubectl patch crd emqxes.apps.emqx.io --subresource=status --type=json "
    """-p='[{{"op":"replace", "path":"/status/storedVersions", "value":{versions}}}]'"""
)
_REWRITE_WHY = _(
    "Do it first, while the 2.2 operator and its conversion webhook still run: with the conversion strategy "
    "None the API server hands a v2alpha1-encoded object out as v2beta1 without converting its fields."
)


def stored_version_blockers(crd: Mapping[str, Any] | None) -> list[Blocker]:
    """A blocker when the EMQX CRD (the document as the API returns it; None when not installed)
    still lists v2alpha1 in ``status.storedVersions``: the API server refuses 2.3's CRD, which has
    no v2alpha1, until a storage migration removes it from there."""
    if not crd:
        return []
    stored = _stored_versions(crd)
    if "v2alpha1" not in stored:
        return []
    keep = [v for v in stored if v != "v2alpha1"] or ["v2beta1"]
    versions = "[" + ",".join(f'"{v}"' for v in keep) + "]"
    return [
        Blocker(
            kind="CustomResourceDefinition",
            name=EMQX_CRD,
            why=gettext(
                "status.storedVersions still lists v2alpha1: some EMQX objects may be encoded as v2alpha1 in etcd, "
                "and the API server refuses 2.3's CRD (which has no v2alpha1) until v2alpha1 leaves storedVersions."
            ),
            action=gettext(
                "Rewrite every EMQX object (an unchanged replace stores it again in the storage version, v2beta1), "
                "then remove v2alpha1 from status.storedVersions. %(why)s"
            )
            % {"why": _REWRITE_WHY},
            commands=(_REWRITE, _TRIM.format(versions=versions)),
            evidence=f"status.storedVersions: {', '.join(stored)}",
        )
    ]


def v2alpha1_blockers(objects: Iterable[Mapping[str, Any]]) -> list[Blocker]:
    """One blocker per EMQX object (as the API returns it, managedFields included) that a
    ``managedFields`` entry shows was written through ``apps.emqx.io/v2alpha1``: it may still be
    stored that way. Evidence, not proof (etcd's encoding is not visible through the API)."""
    rows = []
    for obj in objects:
        meta = _meta(obj)
        entries = [
            e for e in meta.get("managedFields") or () if isinstance(e, Mapping) and e.get("apiVersion") == V2ALPHA1
        ]
        if not entries:
            continue
        name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
        seen = "; ".join(
            f"{e.get('manager') or '?'} ({e.get('operation') or '?'}"
            + (f", {e['subresource']}" if e.get("subresource") else "")
            + (f", {e['time']}" if e.get("time") else "")
            + ")"
            for e in entries
        )
        rows.append(
            Blocker(
                kind="EMQX",
                name=name,
                namespace=namespace,
                why=gettext("Written through apps.emqx.io/v2alpha1, so it may still be stored as v2alpha1."),
                action=gettext("Rewrite it so that it is stored as v2beta1. %(why)s") % {"why": _REWRITE_WHY},
                commands=(f"kubectl -n {namespace} get emqxes.apps.emqx.io {name} -o json | kubectl replace -f -",),
                evidence=f"managedFields apiVersion {V2ALPHA1}: {seen}",
            )
        )
    return sorted(rows, key=lambda b: (b.namespace, b.name))


# ----- reading a cluster --------------------------------------------------------------------------------


def require_view(user: Any, cluster: str) -> frozenset[str] | None:
    """The namespaces whose objects ``user`` may see on the page (None: all). Raises Http404
    when the user may read nothing in ``cluster``, as every page does where the user may not
    read (console.permissions.require): the cluster's objects must not leak."""
    if not can_somewhere(user, "get", "EMQX", cluster):
        raise Http404(gettext("No upgrade checks for you in cluster %(cluster)s.") % {"cluster": cluster})
    return readable_namespaces(user, cluster)


class _Unchecked(Exception):
    """A read the page could not do (refused, or an error answer): the check says why."""


def _read(what: str, call: Any) -> Any:
    """``call()``, with a refusal or an error answer turned into _Unchecked; trouble reaching or
    using the cluster at all (ClusterUnreachable, Unauthorized, ConfigurationError) goes up."""
    try:
        return call()
    except (ClusterUnreachable, Unauthorized, ConfigurationError):
        raise
    except Forbidden as error:
        raise _Unchecked(
            gettext("%(what)s: not allowed (%(error)s).") % {"what": what, "error": error.message or error.reason}
        ) from None
    except (ApiError, ResponseDecodeError) as error:
        raise _Unchecked(
            gettext("%(what)s: the cluster answered with an error (%(error)s).") % {"what": what, "error": error}
        ) from None


def _list(cs: Clientset, version: str, plural: str) -> Iterator[Mapping[str, Any]]:
    """Every object of ``plural`` in all namespaces, as JSON, a page at a time."""
    token = ""
    while True:
        query = [("limit", str(_PAGE))] + ([("continue", token)] if token else [])
        page = cs.transport.request_json("GET", api_path(GROUP, version, plural, namespace=None), query=query)
        yield from (item for item in page.get("items") or () if isinstance(item, Mapping))
        token = str((page.get("metadata") or {}).get("continue") or "")
        if not token:
            return


def _crd(cs: Clientset, name: str) -> Mapping[str, Any] | None:
    try:
        crd = cs.transport.request_json("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
    except NotFound:
        return None
    return crd if isinstance(crd, Mapping) else None


def _visible(objects: Iterable[Mapping[str, Any]], readable: frozenset[str] | None) -> list[Mapping[str, Any]]:
    return [o for o in objects if readable is None or str(_meta(o).get("namespace") or "") in readable]


def _detail_url(cluster: str, blocker: Blocker) -> str:
    admin = site.get(blocker.kind)
    if admin is None or not blocker.namespace:
        return ""
    try:
        return reverse(admin.url_name("detail"), args=[cluster, blocker.namespace, blocker.name])
    except NoReverseMatch:
        return ""


def check(cs: Clientset, *, cluster: str, readable: frozenset[str] | None = None) -> UpgradeReport:
    """Read what blocks the 2.2 -> 2.3 upgrade on the cluster ``cs`` talks to (as the identity
    ``cs`` acts as), for objects in ``readable`` namespaces (None: all); ``cluster`` names it in
    the page links. GET and LIST only. A read that is refused (403) or fails leaves its check
    unchecked, saying why; raises ClusterUnreachable, Unauthorized or ConfigurationError when the
    cluster cannot be used at all (the page shows its banner instead)."""
    kinds = cs.discovery.refresh().kinds  # the CRDs may have changed since the console started
    served = {kind: info.versions for kind, info in kinds.items() if info.versions}
    line = operator_line(served)
    if line in ("2.3", "3.0", "none"):
        return UpgradeReport(line=line, served=served)

    checks = [_legacy_check(cs, kinds, cluster, readable)]
    crds: dict[str, Mapping[str, Any] | None] = {}
    crd_problem = ""
    try:
        for name in CONVERTED_CRDS:
            crds[name] = _read(gettext("The CustomResourceDefinitions could not be read"), lambda n=name: _crd(cs, n))
    except _Unchecked as problem:
        crd_problem = str(problem)
    checks.append(_v2alpha1_check(cs, kinds, crds, crd_problem, cluster, readable))
    checks.append(
        Check(
            key="conversion",
            title=gettext("Conversion webhooks on the EMQX and Rebalance CRDs"),
            rule=gettext(
                "Step 1 of the emqx-operator's upgrade guide (below): spec.conversion.strategy None on "
                "emqxes and rebalances, before the 2.2 manager goes."
            ),
            blockers=() if crd_problem else tuple(conversion_blockers(crds)),
            unchecked=crd_problem,
            passed=", ".join(
                f"{name}: {_field(crd, 'spec', 'conversion').get('strategy') or 'None'}"
                for name, crd in crds.items()
                if crd
            )
            or gettext("Neither CRD is installed."),
        )
    )
    return UpgradeReport(line=line, served=served, checks=tuple(checks), limited=readable is not None)


def _legacy_check(cs: Clientset, kinds: Mapping[str, Any], cluster: str, readable: frozenset[str] | None) -> Check:
    found: list[Blocker] = []
    problems: list[str] = []
    for kind, plural in LEGACY_KINDS:
        info = kinds.get(kind)
        if info is None or not info.versions:
            continue
        try:
            objects = _read(
                gettext("%(kind)s objects could not be listed") % {"kind": kind},
                lambda p=plural, v=info.preferred_version: list(_list(cs, v, p)),
            )
        except _Unchecked as problem:
            problems.append(str(problem))
            continue
        found += [
            dataclasses.replace(b, url=_detail_url(cluster, b))
            for b in legacy_blockers(kind, _visible(objects, readable))
        ]
    return Check(
        key="legacy",
        title=gettext("EmqxBroker, EmqxEnterprise and EmqxPlugin objects"),
        rule=gettext(
            "Operator 2.3 removes these kinds; its Helm chart's pre-upgrade check fails while any object "
            "of them exists."
        ),
        blockers=tuple(found),
        unchecked=" ".join(problems),
        passed=gettext("None found."),
    )


def _v2alpha1_check(
    cs: Clientset,
    kinds: Mapping[str, Any],
    crds: Mapping[str, Mapping[str, Any] | None],
    crd_problem: str,
    cluster: str,
    readable: frozenset[str] | None,
) -> Check:
    title = gettext("EMQX objects that may still be stored as v2alpha1")
    rule = gettext(
        "The 2.3 CRD has no v2alpha1, and the API server refuses a CRD that drops a version still listed in its "
        "status.storedVersions."
    )
    crd = crds.get(EMQX_CRD)
    if not crd_problem and crd is None:
        return Check(key="v2alpha1", title=title, rule=rule, passed=gettext("The EMQX CRD is not installed."))
    if not crd_problem and crd is not None and "v2alpha1" not in _stored_versions(crd):
        stored = ", ".join(_stored_versions(crd))
        return Check(
            key="v2alpha1",
            title=title,
            rule=rule,
            passed=gettext("v2alpha1 was never a storage version here (status.storedVersions: %(stored)s).")
            % {"stored": stored},
        )
    blockers = stored_version_blockers(crd) if not crd_problem else []
    info = kinds.get("EMQX")
    problems = [crd_problem] if crd_problem else []
    if info is not None and info.versions:
        try:
            objects = _read(
                gettext("EMQX objects could not be listed"), lambda: list(_list(cs, info.preferred_version, "emqxes"))
            )
            blockers += [
                dataclasses.replace(b, url=_detail_url(cluster, b))
                for b in v2alpha1_blockers(_visible(objects, readable))
            ]
        except _Unchecked as problem:
            problems.append(str(problem))
    return Check(
        key="v2alpha1",
        title=title,
        rule=rule,
        blockers=tuple(blockers),
        unchecked=" ".join(problems),
        passed=gettext("No EMQX object shows a write through v2alpha1."),
    )
