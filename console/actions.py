"""Admin actions: one change made to many objects from the change list, as Django admin's
``actions`` (``ModelAdmin.actions``, ``delete_selected``, ``response_action``).

Each kind declares the actions that fit it (``ResourceAdmin.actions``: a tuple of
:class:`AdminAction`); the list offers them above its rows. Choosing one shows a confirmation page
listing every object it will touch (and those it will not, with why), which pins each object's uid
and resourceVersion; confirming runs it **object by object**, each exactly as a single write of the
console is made (:func:`run`):

1. the console's own checks: the user's permission in that namespace (``has_<permission>_permission``),
   the action still applies, and for Delete the production rule of the single delete page (an
   object or namespace labelled ``environment=production`` needs its name typed);
2. a server-side dry-run of the write, then the write, with the pinned resourceVersion (and uid) as
   its precondition: a change made after the confirmation page is a 409 Conflict, never overwritten;
3. one audit entry per object attempt (``ResourceAdmin.audited_write``), failures included, the
   console's own refusals of step 1 too (outcome failure, with the reason as the error).

A failure is reported for its object and the next object is tried: an action never stops at the
first failure. The actions here:

- :class:`DeleteSelected` (every kind): DELETE with uid and resourceVersion preconditions;
- :class:`ScaleAction`: replica counts; a count the CRD's scale subresource maps
  (``specReplicasPath``) goes through ``/scale`` as ``kubectl scale`` sends it, the others by patch;
- :class:`RestartAction`: a rolling restart, as ``kubectl rollout restart`` makes one: the annotation
  ``kubectl.kubernetes.io/restartedAt`` (now) on the pod templates' metadata the operator passes on to
  the pods (a new pod template, so every pod is replaced in turn);
- :class:`SetImageAction`: the image (EMQX ``spec.image``; a 4.x broker's image parts);
- :class:`LabelAction`: add, overwrite or remove one label (``metadata.labels``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from django import forms
from django.utils import translation
from django.utils.html import format_html_join
from django.utils.text import format_lazy
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from pydantic import ValidationError

from console.forms.actions import ImageForm, LabelForm, ScaleField, ScaleForm
from emqx.client.resource import PatchType, ResourceClient
from emqx.client.scale import Scale
from emqx.errors import Conflict, EmqxClientError, Forbidden, Invalid, NotFound
from emqx.models._base import Resource

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django_stubs_ext import StrOrPromise

    from console.clusters import Cluster
    from console.registry import ResourceAdmin
    from console.summaries import Summary

__all__ = [
    "RESTARTED_AT",
    "AdminAction",
    "DeleteSelected",
    "LabelAction",
    "Outcome",
    "Pinned",
    "RestartAction",
    "ScaleAction",
    "SetImageAction",
    "merge_patch",
    "run",
]

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
"""The pod-template annotation of a rolling restart: what ``kubectl rollout restart`` sets on a
Deployment's or StatefulSet's ``spec.template.metadata.annotations`` (kubectl's
``polymorphichelpers/objectrestarter.go``), RFC 3339 time of the request."""


@dataclass(frozen=True)
class Pinned:
    """An object as the confirmation page showed it: its uid and resourceVersion are the write's
    preconditions."""

    namespace: str
    name: str
    uid: str
    resource_version: str


@dataclass(frozen=True)
class Outcome:
    """What an action did to one object: ``ok`` and a sentence saying what or why not.
    ``resource_version`` is the object's before the action (the result page waits for a newer one)."""

    namespace: str
    name: str
    ok: bool
    message: str
    resource_version: str = ""


