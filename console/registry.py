"""The per-kind admin: one :class:`ResourceAdmin` per custom-resource kind, registered on a site.

Django admin's shape (``ModelAdmin`` on an ``AdminSite``), made for custom resources: an admin
declares its kind, the versions it reads and writes (the generated model of each), its verbose
names, list columns, search fields, list filters, default sort, form fieldsets (JSON paths into
the CRD schema), how to compute an object's state (the only place that does), which conditions
mean Ready, whether the kind has a timeline, Events or a scale subresource, permission hooks
and audit hooks. The site turns every registered admin into one set of URLs, named
``<slug>_<action>``::

    clusters/<cluster>/<slug>/                               <slug>_list
    clusters/<cluster>/<slug>/_rows                          <slug>_rows      (the list's poll)
    clusters/<cluster>/<slug>/add/                           <slug>_add
    clusters/<cluster>/<slug>/<namespace>/<name>/            <slug>_detail
    clusters/<cluster>/<slug>/<namespace>/<name>/_status     <slug>_status    (the status poll)
    clusters/<cluster>/<slug>/<namespace>/<name>/_events     <slug>_events
    clusters/<cluster>/<slug>/<namespace>/<name>/change/     <slug>_change
    clusters/<cluster>/<slug>/<namespace>/<name>/delete/     <slug>_delete
    clusters/<cluster>/<slug>/<namespace>/<name>/history/    <slug>_history   (audit entries and condition changes)
    clusters/<cluster>/<slug>/<namespace>/<name>/timeline/   <slug>_timeline  (kinds with a timeline)
    clusters/<cluster>/<slug>/<namespace>/<name>/actions/<a>/ <slug>_action   (kinds with object_actions)
    clusters/<cluster>/<slug>/<namespace>/<name>/saveasnew/  <slug>_saveasnew (a copy elsewhere)
    clusters/<cluster>/<slug>/<namespace>/<name>/compare/    <slug>_compare   (a diff with another)
    clusters/<cluster>/<slug>/actions/                       <slug>_actions   (the list's actions: POST)
    clusters/<cluster>/<slug>/_actions/<batch>/              <slug>_action_result

Kinds register themselves (console/kinds/, imported by ``ConsoleConfig.ready``, as Django's
``admin.autodiscover``). Nothing else in the console lists the kinds: the navigation, the
dashboards and the timeline read :data:`site`.

Adding a kind is a module in console/kinds/ with one subclass and ``site.register(...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.urls import URLPattern, path
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from console.actions import AdminAction, DeleteSelected, LabelAction
from console.permissions import can, can_somewhere, not_found
from console.summaries import ConditionRow, Summary, label_in_sentence, not_understood
from emqx.client.names import DNS_SUBDOMAIN, NameRule
from emqx.models._base import Resource

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from console.forms.schema import FormSpec

__all__ = ["Column", "Health", "ObjectAction", "ResourceAdmin", "site"]

# The dashboards' states (see ResourceAdmin.health).
READY, PROGRESSING, DEGRADED, UNKNOWN = "ready", "progressing", "degraded", "unknown"
STATES = (READY, PROGRESSING, DEGRADED, UNKNOWN)
# The dashboards' states as people read them, translated when shown (pgettext "state": as an adjective of
# an instance, not the verb "ready" or the noun "progress").
STATE_LABELS: dict[str, StrOrPromise] = {
    READY: pgettext_lazy("state", "Ready"),
    PROGRESSING: pgettext_lazy("state", "Progressing"),
    DEGRADED: pgettext_lazy("state", "Degraded"),
    UNKNOWN: pgettext_lazy("state", "Unknown"),
}


@dataclass(frozen=True)
class Health:
    """An object's state as the dashboards count it, with the reason for degraded and unknown."""

    state: str
    why: str = ""

    @property
    def label(self) -> StrOrPromise:
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class Column:
    """One column of the change list. ``key`` names it in URLs (``?sort=key``); ``value`` reads
    the cell from a :class:`Summary`; ``sort`` (None: not sortable) gives the sort key.
    The keys ``namespace``, ``name`` and ``state`` are drawn by the template (link, badge)."""

    key: str
    label: StrOrPromise
    """The column's header, translated when shown (``gettext_lazy``)."""
    value: Callable[[Summary], Any]
    sort: Callable[[Summary], Any] | None = None
    title: Callable[[Summary], str] | None = None
    """A tooltip for the cell (the full image behind a version)."""

    @property
    def sortable(self) -> bool:
        # For templates: Django's template engine calls any callable it reaches (``col.sort``).
        return self.sort is not None


