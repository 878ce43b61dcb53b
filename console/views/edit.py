"""The write pages of every kind, given its admin: add, change (with a preview and a conflict
view) and delete.

Every create and update is first sent as a server-side dry-run, so the API server's own
validation lands on the form before anything is written; only the real write is audited.
Edits read the live object (not the cache), carry it signed in the form as their base, and
update with its resourceVersion: a concurrent change is shown as a conflict, never overwritten.
The form (console/forms/schema.py) or the YAML editor builds the intended object
(``form.intended(base)``); the views never look inside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import select_template
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from pydantic import ValidationError

from console import copies, diffs, impersonation
from console.audit import AuditUnavailable
from console.clusters import Cluster, cluster_names, get_cluster
from console.forms.base import (
    DeleteForm,
    EditBase,
    ResourceYamlForm,
    add_api_error,
    edit_yaml,
    hidden_inputs,
    production_reasons,
    pydantic_messages,
    yaml_skeleton,
)
from console.forms.copies import SaveAsNewForm
from console.forms.schema import FormSpec, ResourceForm, read_values
from console.permissions import can_somewhere, not_found, readable_namespaces, require
from console.registry import FormContext, ResourceAdmin
from console.views._common import cluster_view
from emqx.client.names import DNS_LABEL
from emqx.client.resource import ResourceClient
from emqx.errors import (
    ClusterUnreachable,
    ConfigurationError,
    Conflict,
    EmqxClientError,
    Forbidden,
    NotFound,
    UnknownKind,
)
from emqx.models._base import Resource

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

STRICT = "Strict"  # unknown fields are errors, judged by the cluster's own CRD version

EditForm = ResourceForm | ResourceYamlForm


class BeingDeleted(Exception):
    """The object has a deletionTimestamp: finalizers hold it until their controllers remove them.
    Edits and a second delete are refused (the API server would accept an edit, but it would be
    lost when the object goes); see tests/fieldcases/09-finalizer-stuck-delete."""

    def __init__(self, obj: Resource) -> None:
        super().__init__(f"{obj.metadata.namespace}/{obj.metadata.name} is being deleted")
        self.obj = obj


def _finalizers(obj: Resource) -> str:
    """'finalizer a' or 'finalizers a, b' (or 'its last finalizer' when the list is already empty)."""
    waiting = list(obj.metadata.finalizers or ())
    if not waiting:
        return gettext("its last finalizer")
    return ngettext("finalizer %(names)s", "finalizers %(names)s", len(waiting)) % {"names": ", ".join(waiting)}


def _being_deleted_page(
    request: HttpRequest, admin: ResourceAdmin, page: str, context: dict[str, Any], obj: Resource, outcome: StrOrPromise
) -> HttpResponse:
    """The write page of an object already being deleted: what it waits for, and no form (409)."""
    return _render(
        request, admin, page, {**context, "obj": obj, "problem": "deleting", "deleting_outcome": outcome}, status=409
    )


def _client(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, namespace: str, version: str | None = None
) -> ResourceClient[Any]:
    """The user's client: the console's identity, or theirs in impersonation mode (then the
    cluster's RBAC decides too), in ``version`` (default: the one the console uses there).
    Raises EmqxClientError when the cluster cannot be used."""
    if version is not None:
        return cluster.clientset_for(request.user).for_kind(admin.kind, namespace, version=version)
    return cluster.client_for(request.user, admin.kind, namespace)


def _who(request: HttpRequest) -> str:
    return gettext("the console") if not impersonation.enabled() else impersonation.describe(request.user)


def _model(cluster: Cluster, admin: ResourceAdmin) -> type[Resource]:
    """The model of the version the cluster serves (raises EmqxClientError)."""
    return admin.model_for(f"{admin.models[0].group}/{cluster.served_version(admin.kind)}")


def _render(
    request: HttpRequest, admin: ResourceAdmin, page: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(request, admin.get_template_names(page), {"admin": admin, **context}, status=status)


def remember_write(
    cluster: Cluster, admin: ResourceAdmin, obj: Resource | None = None, *, forget: tuple[str, str] | None = None
) -> None:
    """Show the user their own write on the next page, before the watch event arrives."""
    try:
        cache = cluster.cache(admin.kind, wait=0)
    except EmqxClientError:
        return
    if obj is not None:
        cache.observe(obj)
    if forget is not None:
        cache.forget(*forget)


def _error_page(
    request: HttpRequest,
    admin: ResourceAdmin,
    page: str,
    context: dict[str, Any],
    error: EmqxClientError,
    cluster: Cluster,
) -> HttpResponse:
    """A page that could not even load its object: gone (404), a kind the cluster does not serve
    (404), refused (403) or unreachable (503)."""
    if isinstance(error, UnknownKind):
        status = 404
        what = admin.verbose_name_plural
        problem = gettext(
            "Cluster %(cluster)s does not serve %(names)s in a version the console handles: %(error)s"
        ) % {
            "cluster": cluster.name,
            "names": what,
            "error": error,
        }
    elif isinstance(error, NotFound):
        status, problem = 404, "gone"
    elif isinstance(error, Forbidden):
        status, problem = (
            403,
            gettext("Cluster %(cluster)s does not allow %(who)s to read it: %(message)s")
            % {
                "cluster": cluster.name,
                "who": _who(request),
                "message": error.message,
            },
        )
    elif isinstance(error, ClusterUnreachable | ConfigurationError):
        status, problem = (
            503,
            gettext("Cluster %(cluster)s cannot be reached: %(error)s. Nothing was changed.")
            % {
                "cluster": cluster.name,
                "error": error,
            },
        )
    else:
        # The API server answered, with an error of its own (a conversion webhook down, etcd): this
        # object or kind is the problem, not the cluster.
        status, problem = (
            503,
            gettext("The API server of cluster %(cluster)s could not read it: %(error)s. Nothing was changed.")
            % {"cluster": cluster.name, "error": error},
        )
    return _render(request, admin, page, {**context, "cluster": cluster, "problem": problem}, status=status)


def _intended(form: EditForm, base: EditBase | None) -> Resource | None:
    """What the user asks for (a new object, or an update of ``base``); None, with the model's
    messages on the form, when the form's values do not make a valid object."""
    try:
        if isinstance(form, ResourceYamlForm):
            return form.intended(base)
        return form.intended(base.doc if base is not None else None)
    except ValidationError as error:
        for message in pydantic_messages(error):
            form.add_error(None, message)
        return None


# ----- where a save leads (Django admin's response_add / response_change) -----------------------------

SAVE_CHOICES = {
    "_continue": "Save and continue editing",
    "_addanother": "Save and add another",
}
"""The change form's save buttons besides Save, by their POST names (Django admin's), and labels."""


def save_choice(data: Any) -> str:
    """Which save button was pressed, by its POST name: ``_continue``, ``_addanother``, or "" (Save).
    The change form's choice travels with the edit as a hidden input of the same name through the
    review, the conflict page and the re-apply (templates/console/object/_edit_state.html)."""
    return next((choice for choice in SAVE_CHOICES if choice in data), "")


def _after_save(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, obj: Resource, done: str, *, yaml_mode: bool
) -> HttpResponse:
    """Where a successful create or update leads, as Django admin's ``response_add``/``response_change``:
    "Save and continue editing" to the object's change form (read again: its new resourceVersion; in
    YAML when edited as YAML), "Save and add another" to a new add form in the same namespace, Save to
    the detail page (after an update with ``?saved=``, so that it watches until the operator answers;
    see views.objects.object_status). ``done`` is "created" or "saved", for the message."""
    namespace, name = obj.metadata.namespace or "", obj.metadata.name or ""
    object_name = f"{admin.kind} {namespace}/{name}"
    said = (gettext("%(object)s was created.") if done == "created" else gettext("%(object)s was saved.")) % {
        "object": object_name
    }
    choice = save_choice(request.POST)
    if choice == "_continue" and admin.has_change_permission(request.user, cluster.name, namespace):
        messages.success(request, gettext("%(said)s You may edit it again below.") % {"said": said})
        url = reverse(admin.url_name("change"), args=[cluster.name, namespace, name])
        return redirect(url + ("?mode=yaml" if yaml_mode else ""))
    if choice == "_addanother":
        messages.success(
            request,
            gettext("%(said)s You may add another %(kind)s below.") % {"said": said, "kind": admin.verbose_name},
        )
        return redirect(reverse(admin.url_name("add"), args=[cluster.name]) + f"?namespace={quote(namespace)}")
    messages.success(request, said)
    url = reverse(admin.url_name("detail"), args=[cluster.name, namespace, name])
    return redirect(f"{url}?saved={int(time.time())}" if done == "saved" else url)


# ----- add -------------------------------------------------------------------------------------


def _require_add(request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, known: list[str]) -> None:
    """The namespace may come with the URL (?namespace=, kept in the form's action) and with
    the form: each one given must allow creating; with none chosen yet, some namespace must."""
    user = request.user
    given = (request.GET.get("namespace", ""), request.POST.get("metadata.namespace", ""))
    chosen = {ns for ns in given if DNS_LABEL.check(ns) is None}
    for ns in sorted(chosen):
        require(user, "create", admin.kind, ns, cluster.name)
    if chosen:
        return
    readable = readable_namespaces(user, cluster.name)
    if any(admin.has_add_permission(user, cluster.name, ns) for ns in {"*", *known, *(readable or ())}):
        return
    if readable is None or readable:
        raise PermissionDenied(
            gettext("You may not create %(names)s in this cluster.") % {"names": admin.verbose_name_plural}
        )
    raise not_found(gettext("No %(kind)s here."), kind=admin.kind)


def _api_error(
    request: HttpRequest,
    cluster: Cluster,
    admin: ResourceAdmin,
    form: forms.Form,
    error: EmqxClientError,
    verb: Literal["create", "update"],
    obj: Resource,
    *,
    dry_run: bool,
) -> None:
    """A failed write's error on the form, worded for this kind, cluster and identity."""
    add_api_error(
        form,
        error,
        kind=admin.kind,
        plural=str(admin.verbose_name_plural),
        cluster=cluster.name,
        verb=verb,
        namespace=obj.metadata.namespace or "",
        name=obj.metadata.name or "",
        dry_run=dry_run,
        who=_who(request),
    )


def _create(
    request: HttpRequest,
    cluster: Cluster,
    admin: ResourceAdmin,
    form: forms.Form,
    obj: Resource,
    *,
    version: str | None = None,
) -> Resource | None:
    """Dry-run, then create (in ``version``, default the one the console uses in ``cluster``).
    Errors land on the form; only the real create is audited."""
    namespace = obj.metadata.namespace or ""

    def on_form(error: EmqxClientError, *, dry_run: bool) -> None:
        _api_error(request, cluster, admin, form, error, "create", obj, dry_run=dry_run)

    try:
        client = _client(request, cluster, admin, namespace, version)
        client.create(obj, dry_run=True, field_validation=STRICT)
    except EmqxClientError as error:
        on_form(error, dry_run=True)
        return None
    try:
        created: Resource = admin.audited_write(
            request,
            cluster.name,
            "create",
            namespace,
            obj.metadata.name or "",
            lambda: client.create(obj, field_validation=STRICT),
            intended=obj,
        )
    except AuditUnavailable as error:
        form.add_error(None, str(error))
        return None
    except EmqxClientError as error:
        on_form(error, dry_run=False)
        return None
    return created


def _prefilled(spec: FormSpec, request: HttpRequest) -> dict[str, str]:
    """First values of an add form from the query, by field path, as Django admin's
    ``get_changeform_initial_data`` takes them: ``?spec.emqxRef.name=mqtt`` (a link from an EMQX page
    to a new API key for it). Only the form's own single-value fields; never on a POST."""
    if request.method != "GET":
        return {}
    paths = set(spec.paths()) - {"metadata.namespace"}
    found = {path: request.GET.get(path, "") for path in request.GET if path in paths}
    return {path: value for path, value in found.items() if len(value) <= 253}


@cluster_view
def object_add(request: HttpRequest, cluster: Cluster, admin: ResourceAdmin) -> HttpResponse:
    """Create from the form, or from YAML (``mode=yaml``)."""
    try:
        known = cluster.cache(admin.kind).namespaces()
    except EmqxClientError:
        known = []
    _require_add(request, cluster, admin, known)
    context: dict[str, Any] = {"cluster": cluster, "adding": True}
    try:
        model = _model(cluster, admin)
    except EmqxClientError as error:
        return _error_page(request, admin, "form", context, error, cluster)
    suggestions = [ns for ns in known if admin.has_add_permission(request.user, cluster.name, ns)]
    namespace = request.POST.get("metadata.namespace") or request.GET.get("namespace", "")
    spec = admin.get_form_spec(model, FormContext(cluster=cluster, namespace=namespace))
    yaml_mode = (request.POST if request.method == "POST" else request.GET).get("mode") == "yaml"
    form: EditForm
    if yaml_mode:
        data = request.POST if request.method == "POST" else None
        initial = None if data else {"yaml": yaml_skeleton(ResourceForm(spec=spec, namespace=namespace))}
        form = ResourceYamlForm(data, spec=spec, initial=initial)
    else:
        form = ResourceForm(
            request.POST if request.method == "POST" else None,
            spec=spec,
            namespace=request.GET.get("namespace", ""),
            namespaces=suggestions,
            initial=_prefilled(spec, request),
        )
    if request.method == "POST" and form.is_valid() and (obj := _intended(form, None)) is not None:
        require(request.user, "create", admin.kind, obj.metadata.namespace or "", cluster.name)
        if request.POST.get("action") == "to_yaml" and isinstance(form, ResourceForm):
            form, yaml_mode = ResourceYamlForm(spec=spec, initial={"yaml": yaml_skeleton(form)}), True
        elif (created := _create(request, cluster, admin, form, obj)) is not None:
            remember_write(cluster, admin, created)
            return _after_save(request, cluster, admin, created, "created", yaml_mode=yaml_mode)
    return _render(request, admin, "form", {**context, "form": form, "yaml_mode": yaml_mode, "model": model})


# ----- change ----------------------------------------------------------------------------------

_NO_EDITS = _("Nothing was changed: an edit now would be lost when it goes.")
_NOT_UNDERSTOOD = _(
    "The console does not understand this object as stored (see its page for why), so it opens as YAML. "
    "Fix what the page lists and save; the status is the operator's and is not edited."
)


def _field_names(form: ResourceForm, names: list[str]) -> list[str]:
    """Form field names as the form labels them; ``labels[team]`` as ``Labels: team``."""
    result = []
    for name in names:
        field, _, key = name.partition("[")
        label = str(form[field].label) if field in form.fields else field
        result.append(f"{label}: {key.rstrip(']')}" if key else label)
    return result


def _edit_form(spec: FormSpec, base: EditBase, yaml_mode: bool, data: Any = None) -> EditForm:
    """The edit page's form, pre-filled from ``base``: the form, or the whole object as YAML."""
    if yaml_mode:
        return ResourceYamlForm(data, spec=spec, initial={"yaml": edit_yaml(base.doc)}, base=base)
    return ResourceForm(data, spec=spec, base=base.doc)


def _conflict(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, form: EditForm, base: EditBase, intended: Resource
) -> HttpResponse:
    """Someone saved first: show both changes and offer to re-apply ours onto their version."""
    namespace, name = base.namespace, base.name
    context: dict[str, Any] = {"namespace": namespace, "name": name, "form": form, "editing": True}
    try:
        current = _client(request, cluster, admin, namespace).get(name)
    except EmqxClientError as error:
        return _error_page(request, admin, "form", context, error, cluster)
    fresh = EditBase.of(current)
    reapply: EditForm
    if isinstance(form, ResourceYamlForm):
        # The whole document merges path by path: theirs, with each field of ours on top.
        doc_merge = diffs.merge_docs(base.doc, intended.to_dict(), fresh.doc)
        theirs, ours, both = doc_merge.theirs, doc_merge.ours, doc_merge.conflicts
        reapply = ResourceYamlForm(spec=form.spec, initial={"yaml": edit_yaml(doc_merge.doc)}, base=fresh)
    else:
        spec = form.spec
        values = read_values(spec, fresh.doc)
        editable = [name for name in values if name not in ("metadata.name", "metadata.namespace")]
        merge = diffs.merge3(read_values(spec, base.doc), form.values(), values, editable)
        theirs, ours, both = (_field_names(form, f) for f in (merge.theirs, merge.ours, merge.conflicts))
        merged = {path: None if value == {} else value for path, value in merge.values.items()}
        reapply = ResourceForm(spec=spec, base=fresh.doc, initial={**values, **merged})
    return _render(
        request,
        admin,
        "conflict",
        {
            "cluster": cluster,
            "namespace": namespace,
            "name": name,
            "their_diff": diffs.unified(base.doc, fresh.doc),
            "your_diff": diffs.unified(base.doc, intended.to_dict()),
            "their_fields": theirs,
            "your_fields": ours,
            "both_fields": both,
            "reapply": reapply,
            "reapply_inputs": hidden_inputs(reapply),
            "yaml_mode": isinstance(form, ResourceYamlForm),
            "base": fresh,
            "then": save_choice(request.POST),
        },
        status=409,
    )


def _update(
    request: HttpRequest,
    cluster: Cluster,
    admin: ResourceAdmin,
    form: EditForm,
    base: EditBase,
    intended: Resource,
    *,
    save: bool,
) -> Resource | Exception | None:
    """Dry-run the update, then (``save``) write it. Returns the saved object, the dry-run
    result (not saving), or the Conflict/NotFound the view shows as a page of its own;
    other errors land on the form (None)."""
    namespace = intended.metadata.namespace or ""

    def on_form(error: EmqxClientError, *, dry_run: bool) -> None:
        _api_error(request, cluster, admin, form, error, "update", intended, dry_run=dry_run)

    try:
        client = _client(request, cluster, admin, namespace)
        checked: Resource = client.update(intended, dry_run=True, field_validation=STRICT)
    except (Conflict, NotFound) as error:
        return error
    except EmqxClientError as error:
        on_form(error, dry_run=True)
        return None
    if checked.metadata.deletion_timestamp is not None:
        return BeingDeleted(checked)
    if not save:
        return checked
    try:
        saved: Resource = admin.audited_write(
            request,
            cluster.name,
            "update",
            base.namespace,
            base.name,
            lambda: client.update(intended, field_validation=STRICT),
            before=base.obj,
            intended=intended,
        )
    except AuditUnavailable as error:
        form.add_error(None, str(error))
        return None
    except EmqxClientError as error:
        if isinstance(error, Conflict | NotFound):
            return error
        on_form(error, dry_run=False)
        return None
    return saved


def _rebased(request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, base: EditBase) -> EditBase | None:
    """The current version as the new base, when it differs from ``base`` in nothing a person
    edits (spec, labels, annotations); None otherwise or when it cannot be read."""
    try:
        current = EditBase.of(_client(request, cluster, admin, base.namespace).get(base.name))
    except EmqxClientError:
        return None
    same_object = (current.doc.get("metadata") or {}).get("uid") == (base.doc.get("metadata") or {}).get("uid")
    if not same_object or diffs.clean(current.doc) != diffs.clean(base.doc):
        return None
    return current


def _loaded_base(request: HttpRequest, admin: ResourceAdmin, namespace: str, name: str) -> EditBase | None:
    """The signed starting point posted with the form, if it is intact and of this object."""
    loaded = EditBase.load(request.POST.get("base", ""))
    if loaded is None or (loaded.namespace, loaded.name) != (namespace, name):
        return None
    if request.POST.get("resource_version", loaded.resource_version) != loaded.resource_version:
        return None
    try:
        admin.model_for(str(loaded.doc.get("apiVersion")))
        loaded.obj  # noqa: B018 - a document no model reads is as good as tampered with
    except (LookupError, ValidationError):
        return None
    return loaded


@cluster_view
def object_change(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, namespace: str, name: str
) -> HttpResponse:
    """Edit with the form or as YAML (``mode=yaml``): edit -> preview of the diff -> save; a
    conflict shows both sides and offers to re-apply onto the current version."""
    require(request.user, "update", admin.kind, namespace, cluster.name)
    yaml_mode = (request.POST if request.method == "POST" else request.GET).get("mode") == "yaml"
    context: dict[str, Any] = {
        "cluster": cluster,
        "namespace": namespace,
        "name": name,
        "editing": True,
        "yaml_mode": yaml_mode,
        "then": save_choice(request.POST),
    }
    if request.method != "POST":
        try:
            base = EditBase.of(_client(request, cluster, admin, namespace).get(name))
        except EmqxClientError as error:
            return _error_page(request, admin, "form", context, error, cluster)
        if base.obj.metadata.deletion_timestamp is not None:
            return _being_deleted_page(request, admin, "form", context, base.obj, _NO_EDITS)
        if base.obj.problems and not yaml_mode:
            # The form reads typed fields that are not understood here: the YAML editor shows the
            # document as stored, and saving checks it against the model.
            yaml_mode = context["yaml_mode"] = True
            messages.warning(request, _NOT_UNDERSTOOD)
        spec = admin.get_form_spec(type(base.obj), FormContext(cluster=cluster, namespace=namespace, editing=True))
        return _render(request, admin, "form", {**context, "form": _edit_form(spec, base, yaml_mode), "base": base})
    loaded = _loaded_base(request, admin, namespace, name)
    if loaded is None:
        context["problem"] = gettext("This form's starting point is missing or was altered. Open the edit page again.")
        return _render(request, admin, "form", context, status=400)
    base = loaded
    spec = admin.get_form_spec(type(base.obj), FormContext(cluster=cluster, namespace=namespace, editing=True))
    form = _edit_form(spec, base, yaml_mode, request.POST)
    step = request.POST.get("step", "preview")
    context.update(form=form, base=base)
    if step == "edit" or not form.is_valid() or (intended := _intended(form, base)) is None:
        return _render(request, admin, "form", context)
    if step == "to_yaml":
        # The form's changes so far, carried into the YAML editor (nothing is sent yet).
        yaml_form = ResourceYamlForm(spec=spec, initial={"yaml": edit_yaml(intended.to_dict())}, base=base)
        return _render(request, admin, "form", {**context, "form": yaml_form, "yaml_mode": True})
    if step == "save" and not diffs.changes(base.doc, intended.to_dict()):
        step = "preview"  # a Save of no change (sent twice, or from a stale page) writes nothing: the review says so
    result = _update(request, cluster, admin, form, base, intended, save=step == "save")
    if isinstance(result, Conflict) and (rebased := _rebased(request, cluster, admin, base)) is not None:
        # Only the operator's status (or other bookkeeping) moved on: nothing of theirs can be
        # overwritten, so the user's changes go onto the new version without asking.
        rebased_intended = _intended(form, rebased)
        if rebased_intended is not None:
            base, intended = rebased, rebased_intended
            context["base"] = base
            result = _update(request, cluster, admin, form, base, intended, save=step == "save")
    if isinstance(result, Conflict):
        return _conflict(request, cluster, admin, form, base, intended)
    if isinstance(result, NotFound):
        return _render(request, admin, "form", {**context, "problem": "gone"}, status=404)
    if isinstance(result, BeingDeleted):
        return _being_deleted_page(request, admin, "form", context, result.obj, _NO_EDITS)
    if result is None:
        return _render(request, admin, "form", context)
    if step == "save":
        assert isinstance(result, Resource)
        remember_write(cluster, admin, result)
        return _after_save(request, cluster, admin, result, "saved", yaml_mode=yaml_mode)
    context["changes"] = diffs.changes(base.doc, intended.to_dict())
    context["diff"] = diffs.unified(base.doc, intended.to_dict())
    context["notes"] = admin.change_notes(base.obj, intended)
    context["inputs"] = hidden_inputs(form)
    return _render(request, admin, "preview", context)


# ----- delete ----------------------------------------------------------------------------------


@cluster_view
def object_delete(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, namespace: str, name: str
) -> HttpResponse:
    """Confirm, then delete with preconditions on uid and resourceVersion."""
    require(request.user, "delete", admin.kind, namespace, cluster.name)
    context: dict[str, Any] = {"cluster": cluster, "namespace": namespace, "name": name}
    try:
        client = _client(request, cluster, admin, namespace)
        obj = client.get(name)
    except EmqxClientError as error:
        return _error_page(request, admin, "delete", context, error, cluster)
    if obj.metadata.deletion_timestamp is not None:
        page = _being_deleted_page(request, admin, "delete", context, obj, gettext("There is nothing more to confirm."))
        page.status_code = 409 if request.method == "POST" else 200
        return page
    reasons = production_reasons(cluster.namespace_labels(namespace), obj.metadata.labels or {})
    pinned = {"uid": obj.metadata.uid, "generation": obj.metadata.generation or 0}
    form = DeleteForm(request.POST or None, initial=pinned, name=name, confirm_required=bool(reasons))
    context.update(
        obj=obj,
        summary=admin.summarize(obj),
        reasons=reasons,
        form=form,
        delete_notes=select_template(admin.get_template_names("_delete_notes")),
    )
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["uid"] != obj.metadata.uid or form.cleaned_data["generation"] != pinned["generation"]:
            # Re-created, or its spec changed, since the page was shown: show it as it is now.
            messages.warning(
                request,
                gettext("%(object)s changed since you opened this page; nothing was deleted.")
                % {"object": f"{admin.kind} {namespace}/{name}"},
            )
            context["form"] = DeleteForm(initial=pinned, name=name, confirm_required=bool(reasons))
            return _render(request, admin, "delete", context, status=409)
        try:
            # Status-only writes (the operator's) since the page was shown are fine; any write
            # after this read, or another object of the same name, fails the preconditions.
            held = admin.audited_write(
                request,
                cluster.name,
                "delete",
                namespace,
                name,
                lambda: client.delete(
                    name,
                    precondition_uid=obj.metadata.uid,
                    precondition_resource_version=obj.metadata.resource_version,
                ),
                before=obj,
            )
        except AuditUnavailable as error:
            form.add_error(None, str(error))
            return _render(request, admin, "delete", context, status=503)
        except EmqxClientError as error:
            if isinstance(error, NotFound):
                return _render(request, admin, "delete", {**context, "problem": "gone"}, status=404)
            form.add_error(None, _delete_error(cluster, error, _who(request)))
            return _render(request, admin, "delete", context, status=409 if isinstance(error, Conflict) else 200)
        if held is not None and held.metadata.deletion_timestamp is not None:
            # Finalizers keep it (the API server answered with the object): requested, not done.
            remember_write(cluster, admin, held)
            messages.success(
                request,
                gettext(
                    "%(object)s: deletion was requested. It waits for %(finalizers)s to be removed by the controller "
                    "that added it, and is listed as Deleting until then."
                )
                % {"object": f"{admin.kind} {namespace}/{name}", "finalizers": _finalizers(held)},
            )
        else:
            remember_write(cluster, admin, forget=(namespace, name))
            messages.success(
                request, gettext("%(object)s was deleted.") % {"object": f"{admin.kind} {namespace}/{name}"}
            )
        return redirect(reverse(admin.url_name("list"), args=[cluster.name]) + f"?namespace={quote(namespace)}")
    return _render(request, admin, "delete", context)


def _delete_error(cluster: Cluster, error: EmqxClientError, who: str) -> str:
    if isinstance(error, Conflict):
        return gettext("It changed at this very moment; nothing was deleted. Review it and confirm again.")
    if isinstance(error, Forbidden):
        return gettext("Cluster %(cluster)s does not allow %(who)s to delete it: %(message)s") % {
            "cluster": cluster.name,
            "who": who,
            "message": error.message,
        }
    return gettext("Cluster %(cluster)s did not delete it: %(error)s. It may or may not be gone; reload to see.") % {
        "cluster": cluster.name,
        "error": error,
    }


# ----- save as new ----------------------------------------------------------------------------------

_SOURCE_SALT = "console.views.edit.saveasnew"


@dataclass(frozen=True)
class CopySource:
    """What "Save as new" copies, signed into its form (the server keeps no state between pages):
    ``source``, the object as stored (what the review's diff is against), and ``content``, the
    document copied: the same object, or the change form's edit of it (Django admin's save_as
    saves the form as it stands)."""

    source: dict[str, Any]
    content: dict[str, Any]

    def token(self) -> str:
        content = None if self.content == self.source else self.content
        return signing.dumps({"source": self.source, "content": content}, salt=_SOURCE_SALT, compress=True)

    @classmethod
    def load(cls, token: str, namespace: str, name: str) -> CopySource | None:
        """From :meth:`token`; None when missing, tampered with, or about another object."""
        try:
            data = signing.loads(token, salt=_SOURCE_SALT)
        except (signing.BadSignature, ValueError, TypeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("source"), dict):
            return None
        source = EditBase(data["source"])
        if (source.namespace, source.name) != (namespace, name):
            return None
        content = data.get("content")
        return cls(source.doc, content if isinstance(content, dict) else source.doc)


def copy_targets(user: Any, admin: ResourceAdmin) -> list[str]:
    """The configured clusters where ``user`` may add ``admin``'s kind in some namespace."""
    return [name for name in cluster_names() if can_somewhere(user, "create", admin.kind, name)]


def _copy_in(
    target: Cluster, admin: ResourceAdmin, form: SaveAsNewForm, content: dict[str, Any]
) -> tuple[Resource, str, str] | None:
    """The copy of ``content`` for the form's target: (object, version it is written in, a note when
    its apiVersion was rewritten); None, with the reason on the form's cluster field, when the target
    serves the kind in no version the copy can be written in (console/copies.py, target_version)."""
    data = form.cleaned_data
    source_version = str(content.get("apiVersion", "")).rpartition("/")[2]
    try:
        served = [v for v in target.clientset.discovery.kind(admin.kind).versions if v in admin.versions]
    except EmqxClientError as error:
        form.add_error(
            "cluster",
            gettext("Cluster %(cluster)s cannot be asked which versions it serves: %(error)s")
            % {"cluster": target.name, "error": error},
        )
        return None
    version, rewritten = copies.target_version(source_version, served, admin.same_schema_versions)
    if version is None:
        where = (
            gettext("in %(versions)s") % {"versions": ", ".join(served)}
            if served
            else gettext("in no version the console handles")
        )
        form.add_error(
            "cluster",
            gettext(
                "Cluster %(cluster)s serves %(kind)s %(where)s; this one is %(version)s. The console does not "
                "convert a %(kind)s between these versions (their specs differ). Nothing was created: open "
                "Add %(name)s on %(cluster)s and write it for its version."
            )
            % {
                "cluster": target.name,
                "kind": admin.kind,
                "where": where,
                "version": source_version,
                "name": admin.verbose_name,
            },
        )
        return None
    api_version = f"{admin.models[0].group}/{version}"
    doc = copies.copied(content, namespace=data["namespace"], name=data["name"], api_version=api_version)
    note = ""
    if rewritten:
        note = gettext(
            "Cluster %(cluster)s does not serve %(kind)s %(source)s: the copy is written as %(version)s, "
            "which its operator serves as the same stored object (apiVersion rewritten, nothing else); the "
            "cluster's dry-run checked every field against its %(version)s schema."
        ) % {"cluster": target.name, "kind": admin.kind, "source": source_version, "version": version}
    return admin.model_for(api_version).read(doc), version, note


@cluster_view
def object_saveasnew(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, namespace: str, name: str
) -> HttpResponse:
    """Save as new (Django admin's ``save_as``): copy this object to another name, namespace or
    configured cluster. The copy (console/copies.py: no server-set metadata, no bookkeeping labels or
    annotations, no status) is dry-run on the target first, then shown as a diff against the source;
    "Create the copy" creates it (dry-run again, then the real create, audited as any add).

    Reached from the detail page (GET: copies the object as stored) or from the change form's "Save as
    new…" button (a POST of the change form: copies the edit as it stands). 404 when the user may not
    view the source; 403 when they may add the kind nowhere; a target namespace they may not write, a
    taken or invalid name, a version the target does not serve: field errors, nothing created."""
    admin.require(request.user, "view", cluster.name, namespace)
    targets = copy_targets(request.user, admin)
    if not targets:
        raise PermissionDenied(
            gettext("You may not add %(names)s in any cluster.") % {"names": admin.verbose_name_plural}
        )
    context: dict[str, Any] = {"cluster": cluster, "namespace": namespace, "name": name}
    source: CopySource | None
    data: Any = None
    if request.method == "POST" and "_saveasnew" in request.POST:
        answer = _edited_source(request, cluster, admin, namespace, name, context)
        if isinstance(answer, HttpResponse):
            return answer
        source = answer
    elif request.method == "POST":
        source, data = CopySource.load(request.POST.get("source", ""), namespace, name), request.POST
        if source is None:
            context["problem"] = gettext(
                "This form's copy of the object is missing or was altered. Open Save as new again."
            )
            return _render(request, admin, "saveasnew", context, status=400)
    else:
        try:
            stored = EditBase.of(_client(request, cluster, admin, namespace).get(name)).doc
        except EmqxClientError as error:
            return _error_page(request, admin, "saveasnew", context, error, cluster)
        source = CopySource(stored, stored)
    initial = {
        "cluster": cluster.name if cluster.name in targets else targets[0],
        "namespace": namespace,
        "name": f"{name}-copy"[: admin.name_rule.max_length],
        "source": source.token(),
    }
    form = SaveAsNewForm(data, initial=initial, admin=admin, user=request.user, clusters=targets)
    context.update(form=form, suggestions=_add_namespaces(request.user, admin, targets))
    step = request.POST.get("step", "") if data is not None else ""
    if step not in ("preview", "save") or not form.is_valid():
        return _render(request, admin, "saveasnew", context)
    target = get_cluster(form.cleaned_data["cluster"])
    assert target is not None  # a choice among the configured clusters
    made = _copy_in(target, admin, form, source.content)
    if made is None:
        return _render(request, admin, "saveasnew", context)
    copy_obj, version, note = made
    if step == "save":
        created = _create(request, target, admin, form, copy_obj, version=version)
        if created is None:
            return _render(request, admin, "saveasnew", context)
        remember_write(target, admin, created)
        meta = created.metadata
        where = f"{meta.namespace}/{meta.name}"
        if target is not cluster:
            where = gettext("%(object)s in cluster %(cluster)s") % {"object": where, "cluster": target.name}
        messages.success(
            request,
            gettext("%(object)s was created as a copy of %(source)s.")
            % {"object": f"{admin.kind} {where}", "source": f"{namespace}/{name}"},
        )
        if admin.save_as_continue and admin.has_change_permission(request.user, target.name, meta.namespace or ""):
            return redirect(admin.url_name("change"), target.name, meta.namespace, meta.name)
        return redirect(admin.url_name("detail"), target.name, meta.namespace, meta.name)
    try:
        checked = _client(request, target, admin, copy_obj.metadata.namespace or "", version).create(
            copy_obj, dry_run=True, field_validation=STRICT
        )
    except EmqxClientError as error:
        _api_error(request, target, admin, form, error, "create", copy_obj, dry_run=True)
        return _render(request, admin, "saveasnew", context)
    # The copy as the target would store it: with the defaults of its CRD version (diffs.clean drops
    # what the server sets), so that a default the source's cluster does not have shows too.
    copy_doc = checked.to_dict()
    context.update(
        reviewing=True,
        target=target,
        note=note,
        inputs=hidden_inputs(form),
        diff=diffs.unified(source.source, copy_doc),
        changes=diffs.changes(source.source, copy_doc),
    )
    return _render(request, admin, "saveasnew", context)


def _edited_source(
    request: HttpRequest, cluster: Cluster, admin: ResourceAdmin, namespace: str, name: str, context: dict[str, Any]
) -> CopySource | HttpResponse:
    """The change form's edit, posted by its "Save as new…" button, as what to copy; or the change
    form again with its errors (posting back to the change page), or a 400 for a missing base."""
    base = _loaded_base(request, admin, namespace, name)
    if base is None:
        context["problem"] = gettext("This form's starting point is missing or was altered. Open the edit page again.")
        return _render(request, admin, "saveasnew", context, status=400)
    yaml_mode = request.POST.get("mode") == "yaml"
    spec = admin.get_form_spec(type(base.obj), FormContext(cluster=cluster, namespace=namespace, editing=True))
    form = _edit_form(spec, base, yaml_mode, request.POST)
    if not form.is_valid() or (intended := _intended(form, base)) is None:
        change = reverse(admin.url_name("change"), args=[cluster.name, namespace, name])
        page = {**context, "editing": True, "yaml_mode": yaml_mode, "form": form, "base": base, "form_action": change}
        return _render(request, admin, "form", page)
    return CopySource(base.doc, intended.to_dict())


def _add_namespaces(user: Any, admin: ResourceAdmin, targets: list[str]) -> list[str]:
    """Namespaces to suggest for a copy: those of the targets' caches (as they are now, never waiting)
    where the user may add the kind."""
    found: set[str] = set()
    for name in targets:
        target = get_cluster(name)
        informer = target.peek(admin.kind).informer if target is not None else None
        if informer is not None:
            found |= {ns for ns in informer.namespaces() if admin.has_add_permission(user, name, ns)}
    return sorted(found)


__all__ = ["object_add", "object_change", "object_delete", "object_saveasnew", "save_choice"]
