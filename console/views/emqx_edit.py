"""EMQX write pages: add, change (with a preview and a conflict view) and delete.

Every create and update is first sent as a server-side dry-run, so the API server's own
validation lands on the form before anything is written; only the real write is audited.
Edits read the live object (not the cache), carry it signed in the form as their base, and
update with its resourceVersion: a concurrent change is shown as a conflict, never overwritten.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from console import audit, diffs, impersonation
from console.clusters import Cluster
from console.forms.emqx import (
    DNS_LABEL_RE,
    EDITABLE_FIELDS,
    EditBase,
    EMQXDeleteForm,
    EMQXForm,
    EMQXYamlForm,
    add_api_error,
    edit_yaml,
    edited_emqx,
    emqx_values,
    new_emqx,
    new_values,
    production_reasons,
    yaml_skeleton,
)
from console.permissions import can, readable_namespaces, require
from console.views._common import cluster_view
from emqx.client.resource import ResourceClient
from emqx.errors import Conflict, EmqxClientError, Forbidden, NotFound
from emqx.models.apps_v2beta1 import EMQX

KIND = "EMQX"
STRICT = "Strict"  # unknown fields are errors, judged by the cluster's own CRD version


def _client(request: HttpRequest, cluster: Cluster, namespace: str) -> ResourceClient[EMQX]:
    """The user's client: the console's identity, or theirs in impersonation mode (then the
    cluster's RBAC decides too). Raises EmqxClientError when the cluster cannot be used."""
    return impersonation.clientset_for(cluster.clientset, request.user).apps_v2beta1.emqxes(namespace)


def _who(request: HttpRequest) -> str:
    return "the console" if not impersonation.enabled() else impersonation.describe(request.user)


def _remember(cluster: Cluster, obj: EMQX | None = None, *, forget: tuple[str, str] | None = None) -> None:
    """Show the user their own write on the next page, before the watch event arrives."""
    try:
        cache = cluster.emqx_cache()
    except EmqxClientError:
        return
    if obj is not None:
        cache.observe(obj)
    if forget is not None:
        cache.forget(*forget)


def _record(
    request: HttpRequest,
    cluster: Cluster,
    action: str,
    namespace: str,
    name: str,
    *,
    before: EMQX | None = None,
    after: EMQX | None = None,
    error: EmqxClientError | None = None,
) -> None:
    audit.record(
        request,
        cluster=cluster.name,
        action=action,
        kind=KIND,
        namespace=namespace,
        name=name,
        outcome="failure" if error is not None else "success",
        before=before.to_dict() if before is not None else None,
        after=after.to_dict() if after is not None else None,
        error=str(error) if error is not None else "",
    )


def _error_page(
    request: HttpRequest, template: str, context: dict[str, Any], error: EmqxClientError, cluster: Cluster
) -> HttpResponse:
    """A page that could not even load its object: gone (404), refused (403) or unreachable (503)."""
    if isinstance(error, NotFound):
        status, problem = 404, "gone"
    elif isinstance(error, Forbidden):
        status, problem = 403, f"Cluster {cluster.name} does not allow {_who(request)} to read it: {error.message}"
    else:
        status, problem = 503, f"Cluster {cluster.name} cannot be reached: {error}. Nothing was changed."
    return render(request, template, {**context, "cluster": cluster, "problem": problem}, status=status)


# ----- add -------------------------------------------------------------------------------------


def _require_add(request: HttpRequest, cluster: Cluster, known: list[str]) -> None:
    """The namespace may come with the URL (?namespace=, kept in the form's action) and with
    the form: each one given must allow creating; with none chosen yet, some namespace must."""
    user = request.user
    chosen = {
        ns for ns in (request.GET.get("namespace", ""), request.POST.get("namespace", "")) if DNS_LABEL_RE.match(ns)
    }
    for ns in sorted(chosen):
        require(user, "create", KIND, ns, cluster.name)
    if chosen:
        return
    readable = readable_namespaces(user, cluster.name)
    if any(can(user, "create", KIND, ns, cluster.name) for ns in {"*", *known, *(readable or ())}):
        return
    if readable is None or readable:
        raise PermissionDenied("You may not create EMQX instances in this cluster.")
    raise Http404("No EMQX here.")


def _add_form(request: HttpRequest, yaml_mode: bool, suggestions: list[str]) -> forms.Form:
    initial = new_values(request.GET.get("namespace", ""))
    if request.method != "POST":
        return EMQXYamlForm(initial={"yaml": yaml_skeleton(initial)}) if yaml_mode else EMQXForm(initial=initial)
    if yaml_mode:
        return EMQXYamlForm(request.POST)
    return EMQXForm(request.POST, initial=initial, namespaces=suggestions)


def _create(request: HttpRequest, cluster: Cluster, form: forms.Form, obj: EMQX) -> EMQX | None:
    """Dry-run, then create. Errors land on the form; only the real create is audited."""
    namespace, name = obj.metadata.namespace or "", obj.metadata.name or ""
    where = {"cluster": cluster.name, "verb": "create", "namespace": namespace, "name": name, "who": _who(request)}
    try:
        client = _client(request, cluster, namespace)
        client.create(obj, dry_run=True, field_validation=STRICT)
    except EmqxClientError as error:
        add_api_error(form, error, dry_run=True, **where)  # type: ignore[arg-type]
        return None
    try:
        created = client.create(obj, field_validation=STRICT)
    except EmqxClientError as error:
        add_api_error(form, error, dry_run=False, **where)  # type: ignore[arg-type]
        _record(request, cluster, "create", namespace, name, after=obj, error=error)
        return None
    _record(request, cluster, "create", namespace, name, after=created)
    return created


@cluster_view
def emqx_add(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """Create an EMQX from the form, or from YAML (``mode=yaml``)."""
    try:
        known = cluster.emqx_cache().namespaces()
    except EmqxClientError:
        known = []
    _require_add(request, cluster, known)
    suggestions = [ns for ns in known if can(request.user, "create", KIND, ns, cluster.name)]
    yaml_mode = (request.POST if request.method == "POST" else request.GET).get("mode") == "yaml"
    form = _add_form(request, yaml_mode, suggestions)
    if request.method == "POST" and form.is_valid():
        obj = form.emqx if isinstance(form, EMQXYamlForm) else new_emqx(form.values())  # type: ignore[attr-defined]
        require(request.user, "create", KIND, obj.metadata.namespace or "", cluster.name)
        if request.POST.get("action") == "to_yaml":
            form, yaml_mode = EMQXYamlForm(initial={"yaml": yaml_skeleton(form.values())}), True  # type: ignore[attr-defined]
        elif (created := _create(request, cluster, form, obj)) is not None:
            _remember(cluster, created)
            messages.success(request, f"EMQX {created.metadata.namespace}/{created.metadata.name} was created.")
            return redirect("emqx_detail", cluster.name, created.metadata.namespace, created.metadata.name)
    if isinstance(form, EMQXForm):
        form.namespace_suggestions = suggestions
    context = {"cluster": cluster, "form": form, "adding": True, "yaml_mode": yaml_mode}
    return render(request, "console/emqx/form.html", context)


# ----- change ----------------------------------------------------------------------------------


def _gone(request: HttpRequest, cluster: Cluster, namespace: str, name: str, template: str) -> HttpResponse:
    return render(
        request,
        template,
        {"cluster": cluster, "namespace": namespace, "name": name, "problem": "gone"},
        status=404,
    )


def _field_names(form: EMQXForm, names: list[str]) -> list[str]:
    """Form field names as the form labels them; ``labels[team]`` as ``Labels: team``."""
    result = []
    for name in names:
        field, _, key = name.partition("[")
        label = str(form[field].label) if field in form.fields else field
        result.append(f"{label}: {key.rstrip(']')}" if key else label)
    return result


EditForm = EMQXForm | EMQXYamlForm


def _edit_form(base: EditBase, yaml_mode: bool, data: Any = None) -> EditForm:
    """The edit page's form, pre-filled from ``base``: the form, or the whole object as YAML."""
    if yaml_mode:
        return EMQXYamlForm(data, initial={"yaml": edit_yaml(base.doc)}, base=base)
    return EMQXForm(data, initial=base.values(), editing=True)


def _intended(form: EditForm, base: EditBase) -> EMQX:
    """What the user asks for, as an update of ``base``."""
    if isinstance(form, EMQXYamlForm):
        return form.edited(base)
    return edited_emqx(base.doc, form.values())


def _conflict(request: HttpRequest, cluster: Cluster, form: EditForm, base: EditBase, intended: EMQX) -> HttpResponse:
    """Someone saved first: show both changes and offer to re-apply ours onto their version."""
    namespace, name = base.emqx.metadata.namespace or "", base.emqx.metadata.name or ""
    try:
        current = _client(request, cluster, namespace).get(name)
    except EmqxClientError as error:
        context = {"namespace": namespace, "name": name, "form": form, "editing": True}
        return _error_page(request, "console/emqx/form.html", context, error, cluster)
    fresh = EditBase.of(current)
    reapply: EditForm
    if isinstance(form, EMQXYamlForm):
        # The whole document merges path by path: theirs, with each field of ours on top.
        doc_merge = diffs.merge_docs(base.doc, intended.to_dict(), fresh.doc)
        theirs, ours, both = doc_merge.theirs, doc_merge.ours, doc_merge.conflicts
        reapply = EMQXYamlForm(initial={"yaml": edit_yaml(doc_merge.doc)}, base=fresh)
    else:
        values = emqx_values(current)
        merge = diffs.merge3(base.values(), form.values(), values, EDITABLE_FIELDS)
        theirs, ours, both = (_field_names(form, f) for f in (merge.theirs, merge.ours, merge.conflicts))
        reapply = EMQXForm(initial={**values, **merge.values}, editing=True)
    return render(
        request,
        "console/emqx/conflict.html",
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
            "yaml_mode": isinstance(form, EMQXYamlForm),
            "base": fresh,
        },
        status=409,
    )


def _update(
    request: HttpRequest, cluster: Cluster, form: EditForm, base: EditBase, intended: EMQX, *, save: bool
) -> EMQX | Exception | None:
    """Dry-run the update, then (``save``) write it. Returns the saved object, the dry-run
    result (not saving), or the Conflict/NotFound the view shows as a page of its own;
    other errors land on the form (None)."""
    namespace, name = intended.metadata.namespace or "", intended.metadata.name or ""
    where = {"cluster": cluster.name, "verb": "update", "namespace": namespace, "name": name, "who": _who(request)}
    try:
        client = _client(request, cluster, namespace)
        checked = client.update(intended, dry_run=True, field_validation=STRICT)
    except (Conflict, NotFound) as error:
        return error
    except EmqxClientError as error:
        add_api_error(form, error, dry_run=True, **where)  # type: ignore[arg-type]
        return None
    if not save:
        return checked
    try:
        saved = client.update(intended, field_validation=STRICT)
    except EmqxClientError as error:
        _record(request, cluster, "update", namespace, name, before=base.emqx, after=intended, error=error)
        if isinstance(error, Conflict | NotFound):
            return error
        add_api_error(form, error, dry_run=False, **where)  # type: ignore[arg-type]
        return None
    _record(request, cluster, "update", namespace, name, before=base.emqx, after=saved)
    return saved


def _rebased(request: HttpRequest, cluster: Cluster, base: EditBase) -> EditBase | None:
    """The current version as the new base, when it differs from ``base`` in nothing a person
    edits (spec, labels, annotations); None otherwise or when it cannot be read."""
    try:
        current = EditBase.of(
            _client(request, cluster, base.emqx.metadata.namespace or "").get(base.emqx.metadata.name or "")
        )
    except EmqxClientError:
        return None
    if current.emqx.metadata.uid != base.emqx.metadata.uid or diffs.clean(current.doc) != diffs.clean(base.doc):
        return None
    return current


@cluster_view
def emqx_change(request: HttpRequest, cluster: Cluster, namespace: str, name: str) -> HttpResponse:
    """Edit with the form or as YAML (``mode=yaml``): edit -> preview of the diff -> save; a
    conflict shows both sides and offers to re-apply onto the current version."""
    require(request.user, "update", KIND, namespace, cluster.name)
    yaml_mode = (request.POST if request.method == "POST" else request.GET).get("mode") == "yaml"
    context: dict[str, Any] = {
        "cluster": cluster,
        "namespace": namespace,
        "name": name,
        "editing": True,
        "yaml_mode": yaml_mode,
    }
    template = "console/emqx/form.html"
    if request.method != "POST":
        try:
            base = EditBase.of(_client(request, cluster, namespace).get(name))
        except EmqxClientError as error:
            return _error_page(request, template, context, error, cluster)
        return render(request, template, {**context, "form": _edit_form(base, yaml_mode), "base": base})
    loaded = EditBase.load(request.POST.get("base", ""))
    if (
        loaded is None
        or (loaded.emqx.metadata.namespace, loaded.emqx.metadata.name) != (namespace, name)
        or request.POST.get("resource_version", loaded.resource_version) != loaded.resource_version
    ):
        context["problem"] = "This form's starting point is missing or was altered. Open the edit page again."
        return render(request, template, context, status=400)
    base = loaded
    form = _edit_form(base, yaml_mode, request.POST)
    step = request.POST.get("step", "preview")
    context.update(form=form, base=base)
    if step == "edit" or not form.is_valid():
        return render(request, template, context)
    if step == "to_yaml":
        # The form's changes so far, carried into the YAML editor (nothing is sent yet).
        yaml_form = EMQXYamlForm(initial={"yaml": edit_yaml(_intended(form, base).to_dict())}, base=base)
        return render(request, template, {**context, "form": yaml_form, "yaml_mode": True})
    intended = _intended(form, base)
    result = _update(request, cluster, form, base, intended, save=step == "save")
    if isinstance(result, Conflict) and (rebased := _rebased(request, cluster, base)) is not None:
        # Only the operator's status (or other bookkeeping) moved on: nothing of theirs can be
        # overwritten, so the user's changes go onto the new version without asking.
        base, intended = rebased, _intended(form, rebased)
        context["base"] = base
        result = _update(request, cluster, form, base, intended, save=step == "save")
    if isinstance(result, Conflict):
        return _conflict(request, cluster, form, base, intended)
    if isinstance(result, NotFound):
        return _gone(request, cluster, namespace, name, template)
    if result is None:
        return render(request, template, context)
    if step == "save":
        _remember(cluster, result)  # type: ignore[arg-type]
        messages.success(request, f"EMQX {namespace}/{name} was saved.")
        return redirect("emqx_detail", cluster.name, namespace, name)
    context["changes"] = diffs.changes(base.doc, intended.to_dict())
    context["diff"] = diffs.unified(base.doc, intended.to_dict())
    return render(request, "console/emqx/preview.html", context)


# ----- delete ----------------------------------------------------------------------------------


def _namespace_labels(cluster: Cluster, namespace: str) -> dict[str, str] | None:
    """The namespace's labels, or None when the console may not read them (then the page
    asks for the typed name, to be safe)."""
    try:
        data = cluster.clientset.transport.request_json("GET", f"/api/v1/namespaces/{quote(namespace, safe='')}")
    except EmqxClientError:
        return None
    labels = (data.get("metadata") or {}).get("labels") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


@cluster_view
def emqx_delete(request: HttpRequest, cluster: Cluster, namespace: str, name: str) -> HttpResponse:
    """Confirm, then delete with preconditions on uid and resourceVersion."""
    require(request.user, "delete", KIND, namespace, cluster.name)
    template = "console/emqx/delete.html"
    context: dict[str, Any] = {"cluster": cluster, "namespace": namespace, "name": name}
    try:
        client = _client(request, cluster, namespace)
        obj = client.get(name)
    except EmqxClientError as error:
        return _error_page(request, template, context, error, cluster)
    reasons = production_reasons(_namespace_labels(cluster, namespace), obj.metadata.labels or {})
    pinned = {"uid": obj.metadata.uid, "generation": obj.metadata.generation or 0}
    form = EMQXDeleteForm(request.POST or None, initial=pinned, name=name, confirm_required=bool(reasons))
    context.update(obj=obj, reasons=reasons, form=form)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["uid"] != obj.metadata.uid or form.cleaned_data["generation"] != pinned["generation"]:
            # Re-created, or its spec changed, since the page was shown: show it as it is now.
            messages.warning(
                request, f"EMQX {namespace}/{name} changed since you opened this page; nothing was deleted."
            )
            context["form"] = EMQXDeleteForm(initial=pinned, name=name, confirm_required=bool(reasons))
            return render(request, template, context, status=409)
        try:
            # Status-only writes (the operator's) since the page was shown are fine; any write
            # after this read, or another object of the same name, fails the preconditions.
            client.delete(
                name, precondition_uid=obj.metadata.uid, precondition_resource_version=obj.metadata.resource_version
            )
        except EmqxClientError as error:
            _record(request, cluster, "delete", namespace, name, before=obj, error=error)
            if isinstance(error, NotFound):
                return _gone(request, cluster, namespace, name, template)
            form.add_error(None, _delete_error(cluster, error, _who(request)))
            return render(request, template, context, status=409 if isinstance(error, Conflict) else 200)
        _record(request, cluster, "delete", namespace, name, before=obj)
        _remember(cluster, forget=(namespace, name))
        messages.success(request, f"EMQX {namespace}/{name} was deleted.")
        return redirect(reverse("emqx_list", args=[cluster.name]) + f"?namespace={quote(namespace)}")
    return render(request, template, context)


def _delete_error(cluster: Cluster, error: EmqxClientError, who: str) -> str:
    if isinstance(error, Conflict):
        return "The instance changed at this very moment; nothing was deleted. Review it and confirm again."
    if isinstance(error, Forbidden):
        return f"Cluster {cluster.name} does not allow {who} to delete it: {error.message}"
    return f"Cluster {cluster.name} did not delete it: {error}. It may or may not be gone; reload to see."