def _age_key(s: Summary) -> Any:
    return (-(s.created.timestamp() if s.created else 0), s.namespace, s.name)


NAMESPACE = Column("namespace", _("Namespace"), lambda s: s.namespace, lambda s: (s.namespace, s.name))
NAME = Column("name", _("Name"), lambda s: s.name, lambda s: (s.name, s.namespace))
STATE = Column("state", _("Status"), lambda s: s.current_condition or s.state, lambda s: (s.state, s.namespace, s.name))
VERSION = Column(
    "version",
    _("Version"),
    lambda s: s.version or s.image,
    lambda s: (s.version, s.namespace, s.name),
    lambda s: s.image,
)
AGE = Column("age", _("Age"), lambda s: s.created, _age_key)


def counts_column(key: str, label: StrOrPromise, role: str) -> Column:
    """A column of one role's ready/desired nodes ("—" where the object has no such role)."""
    return Column(key, label, lambda s: s.count(role) or "—")


@dataclass(frozen=True)
class ObjectAction:
    """A one-click change of one object from its detail page (a day-2 button), audited as
    ``name``. ``applies(obj, summary)`` says whether the button is offered for this object (its
    version, annotations and state); ``patch(obj)`` gives the JSON merge patch (RFC 7386) it sends, with
    ``metadata.resourceVersion`` so that a change made meanwhile is a conflict, not overwritten.
    The user needs the kind's change permission."""

    name: str
    """URL segment and audit action: ``pause`` -> ``.../<name>/actions/pause/``."""
    label: StrOrPromise
    done: StrOrPromise
    """What the message after it says happened, e.g. "Reconciliation paused" (translated when shown)."""
    description: StrOrPromise
    applies: Callable[[Resource, Summary], bool]
    patch: Callable[[Resource], dict[str, Any]]


A = TypeVar("A", bound="ResourceAdmin")
W = TypeVar("W")

_UNRECORDED = _(  # in the page's language when shown
    "The audit trail could not record how this write ended ({outcome}): its entry {entry} shows it as 'attempted'. "
    "Tell whoever runs the console."
)