def _now() -> str:
    """Now, as Kubernetes writes times (RFC 3339, UTC, whole seconds)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Refused(Exception):
    """The console refuses the write to this object before any request. ``reason()`` says why in the
    language active when it is called: ``str()`` of the exception is the English one (the audit entry's
    error, stored in English as the trail's other texts), :attr:`shown` the one of the user's page."""

    def __init__(self, reason: Callable[[], str]) -> None:
        with translation.override("en"):
            super().__init__(reason())
        self.shown = reason()


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with the JSON merge patch ``patch`` applied (RFC 7386): objects merge key by key,
    ``None`` removes a key, anything else replaces. The document the API server will store."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _at(doc: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted JSON path of ``doc`` (``spec.coreTemplate.spec.replicas``), or None."""
    value: Any = doc
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _nested(path: str, value: Any) -> dict[str, Any]:
    """A merge patch setting ``path`` to ``value``: ``spec.image`` -> ``{"spec": {"image": value}}``."""
    result: Any = value
    for key in reversed(path.split(".")):
        result = {key: result}
    return dict(result)


class AdminAction:
    """One action of the change list. Subclasses give the write; instances are declared per kind
    (``ResourceAdmin.actions``). ``permission`` names the admin's hook deciding who may run it on
    the objects of a namespace (``has_change_permission``, ``has_delete_permission``), as
    Django's ``allowed_permissions``."""

    name: str = ""
    """The form value and URL-safe key: ``delete_selected``, ``scale``."""
    label: StrOrPromise = ""
    """The action menu's text (translated when shown), as Django's ``short_description``: "Delete selected"."""
    done: StrOrPromise = ""
    """What the result says of an object it succeeded on: "Deleted", "Scaled" (translated when shown)."""
    audit_action: str = ""
    """The audit entry's action (``delete`` as the single delete page, so the trail reads alike)."""
    permission: Literal["change", "delete"] = "change"
    description: StrOrPromise = ""
    """What the confirmation page says the action will do (translated when shown)."""
    typed_name: bool = False
    """Production objects need their name typed (the single delete page's rule)."""
    typed_name_note: StrOrPromise = ""
    """What the confirmation page says above the typed names (translated when shown)."""
    changes_spec: bool = True
    """It changes the spec, so the operator answers it (the result page waits for that answer)."""

    def get_form(self, data: Mapping[str, Any] | None = None) -> forms.Form | None:
        """The form of the action's own values (a replica count, an image), or None."""
        return None

    def why_not(self, obj: Resource) -> str:
        """Why the action does not apply to ``obj`` as it is ('' when it does), in the active language."""
        if obj.problems:
            return gettext("the console does not understand it as stored (see its page)")
        return ""

    def now(self, obj: Resource, summary: Summary) -> str:
        """What the object has now of what the action changes, for the confirmation page, in the active
        language (a SafeString when it marks values up as code: the labels)."""
        return ""

    def typed_name_reasons(
        self, obj: Resource, production: Callable[[], list[str]], values: Mapping[str, Any] | None
    ) -> list[str]:
        """Why ``obj``'s name must be typed for this action to touch it ([]: it need not be).
        ``production()`` gives why it looks like production (console.forms.base.production_reasons:
        its own labels or its namespace's); ``values`` are the action form's values, None on the
        confirmation page before they are given (then: every object that may need it)."""
        return production() if self.typed_name else []

    def intended(self, obj: Resource, values: Mapping[str, Any]) -> Resource | None:
        """The object as the action will leave it (the audit entry's "intended"), or None."""
        return None

    def write(
        self,
        client: ResourceClient[Any],
        admin: ResourceAdmin,
        obj: Resource,
        pinned: Pinned,
        values: Mapping[str, Any],
        *,
        dry_run: bool,
    ) -> Resource | None:
        """Send the write (or its dry-run) with ``pinned``'s preconditions. Returns the object the
        API server answered with, if any; raises the client's errors."""
        raise NotImplementedError

    def succeeded(self, result: Resource | None) -> str:
        """The result page's sentence for an object the action succeeded on, in the active language."""
        return str(self.done)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class DeleteSelected(AdminAction):
    """Django admin's ``delete_selected``: DELETE with the pinned uid and resourceVersion as
    preconditions (a re-created object, or any write since the confirmation, is a Conflict)."""

    name = "delete_selected"
    label = _("Delete selected")
    done = _("Deleted")
    audit_action = "delete"
    permission = "delete"
    typed_name = True
    typed_name_note = _(
        "Some of these look like production: type each one's name to delete it."
        " One left untyped is not deleted; the others are."
    )
    changes_spec = False
    description = _("Deletes each object; what the operator created for it goes with it.")

    def why_not(self, obj: Resource) -> str:
        # An object the console does not understand may still be deleted (as on its own page).
        if obj.metadata.deletion_timestamp is not None:
            return gettext("it is already being deleted")
        return ""

    def write(
        self,
        client: ResourceClient[Any],
        admin: ResourceAdmin,
        obj: Resource,
        pinned: Pinned,
        values: Mapping[str, Any],
        *,
        dry_run: bool,
    ) -> Resource | None:
        result: Resource | None = client.delete(
            pinned.name,
            precondition_uid=pinned.uid,
            precondition_resource_version=pinned.resource_version,
            dry_run=dry_run,
        )
        return result

    def succeeded(self, result: Resource | None) -> str:
        if result is not None and result.metadata.deletion_timestamp is not None:
            waiting = ", ".join(result.metadata.finalizers or ()) or gettext("its last finalizer")
            return gettext(
                "Deletion requested: it waits for %(finalizers)s to be removed by the controller that added it"
            ) % {"finalizers": waiting}
        return str(self.done)


class _PatchAction(AdminAction):
    """An action that sends one JSON merge patch (RFC 7386) per object, with the pinned
    resourceVersion in it (``metadata.resourceVersion``: the API server's precondition)."""

    def patch(self, obj: Resource, values: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def intended(self, obj: Resource, values: Mapping[str, Any]) -> Resource | None:
        try:
            return type(obj).from_dict(merge_patch(obj.to_dict(), self.patch(obj, values)))
        except (ValidationError, ValueError):
            return None

    def write(
        self,
        client: ResourceClient[Any],
        admin: ResourceAdmin,
        obj: Resource,
        pinned: Pinned,
        values: Mapping[str, Any],
        *,
        dry_run: bool,
    ) -> Resource | None:
        body = merge_patch(self.patch(obj, values), {"metadata": {"resourceVersion": pinned.resource_version}})
        result: Resource = client.patch(pinned.name, body, patch_type=PatchType.MERGE, dry_run=dry_run)
        return result


class LabelAction(_PatchAction):
    """Add (or overwrite) or remove one label of each object."""

    name = "label"
    label = _("Add or remove a label")
    done = _("Labels changed")
    audit_action = "label"
    changes_spec = False
    description = _("Sets or removes one label (metadata.labels) of each object; nothing else changes.")

    def get_form(self, data: Mapping[str, Any] | None = None) -> forms.Form:
        return LabelForm(data)

    def why_not(self, obj: Resource) -> str:
        return "" if obj.metadata.deletion_timestamp is None else gettext("it is being deleted")

    typed_name_note = _(
        "Some of these are labelled production, which guards them against deletion by mistake: type each"
        " one's name to change that label. One left untyped keeps it; the others change."
    )

    def now(self, obj: Resource, summary: Summary) -> str:
        labels = sorted((obj.metadata.labels or {}).items())
        if not labels:
            return gettext("no labels")
        return format_html_join(", ", "<code>{}={}</code>", labels)

    def typed_name_reasons(
        self, obj: Resource, production: Callable[[], list[str]], values: Mapping[str, Any] | None
    ) -> list[str]:
        """Changing or removing an object's own production label (``environment=production``,
        console.forms.base.PRODUCTION_LABELS) lifts the delete guard, so it asks for the name
        typed as a delete would; any other label, or a namespace's production label, does not."""
        from console.forms.base import PRODUCTION_LABELS

        labels = obj.metadata.labels or {}
        own = [key for key in PRODUCTION_LABELS if labels.get(key) == "production"]
        if values is not None:
            keeps = values.get("operation") == "add" and values.get("value") == "production"
            own = [key for key in own if key == values.get("key") and not keeps]
        return [
            gettext("changing its %(label)s label lifts the guard against deleting it by mistake")
            % {"label": f"{key}=production"}
            for key in own
        ]

    def patch(self, obj: Resource, values: Mapping[str, Any]) -> dict[str, Any]:
        value = values.get("value", "") if values.get("operation") == "add" else None
        return {"metadata": {"labels": {values["key"]: value}}}

    def succeeded(self, result: Resource | None) -> str:
        return str(self.done)


class ScaleAction(_PatchAction):
    """Replica counts (``fields``, per node role). The one count whose path the CRD's scale
    subresource maps (``ScaleField.subresource``, and the admin's ``has_scale``), given alone, is
    written through ``/scale`` as ``kubectl scale`` writes it: a PUT of autoscaling/v1 Scale with
    the pinned resourceVersion. Several counts go in one merge patch, so that the CRD's rules judge
    the result, never a half-way state (EMQX v3beta1 refuses replicants beside fewer than 2 core
    nodes: scaling both up through two writes would fail whichever came first)."""

    name = "scale"
    label = pgettext_lazy("verb: change the replica counts", "Scale")
    done = _("Scaled")
    audit_action = "scale"
    description = _("Sets the replica counts given; an empty count stays as it is.")

    def __init__(self, fields: Sequence[ScaleField]) -> None:
        self.fields = tuple(fields)

    def get_form(self, data: Mapping[str, Any] | None = None) -> forms.Form:
        return ScaleForm(data, fields=self.fields)

    def why_not(self, obj: Resource) -> str:
        return super().why_not(obj) or (gettext("it is being deleted") if obj.metadata.deletion_timestamp else "")

    def now(self, obj: Resource, summary: Summary) -> str:
        doc = obj.to_dict()
        counts = ((str(f.label).lower(), _at(doc, f.path)) for f in self.fields)
        return ", ".join(f"{label} {'—' if count is None else count}" for label, count in counts)

    def _given(self, values: Mapping[str, Any]) -> list[tuple[ScaleField, int]]:
        return [(f, int(values[f.key])) for f in self.fields if values.get(f.key) is not None]

    def patch(self, obj: Resource, values: Mapping[str, Any]) -> dict[str, Any]:
        patch: dict[str, Any] = {}
        for f, count in self._given(values):
            patch = merge_patch(patch, _nested(f.path, count))
        return patch

    def write(
        self,
        client: ResourceClient[Any],
        admin: ResourceAdmin,
        obj: Resource,
        pinned: Pinned,
        values: Mapping[str, Any],
        *,
        dry_run: bool,
    ) -> Resource | None:
        given = self._given(values)
        if len(given) == 1 and given[0][0].subresource and admin.has_scale:
            _, count = given[0]
            meta = {"name": pinned.name, "namespace": pinned.namespace, "resourceVersion": pinned.resource_version}
            scale = Scale.model_validate({"metadata": meta, "spec": {"replicas": count}})
            client.update_scale(pinned.name, scale, dry_run=dry_run)
            return None
        return super().write(client, admin, obj, pinned, values, dry_run=dry_run)


class RestartAction(_PatchAction):
    """A rolling restart: :data:`RESTARTED_AT` set to now on the metadata of each pod template the
    object has, among ``templates[version]`` (JSON paths of the templates, by the object's API
    version: where that version's CRD lets pod annotations through to the pods). A template the
    object does not have is never created (a v2beta1 replicant template would start replicants).
    A version with no such place (``templates`` lacks it) is not restarted, with ``unsupported``."""

    name = "restart"
    label = _("Restart (rolling)")
    done = _("Restart requested")
    audit_action = "restart"
    description = format_lazy(
        _(
            "Sets the pod-template annotation {annotation} to now, as kubectl rollout restart does: the operator "
            "replaces every pod, one after another, with the same spec."
        ),
        annotation=RESTARTED_AT,
    )

    def __init__(self, templates: Mapping[str, Sequence[str]], unsupported: StrOrPromise = "") -> None:
        self.templates = {version: tuple(paths) for version, paths in templates.items()}
        self.unsupported = unsupported

    def _present(self, obj: Resource) -> list[str]:
        doc = obj.to_dict()
        version = obj.api_version.rsplit("/", 1)[-1]
        return [path for path in self.templates.get(version, ()) if isinstance(_at(doc, path), Mapping)]

    def why_not(self, obj: Resource) -> str:
        if reason := super().why_not(obj):
            return reason
        if obj.metadata.deletion_timestamp is not None:
            return gettext("it is being deleted")
        version = obj.api_version.rsplit("/", 1)[-1]
        if version not in self.templates:
            return str(self.unsupported) or gettext("%(kind)s %(version)s has no pod-template annotations to set") % {
                "kind": obj.kind,
                "version": version,
            }
        if not self._present(obj):
            return gettext("it has no pod template (%(paths)s) to annotate") % {
                "paths": ", ".join(self.templates[version])
            }
        return ""

    def now(self, obj: Resource, summary: Summary) -> str:
        doc = obj.to_dict()
        last = [_at(doc, f"{path}.metadata.annotations") or {} for path in self._present(obj)]
        times = sorted({str(a[RESTARTED_AT]) for a in last if RESTARTED_AT in a})
        if times:
            return gettext("last restarted %(time)s") % {"time": times[-1]}
        return gettext("never restarted from here")

    def patch(self, obj: Resource, values: Mapping[str, Any]) -> dict[str, Any]:
        when = values.get("at") or _now()
        patch: dict[str, Any] = {}
        for path in self._present(obj):
            patch = merge_patch(patch, _nested(f"{path}.metadata.annotations", {RESTARTED_AT: when}))
        return patch


class SetImageAction(_PatchAction):
    """The image every object runs: ``patches[version](reference)`` gives the merge patch for an
    object of that API version (EMQX ``spec.image``; a v1beta4 broker's image parts)."""

    name = "set_image"
    label = _("Set image (version)")
    done = _("Image set")
    audit_action = "set_image"
    description = _("Sets the image each object runs: the operator rolls its pods over to it.")

    def __init__(self, patches: Mapping[str, Callable[[str], dict[str, Any]]], example: str) -> None:
        self.patches = dict(patches)
        self.example = example

    def get_form(self, data: Mapping[str, Any] | None = None) -> forms.Form:
        return ImageForm(data, example=self.example)

    def why_not(self, obj: Resource) -> str:
        if reason := super().why_not(obj):
            return reason
        if obj.metadata.deletion_timestamp is not None:
            return gettext("it is being deleted")
        version = obj.api_version.rsplit("/", 1)[-1]
        if version in self.patches:
            return ""
        return gettext("%(kind)s %(version)s has no image the console sets") % {"kind": obj.kind, "version": version}

    def now(self, obj: Resource, summary: Summary) -> str:
        return summary.image or gettext("no image")

    def patch(self, obj: Resource, values: Mapping[str, Any]) -> dict[str, Any]:
        return self.patches[obj.api_version.rsplit("/", 1)[-1]](str(values["image"]))


def image_at(path: str) -> Callable[[str], dict[str, Any]]:
    """For :class:`SetImageAction`: the whole reference at one path (``spec.image``)."""
    return lambda reference: _nested(path, reference)


def image_parts(path: str) -> Callable[[str], dict[str, Any]]:
    """For :class:`SetImageAction`: a reference split into the parts of an operator 2.2 v1beta4
    image (``registry``, ``repository``, ``version``; ``prefix`` and ``suffix`` removed) at ``path``.
    The registry is the first segment when it has a dot or a port, or is ``localhost`` (as the
    distribution reference's ``splitDockerDomain``); a reference without a tag keeps ``latest``."""

    def patch(reference: str) -> dict[str, Any]:
        name, _, digest = reference.partition("@")
        repository, tag = name, "latest"
        if ":" in name.rsplit("/", 1)[-1]:
            repository, tag = name.rsplit(":", 1)
        registry = None
        first, _, rest = repository.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            registry, repository = first, rest
        version = f"{tag}@{digest}" if digest else tag
        parts = {"registry": registry, "repository": repository, "version": version, "prefix": None, "suffix": None}
        return _nested(path, parts)

    return patch


# ----- running an action ----------------------------------------------------------------------------


def _api_failure(error: EmqxClientError, cluster: str, who: str) -> str:
    """Why the API server did not do it, in the words of the single write pages, in the active language
    (the API server's own message as it wrote it)."""
    if isinstance(error, Conflict):
        return gettext(
            "it changed after the confirmation page (someone else's write, or the operator's), so nothing was "
            "done to it; select it again to act on it as it is now"
        )
    if isinstance(error, NotFound):
        return gettext("it no longer exists")
    if isinstance(error, Forbidden):
        return gettext("cluster %(cluster)s does not allow %(who)s to do it: %(error)s") % {
            "cluster": cluster,
            "who": who,
            "error": error.message,
        }
    if isinstance(error, Invalid):
        return gettext("the API server refused it: %(error)s") % {"error": error.message}
    return gettext("cluster %(cluster)s did not do it: %(error)s") % {"cluster": cluster, "error": error}


def _refusal(
    request: HttpRequest,
    cluster: Cluster,
    admin: ResourceAdmin,
    action: AdminAction,
    obj: Resource,
    pinned: Pinned,
    values: Mapping[str, Any],
    production: Callable[[Resource], list[str]],
    typed: Mapping[tuple[str, str], str],
) -> Callable[[], str] | None:
    """Why the console refuses to write ``obj`` (step 1 of the module docstring), as a function giving the
    reason in the language active when it is called (:class:`Refused`); None when it does not refuse."""
    ns, name = pinned.namespace, pinned.name
    if not getattr(admin, f"has_{action.permission}_permission")(request.user, cluster.name, ns):
        if action.permission == "delete":
            return lambda: (
                gettext("you may not delete %(kinds)s in namespace %(namespace)s")
                % {
                    "kinds": admin.verbose_name_plural,
                    "namespace": ns,
                }
            )
        return lambda: (
            gettext("you may not change %(kinds)s in namespace %(namespace)s")
            % {
                "kinds": admin.verbose_name_plural,
                "namespace": ns,
            }
        )
    if obj.metadata.uid != pinned.uid:
        return lambda: gettext(
            "it was deleted and created again after the confirmation page; nothing was done to this new one"
        )
    if action.why_not(obj):
        return lambda: gettext("the action does not apply: %(why)s") % {"why": action.why_not(obj)}
    reasons = functools.partial(action.typed_name_reasons, obj, functools.partial(production, obj), values)
    if reasons() and typed.get((ns, name), "") != name:
        return lambda: (
            gettext("its name was not typed, and it must be because %(reasons)s") % {"reasons": "; ".join(reasons())}
        )
    return None


def run(
    request: HttpRequest,
    cluster: Cluster,
    admin: ResourceAdmin,
    action: AdminAction,
    targets: Sequence[Pinned],
    values: Mapping[str, Any],
    *,
    production: Callable[[Resource], list[str]],
    typed: Mapping[tuple[str, str], str],
) -> list[Outcome]:
    """Run ``action`` on each of ``targets`` in turn (steps of the module docstring); one
    :class:`Outcome` per target, in order, whatever happened to the others. ``values``: the
    action form's cleaned data (``at``, the time of the confirmation, is added: a restart stamps
    every object alike). ``production(obj)`` gives why an object needs its name typed
    (console.forms.base.production_reasons); ``typed`` the names typed, by (namespace, name).
    Never raises for one object's failure."""
    from console import impersonation
    from console.audit import AuditUnavailable
    from console.views.edit import remember_write

    values = {"at": _now(), **values}
    who = gettext("the console") if not impersonation.enabled() else impersonation.describe(request.user)
    user = request.user
    try:
        cache = cluster.cache(admin.kind, wait=0)
    except EmqxClientError:
        cache = None
    outcomes: list[Outcome] = []
    for pinned in targets:
        ns, name = pinned.namespace, pinned.name

        def done(ok: bool, message: str, ns: str = ns, name: str = name, rv: str = pinned.resource_version) -> None:
            outcomes.append(Outcome(ns, name, ok, message, rv))

        if not admin.has_view_permission(user, cluster.name, ns):
            # No entry: nothing about it is told.
            done(False, gettext("you may no longer see objects in this namespace"))
            continue
        obj = cache.get(ns, name) if cache is not None else None
        try:
            client = cluster.client_for(user, admin.kind, ns)
            if obj is None:
                obj = client.get(name)
        except EmqxClientError as error:
            done(False, _api_failure(error, cluster.name, who))
            continue
        refusal = _refusal(request, cluster, admin, action, obj, pinned, values, production, typed)

        def write(
            obj: Resource = obj,
            client: ResourceClient[Any] = client,
            refusal: Callable[[], str] | None = refusal,
            pinned: Pinned = pinned,
        ) -> Any:
            if refusal is not None:
                raise Refused(refusal)
            action.write(client, admin, obj, pinned, values, dry_run=True)
            return action.write(client, admin, obj, pinned, values, dry_run=False)

        try:
            result = admin.audited_write(
                request,
                cluster.name,
                action.audit_action,
                ns,
                name,
                write,
                before=obj,
                intended=action.intended(obj, values),
            )
        except AuditUnavailable as error:
            done(False, str(error))
            continue
        except Refused as error:
            done(False, gettext("Not done: %(why)s.") % {"why": error.shown.rstrip(".")})
            continue
        except EmqxClientError as error:
            done(False, gettext("Not done: %(why)s.") % {"why": _api_failure(error, cluster.name, who).rstrip(".")})
            continue
        if isinstance(action, DeleteSelected) and (result is None or result.metadata.deletion_timestamp is None):
            remember_write(cluster, admin, forget=(ns, name))
        elif isinstance(result, Resource):
            remember_write(cluster, admin, result)
        done(True, action.succeeded(result if isinstance(result, Resource) else None))
    return outcomes