class ResourceAdmin:
    """The options and hooks of one kind. Subclass per kind; the defaults fit any kind whose
    status has conditions listed newest first."""

    kind: ClassVar[str]
    slug: ClassVar[str]
    """The URL segment and URL-name prefix: ``emqx`` -> ``/clusters/c/emqx/``, ``emqx_list``."""
    models: ClassVar[tuple[type[Resource], ...]]
    """The versions the console reads and writes, best first (the cluster's served version is
    discovered; see emqx.client.clientset.SUPPORTED_VERSIONS)."""
    verbose_name: ClassVar[StrOrPromise]
    verbose_name_plural: ClassVar[StrOrPromise]
    """Both translated when shown (``gettext_lazy``), as a Django model's verbose names."""

    list_display: ClassVar[tuple[Column, ...]] = (NAMESPACE, NAME, STATE, VERSION, AGE)
    search_fields: ClassVar[tuple[str, ...]] = ("metadata.name",)
    list_filter: ClassVar[tuple[str, ...]] = ("namespace", "labels", "state", "kind_version")
    """The change list's filters (Django admin's ``list_filter``): ``labels`` is the filter bar's label
    selector; ``namespace``, ``state``, ``version`` (kinds with an image) and ``kind_version`` (the
    version the spec was written through) are facets of the filter sidebar, counted
    (console/forms/filters.py)."""
    list_filter_labels: ClassVar[tuple[str, ...]] = ()
    """Label keys the sidebar offers as facets, one each (``("environment", "tier")``: ``?label.tier=edge``)."""
    ordering: ClassVar[str] = "namespace"

    ready_conditions: ClassVar[frozenset[str]] = frozenset({"Ready"})
    """Condition types that mean Ready when current and True."""
    known_conditions: ClassVar[frozenset[str]] = frozenset()
    """Condition types the operator writes; a current condition of another type is 'unknown'."""
    conditions_stack: ClassVar[bool] = False
    """Every condition the operator sets True was the object's state from its lastTransitionTime
    on (it only ever sets conditions True, newest first: EMQX v2beta1), so the timeline can tell
    past phases from the conditions alone; otherwise only the first condition is the state."""
    status_follows_spec: ClassVar[bool] = True
    """The operator acts on every spec change and writes a status about it, so after a save the
    detail page watches until it has (a Rebalance runs once: a finished one ignores edits)."""
    has_timeline: ClassVar[bool] = False
    """The console records the kind's condition changes (console.timeline)."""
    has_events: ClassVar[bool] = True
    status_panel_permissions: ClassVar[tuple[str, ...]] = ()
    """The permissions (``has_<verb>_permission``) the kind's status panel shows something by (a link
    only some may follow): the remembered panels are kept apart by them (console.rendered)."""
    has_scale: ClassVar[bool] = False
    counted: ClassVar[bool] = True
    """The dashboards count the kind's objects as instances (EMQX clusters, not Rebalances)."""
    dashboard_label: ClassVar[str] = ""
    menu_order: ClassVar[int] = 100
    """Where the kind comes in the navigation (lowest first)."""

    name_rule: ClassVar[NameRule] = DNS_SUBDOMAIN
    """What a NEW object's name must be (existing names are never judged again). Kubernetes
    requires a DNS subdomain of custom resources; kinds whose operator derives other names
    (Services, StatefulSets) from it declare the stricter rule they need."""
    create_hint: ClassVar[StrOrPromise] = ""
    object_actions: ClassVar[tuple[ObjectAction, ...]] = ()
    """Day-2 buttons of the detail page (EMQX v3beta1: Pause, Resume)."""
    save_as_continue: ClassVar[bool] = True
    """After "Save as new", go to the new object's change form (when the user may change it there),
    as Django admin's ``ModelAdmin.save_as_continue``; otherwise to its detail page."""
    same_schema_versions: ClassVar[tuple[frozenset[str], ...]] = ()
    """Groups of versions one operator line serves as the same stored object (a CRD without a
    conversion webhook): a copy moves between them by its apiVersion alone (console/copies.py)."""
    actions: ClassVar[tuple[AdminAction, ...]] = (DeleteSelected(), LabelAction())
    """The change list's actions on the selected objects (Django admin's ``actions``, with its
    ``delete_selected`` on every kind): console/actions.py. Kinds add the ones that fit them."""

    # ----- versions ------------------------------------------------------------------------

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(m.version for m in self.models)

    def model_for(self, api_version: str) -> type[Resource]:
        """The model of one of this admin's versions (``apps.emqx.io/v1beta4``); LookupError else."""
        for model in self.models:
            if model.api_version == api_version:
                return model
        raise LookupError(f"the console does not handle {self.kind} {api_version}")

    # ----- state: the only place that says what state an object is in --------------------------

    def current_of(self, conditions: Sequence[ConditionRow], api_version: str = "") -> ConditionRow | None:
        """The condition that is the object's state (``api_version`` is the object's: the rule may
        differ per version): by default the first (the operator keeps the newest first)."""
        return conditions[0] if conditions else None

    def stacks(self, api_version: str, conditions: Sequence[Any]) -> bool:
        """Whether this object's conditions stack (see ``conditions_stack``); per version where
        the versions differ (EMQX v2beta1 stacks, v3beta1 does not)."""
        return self.conditions_stack

    def summarize(self, obj: Any) -> Summary:
        """The object as the pages show it: :meth:`summarize_object`'s, or, for an object whose
        stored document does not fit the model (``obj.problems``), console.summaries.not_understood
        (no kind's rule ever reads a spec or status that is not what it expects)."""
        if obj.problems:
            return not_understood(obj)
        return self.summarize_object(obj)

    def summarize_object(self, obj: Any) -> Summary:
        """The object, which fits its model, as the pages show it. Subclasses build it from their
        state rules; see console.summaries."""
        raise NotImplementedError

    def is_ready(self, condition: ConditionRow | None) -> bool:
        return condition is not None and condition.type in self.ready_conditions and condition.status == "True"

    def health(self, summary: Summary, *, seen_ready: bool) -> Health:
        """The dashboards' state (rules in console.dashboard's docstring): ready; degraded (a
        node not running, a reported failure, or Ready seen at this generation and lost since);
        progressing; unknown (no status, or a condition type the console does not know)."""
        if summary.state == "Ready" and summary.observed:
            return Health(READY)
        if summary.state == "Ready":  # a Ready about an older generation (tests/fieldcases/07-stale-ready-flapping)
            return Health(
                PROGRESSING,
                gettext("waiting for the operator to act on generation %(generation)s")
                % {"generation": summary.generation},
            )
        if stopped := summary.stopped_nodes:
            return Health(DEGRADED, gettext("node %(nodes)s not running") % {"nodes": ", ".join(stopped)})
        if leaving := summary.leaving_nodes:
            return Health(
                PROGRESSING,
                gettext("update in flight: old node %(nodes)s stopping, as intended") % {"nodes": ", ".join(leaving)},
            )
        if summary.failure:
            return Health(DEGRADED, gettext("Failed: %(failure)s") % {"failure": summary.failure})
        if seen_ready:
            return Health(
                DEGRADED,
                gettext("fell back from Ready with no spec change (generation %(generation)s)")
                % {"generation": summary.generation},
            )
        current = summary.current
        if current is None:
            return Health(UNKNOWN, gettext("no status: the operator has not reported on it"))
        if self.known_conditions and current.type not in self.known_conditions:
            return Health(UNKNOWN, gettext("unknown condition %(type)s") % {"type": current.type})
        scaling = (
            gettext("scaling down: %(count)s %(role)s for %(desired)s desired")
            % {"count": n, "role": label_in_sentence(label), "desired": desired}
            for label, n, desired in summary.surplus
        )
        return Health(PROGRESSING, "; ".join(scaling))

    # ----- detail page ------------------------------------------------------------------------

    def get_detail_context(self, request: HttpRequest, cluster: Any, obj: Resource) -> dict[str, Any]:
        """Extra template context of the detail page (Django admin's ``change_view(extra_context=)``),
        for a kind's own template (``console/<slug>/detail.html`` filling the ``related`` block).
        Called only when the object was found; must not raise for a missing related object."""
        return {}

    # ----- forms -----------------------------------------------------------------------------

    def change_notes(self, before: Resource, after: Resource) -> list[str]:
        """Sentences the change preview shows about what saving ``after`` over ``before`` will do
        beyond the fields themselves (EMQX v3beta1: a rolling restart). None by default."""
        return []

    def get_form_spec(self, model: type[Resource], context: FormContext) -> FormSpec:
        """The form of one version: its fieldsets (JSON paths) and the console's options."""
        raise NotImplementedError

    def validate(self, obj: Resource, context: FormContext) -> list[tuple[str, str]]:
        """(field path, message) for what the console refuses in an object given whole (YAML),
        beyond the CRD's schema: the form's own limits. On an edit only what changed counts."""
        return []

    # ----- permissions (Django admin's hooks, asking console.permissions.can) ---------------

    def has_view_permission(self, user: Any, cluster: str, namespace: str) -> bool:
        return can(user, "get", self.kind, namespace, cluster)

    def has_add_permission(self, user: Any, cluster: str, namespace: str) -> bool:
        return can(user, "create", self.kind, namespace, cluster)

    def has_change_permission(self, user: Any, cluster: str, namespace: str) -> bool:
        return can(user, "update", self.kind, namespace, cluster)

    def has_delete_permission(self, user: Any, cluster: str, namespace: str) -> bool:
        return can(user, "delete", self.kind, namespace, cluster)

    def require(self, user: Any, action: str, cluster: str, namespace: str) -> None:
        """Raise Http404 when the user may not even view objects of the kind in ``namespace`` (so
        existence does not leak), PermissionDenied when they may view but not ``action``
        ('view', 'add', 'change' or 'delete'), through the has_*_permission hooks."""
        allowed = getattr(self, f"has_{action}_permission")(user, cluster, namespace)
        if allowed:
            return
        if action == "view" or not self.has_view_permission(user, cluster, namespace):
            raise not_found(gettext("No %(kind)s here."), kind=self.kind)
        refusals = {  # the 403 page's reason, in the page's language
            "add": gettext("You may not add %(kinds)s in namespace %(namespace)s."),
            "change": gettext("You may not change %(kinds)s in namespace %(namespace)s."),
            "delete": gettext("You may not delete %(kinds)s in namespace %(namespace)s."),
        }
        refusal = refusals.get(action) or f"You may not {action} %(kinds)s in namespace %(namespace)s."
        raise PermissionDenied(refusal % {"kinds": self.verbose_name_plural, "namespace": namespace})

    # ----- audit (Django admin's log_addition/log_change/log_deletion, written before the write) ------

    def audited_write(
        self,
        request: HttpRequest,
        cluster: str,
        action: str,
        namespace: str,
        name: str,
        write: Callable[[], W],
        *,
        before: Resource | None = None,
        intended: Resource | None = None,
    ) -> W:
        """Run ``write`` (one real write to the API server, never a dry-run) inside its audit entry:
        the attempt is recorded first (``before``: the object as it was; ``intended``: what is asked
        for), then its outcome (the object ``write`` returns, or the API's error).

        Returns what ``write`` returns. Raises console.audit.AuditUnavailable, without calling
        ``write``, when the attempt cannot be recorded; re-raises the EmqxClientError of a failed
        write after recording it. When only the outcome cannot be recorded, the write stands and a
        warning message tells the user that the audit shows it as attempted."""
        from django.contrib import messages

        from console import audit

        before_doc = before.to_dict() if before is not None else None
        entry = audit.begin(
            request,
            cluster=cluster,
            action=action,
            kind=self.kind,
            namespace=namespace,
            name=name,
            before=before_doc,
            intended=intended.to_dict() if intended is not None else None,
        )
        try:
            result = write()
        except Exception as error:
            recorded = audit.finish(entry, outcome="failure", before=before_doc, error=str(error))
            if not recorded:
                messages.warning(request, _UNRECORDED.format(entry=entry.pk, outcome="failure"))
            raise
        after = result.to_dict() if isinstance(result, Resource) else None
        if not audit.finish(entry, outcome="success", before=before_doc, after=after):
            messages.warning(request, _UNRECORDED.format(entry=entry.pk, outcome="success"))
        return result

    # ----- templates and URLs ----------------------------------------------------------------

    def get_template_names(self, page: str) -> list[str]:
        """Most specific first, as Django admin: ``console/<slug>/<page>.html``, then
        ``console/object/<page>.html``."""
        return [f"console/{self.slug}/{page}.html", f"console/object/{page}.html"]

    def url_name(self, action: str) -> str:
        return f"{self.slug}_{action}"

    @property
    def urls(self) -> dict[str, str]:
        """URL names by action, for templates: ``{% url admin.urls.detail cluster.name ns name %}``."""
        return {a: self.url_name(a) for a in ACTIONS}

    def actions_for(self, obj: Resource | None, summary: Summary | None) -> list[ObjectAction]:
        """The object actions offered for this object (none while it is being deleted)."""
        if obj is None or summary is None or summary.deleting or summary.problems:
            return []
        return [action for action in self.object_actions if action.applies(obj, summary)]

    def get_action(self, name: str) -> ObjectAction:
        """The object action called ``name``; KeyError when the kind has none of that name."""
        for action in self.object_actions:
            if action.name == name:
                return action
        raise KeyError(name)

    def get_actions(self, user: Any, cluster: str) -> list[AdminAction]:
        """The list actions ``user`` may run in some namespace of ``cluster`` (Django admin's
        ``get_actions``, filtered by each action's ``permission`` as its ``allowed_permissions``)."""
        verbs = {"change": "update", "delete": "delete"}
        return [a for a in self.actions if can_somewhere(user, verbs[a.permission], self.kind, cluster)]

    def get_list_action(self, name: str) -> AdminAction:
        """The list action called ``name``; KeyError when the kind has none of that name."""
        for action in self.actions:
            if action.name == name:
                return action
        raise KeyError(name)

    def get_urls(self) -> list[URLPattern]:
        from console.views import actions, compare, edit, history, list_actions, objects

        prefix = f"clusters/<slug:cluster>/{self.slug}/"
        one = prefix + "<slug:namespace>/<str:name>/"
        routes: list[tuple[str, Callable[..., Any], str]] = [
            (prefix, objects.object_list, "list"),
            (prefix + "_rows", objects.object_rows, "rows"),
            (prefix + "add/", edit.object_add, "add"),
            (prefix + "actions/", list_actions.changelist_action, "actions"),
            # "_": no namespace (a DNS label) can be called that, so no object's page is shadowed.
            (prefix + "_actions/<slug:batch>/", list_actions.action_result, "action_result"),
            (one, objects.object_detail, "detail"),
            (one + "_status", objects.object_status, "status"),
            (one + "_events", objects.object_events, "events"),
            (one + "change/", edit.object_change, "change"),
            (one + "delete/", edit.object_delete, "delete"),
            (one + "history/", history.object_history, "history"),
            (one + "saveasnew/", edit.object_saveasnew, "saveasnew"),
            (one + "compare/", compare.object_compare, "compare"),
        ]
        if self.has_timeline:
            routes.append((one + "timeline/", objects.object_timeline, "timeline"))
        if self.object_actions:
            routes.append((one + "actions/<slug:action>/", actions.object_action, "action"))
        return [path(route, view, {"admin": self}, name=self.url_name(action)) for route, view, action in routes]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind}>"


ACTIONS: tuple[str, ...] = ("list", "rows", "add", "detail", "status", "events", "change", "delete", "timeline")
ACTIONS += ("action", "history", "saveasnew", "compare", "actions", "action_result")


@dataclass(frozen=True)
class FormContext:
    """What a form may need beyond the schema: where it is, and the cluster's other objects
    (a Rebalance chooses among the namespace's EMQX instances)."""

    cluster: Any = None
    namespace: str = ""
    editing: bool = False


class AdminSite:
    """The registry of admins (Django's ``AdminSite``, without its machinery)."""

    def __init__(self) -> None:
        self._by_slug: dict[str, ResourceAdmin] = {}

    def register(self, admin_class: type[A]) -> type[A]:
        """Register an admin class (usable as a decorator). Raises ValueError on a second admin
        for the same kind or slug."""
        admin = admin_class()
        for other in self._by_slug.values():
            if other.kind == admin.kind or other.slug == admin.slug:
                raise ValueError(f"{admin.kind} ({admin.slug}) is already registered as {other!r}")
        self._by_slug[admin.slug] = admin
        return admin_class

    def __iter__(self) -> Iterator[ResourceAdmin]:
        return iter(sorted(self._by_slug.values(), key=lambda a: a.menu_order))

    def __len__(self) -> int:
        return len(self._by_slug)

    def by_slug(self, slug: str) -> ResourceAdmin:
        return self._by_slug[slug]

    def for_kind(self, kind: str) -> ResourceAdmin:
        """The admin of ``kind``; KeyError for a kind nobody registered."""
        for admin in self._by_slug.values():
            if admin.kind == kind:
                return admin
        raise KeyError(kind)

    def get(self, kind: str) -> ResourceAdmin | None:
        try:
            return self.for_kind(kind)
        except KeyError:
            return None

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(a.kind for a in self)

    def get_urls(self) -> list[URLPattern]:
        return [pattern for admin in self for pattern in admin.get_urls()]


site = AdminSite()
