"""``ResourceClient[T]``: every verb on one custom resource in one namespace (or all).

The Python counterpart of a client-go typed client (``typed/apps/v1/daemonset.go``): the same
verbs, keyword-only options as in lightkube, pydantic models in and out. Obtain one from a
group-version client (``cs.apps_v2beta1.emqxes("ns")``), not directly.

Writes serialize with ``to_dict()`` (only the fields that were set, unknown fields kept), so
the console never writes schema defaults the user did not choose, which would also make it
the owner of those fields in ``managedFields``.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from emqx.client.names import validate_name, validate_namespace
from emqx.client.scale import Scale
from emqx.client.watch import Watch
from emqx.errors import InvalidArgument, ResponseDecodeError, UnsupportedPatchType, WrongKind
from emqx.models._base import ListMeta, ObjectMeta, Resource, ResourceList
from emqx.rest import JSON_CONTENT_TYPE, StreamResponse, Transport, api_path, decode_json, gc_paused

__all__ = ["ALL", "DEFAULT_FIELD_MANAGER", "PatchType", "PropagationPolicy", "ResourceClient", "Selector"]

T = TypeVar("T", bound=Resource)

ALL: None = None
"""Pass as the namespace to list or watch across all namespaces (same as None)."""

DEFAULT_FIELD_MANAGER = "emqx-console"

# Bodies above this size are decoded with the garbage collector paused (see gc_paused).
_LARGE_BODY = 256 * 1024

Selector = str | Mapping[str, str]
PropagationPolicy = Literal["Foreground", "Background", "Orphan"]


InvalidHandler = Callable[[Mapping[str, Any], ResponseDecodeError], None]
"""Called with the raw object and the error for each object that does not fit the model,
when a caller prefers skipping it to failing (a watch cache must not stop over one object
written by a newer operator or through another version)."""


class PatchType(StrEnum):
    """Patch content types. Custom resources accept MERGE and JSON (and APPLY through
    :meth:`ResourceClient.apply`); the API server refuses STRATEGIC for them, so we do too."""

    MERGE = "application/merge-patch+json"
    JSON = "application/json-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


_PATCH_ALIASES: dict[str, PatchType] = {
    "merge": PatchType.MERGE,
    "json": PatchType.JSON,
    "strategic": PatchType.STRATEGIC,
    "apply": PatchType.APPLY,
}


def _selector(value: Selector | None, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise InvalidArgument(f"{what} mapping must be str -> str, got {k!r}: {v!r}")
        return ",".join(f"{k}={v}" for k, v in value.items())
    raise InvalidArgument(
        f"{what} must be a string like 'app=emqx,tier!=edge' or a mapping, got {type(value).__name__}"
    )


def _a(noun: str) -> str:
    """'an EMQX', 'an EmqxBroker', 'a Rebalance'."""
    return f"an {noun}" if noun[:1].upper() in "AEIOU" else f"a {noun}"


def _model_dict(model: BaseModel) -> dict[str, Any]:
    to_dict = getattr(model, "to_dict", None)
    if callable(to_dict):
        result: dict[str, Any] = to_dict()
        return result
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


class ResourceClient(Generic[T]):
    """Every verb on one resource type (``T``) in one namespace, or in all (``namespace=None``:
    list, watch only)."""

    def __init__(
        self,
        transport: Transport,
        resource: type[T],
        namespace: str | None,
        *,
        field_manager: str = DEFAULT_FIELD_MANAGER,
    ) -> None:
        if not (isinstance(resource, type) and issubclass(resource, Resource)):
            raise WrongKind(f"a ResourceClient needs a Resource model class, got {resource!r}")
        self._transport = transport
        self.resource: type[T] = resource
        self.namespace = None if namespace is None else validate_namespace(namespace)
        if self.namespace is not None and not resource.namespaced:
            raise InvalidArgument(f"{resource.kind} is cluster-scoped; use namespace=None")
        if not field_manager or not isinstance(field_manager, str):
            raise InvalidArgument("field_manager must be a non-empty string")
        self.field_manager = field_manager
        self._list_type: type[ResourceList[T]] = ResourceList[resource]  # type: ignore[valid-type]
        self._drop_managed_fields = False
        self._keep_sources = False

    def __repr__(self) -> str:
        where = "all namespaces" if self.namespace is None else f"namespace {self.namespace!r}"
        return f"<ResourceClient {self.api_version} {self.resource.kind} in {where}>"

    # ----- naming ----------------------------------------------------------------------

    @property
    def api_version(self) -> str:
        """``group/version`` of the resource, e.g. ``apps.emqx.io/v2beta1``."""
        return f"{self.resource.group}/{self.resource.version}"

    def _describe(self) -> str:
        return f"{self.resource.kind} ({self.api_version})"

    def _path(self, *, namespace: str | None, name: str | None = None, subresource: str | None = None) -> str:
        return api_path(
            self.resource.group,
            self.resource.version,
            self.resource.plural,
            namespace=namespace if self.resource.namespaced else None,
            name=name,
            subresource=subresource,
        )

    def _require_namespace(self, verb: str) -> str | None:
        if self.resource.namespaced and self.namespace is None:
            raise InvalidArgument(
                f"{verb} needs a namespace: this {self.resource.kind} client covers all namespaces "
                f"(get a namespaced one, e.g. .{self.resource.plural}('default'))"
            )
        return self.namespace

    def _name(self, name: object) -> str:
        return validate_name(name, kind=self.resource.kind)

    def _object_name(self, item: T, verb: str) -> str:
        if not item.metadata.name:
            raise InvalidArgument(f"{verb}: the {self.resource.kind} has no metadata.name")
        return self._name(item.metadata.name)

    # ----- coercing input --------------------------------------------------------------

    def _coerce(self, obj: object, verb: str) -> T:
        """The given object as ``T``: a ``T`` as is, a mapping validated into ``T``;
        anything else (another kind or version, a string ...) is a WrongKind error."""
        if isinstance(obj, self.resource):
            return obj
        if isinstance(obj, Resource):
            raise WrongKind(
                f"{verb}: this client handles {self._describe()}, "
                f"got {_a(type(obj).kind)} ({type(obj).group}/{type(obj).version})"
            )
        if isinstance(obj, Mapping):
            api_version, kind = obj.get("apiVersion"), obj.get("kind")
            if api_version not in (None, self.api_version) or kind not in (None, self.resource.kind):
                raise WrongKind(f"{verb}: this client handles {self._describe()}, got {_a(str(kind))} ({api_version})")
            try:
                return self.resource.model_validate(dict(obj))
            except ValidationError as error:
                raise InvalidArgument(f"{verb}: not a valid {self._describe()}: {error}") from None
        raise WrongKind(f"{verb}: expected {_a(self._describe())} model or a mapping, got {type(obj).__name__}")

    def _namespace_of(self, obj: T, verb: str) -> str | None:
        """The namespace a write of ``obj`` goes to: the client's, or the object's when the
        client covers all namespaces; they must agree when both are set."""
        if not self.resource.namespaced:
            return None
        own = obj.metadata.namespace
        if own is not None and own != "":
            validate_namespace(own)
        if self.namespace is None:
            if not own:
                raise InvalidArgument(
                    f"{verb}: the object has no metadata.namespace and this client covers all namespaces"
                )
            return own
        if own and own != self.namespace:
            raise InvalidArgument(
                f"{verb}: the object's metadata.namespace {own!r} does not match the client's namespace "
                f"{self.namespace!r}"
            )
        return self.namespace

    def _body(self, obj: T) -> dict[str, Any]:
        body = _model_dict(obj)
        # apiVersion and kind are defaults of the model, so exclude_unset may drop them;
        # the API server needs both.
        body["apiVersion"] = self.api_version
        body["kind"] = self.resource.kind
        metadata = body.get("metadata")
        if isinstance(metadata, dict):
            # `obj.metadata.resource_version = None` means "not set" in Python; sent as null
            # the server would read it as an empty resourceVersion and refuse the write.
            body["metadata"] = {key: value for key, value in metadata.items() if value is not None}
        return body

    def _write_query(
        self,
        *,
        dry_run: bool,
        field_manager: str | None,
        field_validation: str | None = None,
        force: bool | None = None,
    ) -> list[tuple[str, str]]:
        query: list[tuple[str, str]] = []
        if dry_run:
            query.append(("dryRun", "All"))
        query.append(("fieldManager", field_manager or self.field_manager))
        if field_validation is not None:
            if field_validation not in ("Strict", "Warn", "Ignore"):
                raise InvalidArgument(
                    f"field_validation must be 'Strict', 'Warn' or 'Ignore', got {field_validation!r}"
                )
            query.append(("fieldValidation", field_validation))
        if force is not None:
            query.append(("force", "true" if force else "false"))
        return query

    # ----- decoding --------------------------------------------------------------------

    def _decode(self, data: bytes) -> T:
        return self._decode_object(decode_json(data))

    def with_compact_managed_fields(self) -> ResourceClient[T]:
        """A copy of this client whose reads keep ``metadata.managedFields`` in a compact form, for a
        watch cache that never writes what it holds back (client-go's informers drop them whole:
        ``TransformStripManagedFields``). Each entry keeps who wrote (``manager``, ``operation``,
        ``time``, ``subresource``) and through which ``apiVersion``, and of ``fieldsV1`` only the
        top-level parts it owns (``{"f:spec": {}}``), not which fields: the field sets are a third of
        an EMQX's JSON and a fifth of its memory as a model. See :meth:`ObjectMeta.spec_api_version`.
        Writes are unchanged."""
        lean = copy.copy(self)
        lean._drop_managed_fields = True
        return lean

    def with_source_documents(self) -> ResourceClient[T]:
        """A copy of this client whose decoded objects keep the JSON document each was read from
        (``obj.source``; Resource.read's ``keep_source``: after :meth:`with_compact_managed_fields`' cut, when
        that applies), for a watch cache whose store writes documents (emqx.store.SqliteStore), which then
        writes that document rather than serializing the model again (``to_dict()``, a third of the CPU a
        shared cache's first sync spent per object: docs/benchmarks.md). Each object then holds its decoded
        JSON beside the model: for callers that let objects go after storing them (a LIST page at a time, a
        watch event), never for an in-memory cache. Writes are unchanged."""
        keeping = copy.copy(self)
        keeping._keep_sources = True
        return keeping

    def _decode_object(self, obj: Mapping[str, Any]) -> T:
        if self._drop_managed_fields:
            obj = _compact_managed_fields(obj)
        try:
            # Never refused for its shape: a document that does not fit is a not-understood object
            # (obj.problems; Resource.read), so that it stays visible and can be fixed or deleted.
            return self.resource.read(obj, keep_source=self._keep_sources)
        except ValidationError as error:
            raise ResponseDecodeError(f"the server's {self._describe()} does not fit the model: {error}") from None

    def _noted(self, item: T, raw: Mapping[str, Any], on_invalid: InvalidHandler | None) -> T:
        """Tell ``on_invalid`` (a cache's log) about a not-understood object; return it as it is."""
        if item.problems and on_invalid is not None:
            on_invalid(raw, ResponseDecodeError(f"{self._describe()} not understood: {'; '.join(item.problems)}"))
        return item

    def _decode_bookmark(self, obj: Mapping[str, Any]) -> T:
        # A bookmark is {apiVersion, kind, metadata: {resourceVersion}}: it may miss fields
        # the model requires, so build it without validating the (absent) rest.
        try:
            return self.resource.model_validate(obj)
        except ValidationError:
            meta = ObjectMeta.model_validate(obj.get("metadata") or {})
            return self.resource.model_construct(metadata=meta)

    def _decode_list(self, data: bytes) -> ResourceList[T]:
        # One json.loads of the whole body, one validation of the whole list: no per-item
        # re-encoding or copies. (model_validate_json measured no faster here: the models'
        # type-meta check runs on Python dicts either way.) A large body is decoded with
        # the garbage collector paused: see gc_paused().
        try:
            with gc_paused() if len(data) > _LARGE_BODY else contextlib.nullcontext():
                document = decode_json(data)
                if self._drop_managed_fields and isinstance(document, Mapping):
                    document = {**document, "items": [_compact_managed_fields(i) for i in document.get("items") or ()]}
                decoded = self._list_type.model_validate(document)
                if self._keep_sources:
                    for item, source in zip(decoded.items, document["items"], strict=True):
                        item._source = source
                return decoded
        except ValidationError:
            # Some item does not fit: read them one by one, keeping the odd ones as not understood.
            return self._decode_list_lenient(data, None)

    def _decode_list_lenient(self, data: bytes, on_invalid: InvalidHandler | None) -> ResourceList[T]:
        """Like _decode_list, item by item: objects that do not fit the model are kept as not
        understood (and told to ``on_invalid``); only a non-object item is left out."""
        with gc_paused() if len(data) > _LARGE_BODY else contextlib.nullcontext():
            document = decode_json(data)
            raw_items = document.get("items") or [] if isinstance(document, Mapping) else []
            valid: builtins.list[T] = []
            for raw in raw_items:
                if not isinstance(raw, Mapping):
                    continue
                try:
                    valid.append(self._noted(self._decode_object(raw), raw, on_invalid))
                except ResponseDecodeError as error:
                    if on_invalid is not None:
                        on_invalid(raw, error)
        meta = document.get("metadata") or {} if isinstance(document, Mapping) else {}
        return self._list_type(items=valid, metadata=ListMeta.model_validate(meta))

    # ----- verbs -----------------------------------------------------------------------

    def create(
        self,
        obj: T | Mapping[str, Any],
        *,
        dry_run: bool = False,
        field_manager: str | None = None,
        field_validation: str | None = None,
    ) -> T:
        """Create ``obj`` (POST) and return it as stored. It needs ``metadata.name`` or
        ``metadata.generateName``. Raises AlreadyExists if the name is taken, Invalid if the
        schema rejects it. ``dry_run`` validates and defaults without persisting."""
        item = self._coerce(obj, "create")
        namespace = self._namespace_of(item, "create")
        if item.metadata.name is not None:
            self._name(item.metadata.name)
        elif not item.metadata.generate_name:
            raise InvalidArgument(f"create: a {self.resource.kind} needs metadata.name or metadata.generateName")
        data = self._transport.request(
            "POST",
            self._path(namespace=namespace),
            query=self._write_query(dry_run=dry_run, field_manager=field_manager, field_validation=field_validation),
            body=self._body(item),
        )
        return self._decode(data)

    def get(self, name: str, *, resource_version: str | None = None) -> T:
        """Read one object by name (GET). Raises NotFound when there is none.
        ``resource_version="0"`` allows a possibly stale answer from the API server's cache."""
        namespace = self._require_namespace("get")
        query = [("resourceVersion", resource_version)] if resource_version is not None else None
        data = self._transport.request("GET", self._path(namespace=namespace, name=self._name(name)), query=query)
        return self._decode(data)

    def list(
        self,
        *,
        label_selector: Selector | None = None,
        field_selector: Selector | None = None,
        limit: int | None = None,
        continue_: str | None = None,
        resource_version: str | None = None,
        resource_version_match: Literal["Exact", "NotOlderThan"] | None = None,
        timeout_seconds: int | None = None,
        on_invalid: InvalidHandler | None = None,
    ) -> ResourceList[T]:
        """List objects (GET on the collection) in the client's namespace, or in all when it
        has none. Selectors take the API's syntax (``"app=emqx,tier!=edge"``) or a mapping
        of equalities. With ``limit`` the answer is one page: pass its ``metadata.continue_``
        back as ``continue_`` for the next (see :meth:`iterate` to walk every page).
        An object that does not fit the model is kept, as not understood (``obj.problems``, see
        Resource.read), and also handed to ``on_invalid`` when given (a cache logs it)."""
        query: list[tuple[str, str]] = []
        label = _selector(label_selector, "label_selector")
        field = _selector(field_selector, "field_selector")
        if label:
            query.append(("labelSelector", label))
        if field:
            query.append(("fieldSelector", field))
        if limit is not None:
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
                raise InvalidArgument(f"limit must be a positive integer, got {limit!r}")
            query.append(("limit", str(limit)))
        if continue_:
            query.append(("continue", continue_))
        if resource_version is not None:
            query.append(("resourceVersion", resource_version))
        if resource_version_match is not None:
            query.append(("resourceVersionMatch", resource_version_match))
        if timeout_seconds is not None:
            query.append(("timeoutSeconds", str(int(timeout_seconds))))
        data = self._transport.request("GET", self._path(namespace=self.namespace), query=query)
        if on_invalid is not None:
            return self._decode_list_lenient(data, on_invalid)
        return self._decode_list(data)

    def iterate(
        self,
        *,
        label_selector: Selector | None = None,
        field_selector: Selector | None = None,
        page_size: int = 500,
    ) -> Iterator[T]:
        """Yield every matching object, LISTing ``page_size`` at a time (limit/continue), so a
        large collection is never held in memory at once."""
        token: str | None = None
        while True:
            page = self.list(
                label_selector=label_selector,
                field_selector=field_selector,
                limit=page_size,
                continue_=token,
            )
            yield from page.items
            token = page.metadata.continue_
            if not token:
                return

    def list_all(
        self,
        *,
        label_selector: Selector | None = None,
        field_selector: Selector | None = None,
        page_size: int = 500,
        on_invalid: InvalidHandler | None = None,
    ) -> ResourceList[T]:
        """Every matching object, LISTed ``page_size`` at a time, as one list whose
        ``metadata.resource_version`` is the snapshot all pages belong to: the place to
        start a watch from (``watch(resource_version=..., known=result.items)``).
        ``on_invalid`` as in :meth:`list`."""
        items, resource_version = self._list_everything(
            label_selector=_selector(label_selector, "label_selector"),
            field_selector=_selector(field_selector, "field_selector"),
            page_size=page_size,
            on_invalid=on_invalid,
        )
        return self._list_type(items=items, metadata=ListMeta.model_validate({"resourceVersion": resource_version}))

    def list_pages(
        self,
        *,
        label_selector: Selector | None = None,
        field_selector: Selector | None = None,
        page_size: int = 500,
        on_invalid: InvalidHandler | None = None,
        first_page_size: int | None = None,
    ) -> Iterator[ResourceList[T]]:
        """:meth:`list_all`'s pages one at a time, as they arrive (``limit``/``continue``): the first page's
        ``metadata.resource_version`` is the snapshot every page belongs to. For a caller that stores each page and
        lets it go, so that no more than one page of models is in memory. ``first_page_size``: the first page's
        limit, when it differs (1: a cheap first answer that pins the snapshot). Raises what :meth:`list` raises,
        from the page that fails (Gone when a continue token expired, after the pages before it)."""
        label = _selector(label_selector, "label_selector")
        field = _selector(field_selector, "field_selector")
        token: str | None = None
        limit = first_page_size or page_size
        while True:
            page = self.list(
                label_selector=label, field_selector=field, limit=limit, continue_=token, on_invalid=on_invalid
            )
            limit = page_size
            token = page.metadata.continue_
            yield page
            if not token:
                return

    def update(
        self,
        obj: T | Mapping[str, Any],
        *,
        dry_run: bool = False,
        field_manager: str | None = None,
        field_validation: str | None = None,
    ) -> T:
        """Replace the object (PUT). ``metadata.resourceVersion`` must be the one read: if the
        object changed since, the server raises Conflict (use
        :func:`emqx.retry.retry_on_conflict`). Status changes are ignored; see :meth:`update_status`."""
        return self._put(obj, None, dry_run=dry_run, field_manager=field_manager, field_validation=field_validation)

    def update_status(
        self,
        obj: T | Mapping[str, Any],
        *,
        dry_run: bool = False,
        field_manager: str | None = None,
        field_validation: str | None = None,
    ) -> T:
        """Replace the object's status (PUT on ``/status``); spec changes are ignored."""
        return self._put(obj, "status", dry_run=dry_run, field_manager=field_manager, field_validation=field_validation)

    def _put(
        self,
        obj: T | Mapping[str, Any],
        subresource: str | None,
        *,
        dry_run: bool,
        field_manager: str | None,
        field_validation: str | None,
    ) -> T:
        verb = "update_status" if subresource else "update"
        item = self._coerce(obj, verb)
        namespace = self._namespace_of(item, verb)
        name = self._object_name(item, verb)
        if not item.metadata.resource_version:
            # Custom resources allow no unconditional update: the server would refuse it.
            raise InvalidArgument(
                f"{verb}: the object has no metadata.resourceVersion; update the object as read "
                "(get it first), or use patch() or apply() to change it without one"
            )
        data = self._transport.request(
            "PUT",
            self._path(namespace=namespace, name=name, subresource=subresource),
            query=self._write_query(dry_run=dry_run, field_manager=field_manager, field_validation=field_validation),
            body=self._body(item),
        )
        return self._decode(data)

    def patch(
        self,
        name: str,
        patch: Mapping[str, Any] | Sequence[Mapping[str, Any]] | BaseModel,
        *,
        patch_type: PatchType | Literal["merge", "json"] = PatchType.MERGE,
        subresource: Literal["status"] | None = None,
        dry_run: bool = False,
        field_manager: str | None = None,
        field_validation: str | None = None,
    ) -> T:
        """Patch the object (PATCH). ``patch_type="merge"`` (RFC 7386) takes a mapping, or a
        model whose set fields form the patch; ``"json"`` (RFC 6902) takes a list of
        operations (``{"op": "replace", "path": "/spec/image", "value": ...}``). Strategic
        merge patches do not exist for custom resources: UnsupportedPatchType. For
        server-side apply use :meth:`apply`."""
        kind = _PATCH_ALIASES.get(patch_type) if isinstance(patch_type, str) else None
        if kind is None:
            try:
                kind = PatchType(patch_type)
            except ValueError:
                raise InvalidArgument(f"unknown patch_type {patch_type!r}: use 'merge' or 'json'") from None
        if kind is PatchType.STRATEGIC:
            raise UnsupportedPatchType(
                f"strategic merge patch is not supported for custom resources such as {self._describe()}: "
                "the API server has no patch strategy for their fields; use patch_type='merge' or 'json'"
            )
        if kind is PatchType.APPLY:
            raise UnsupportedPatchType("server-side apply goes through apply(obj, field_manager=..., force=...)")
        body: Any
        if kind is PatchType.MERGE:
            if isinstance(patch, BaseModel):
                body = _model_dict(patch)
            elif isinstance(patch, Mapping):
                body = dict(patch)
            else:
                raise InvalidArgument(f"a merge patch is a mapping (or a model), got {type(patch).__name__}")
        else:
            if isinstance(patch, Mapping | str | bytes | BaseModel) or not isinstance(patch, Sequence):
                raise InvalidArgument(f"a JSON patch is a list of operations, got {type(patch).__name__}")
            for op in patch:
                if not isinstance(op, Mapping) or "op" not in op or "path" not in op:
                    raise InvalidArgument(f"each JSON patch operation needs 'op' and 'path', got {op!r}")
            body = [dict(op) for op in patch]
        if subresource not in (None, "status"):
            raise InvalidArgument(f"patch: subresource must be None or 'status', got {subresource!r}")
        namespace = self._require_namespace("patch")
        data = self._transport.request(
            "PATCH",
            self._path(namespace=namespace, name=self._name(name), subresource=subresource),
            query=self._write_query(dry_run=dry_run, field_manager=field_manager, field_validation=field_validation),
            body=body,
            content_type=kind.value,
        )
        return self._decode(data)

    def apply(
        self,
        obj: T | Mapping[str, Any],
        *,
        field_manager: str | None = None,
        force: bool = False,
        dry_run: bool = False,
        subresource: Literal["status"] | None = None,
        field_validation: str | None = None,
    ) -> T:
        """Server-side apply (PATCH ``application/apply-patch+yaml``): declare the fields
        ``field_manager`` (default: the clientset's, ``emqx-console``) owns; the server merges
        them and records ownership in ``metadata.managedFields``. Build ``obj`` with only the
        fields you mean to own. A field owned by another manager with a different value is a
        Conflict unless ``force=True`` takes it over."""
        verb = "apply"
        item = self._coerce(obj, verb)
        namespace = self._namespace_of(item, verb)
        name = self._object_name(item, verb)
        body = self._body(item)
        # An apply configuration must not carry managedFields (the server refuses it); a
        # resourceVersion, if present, stays: it makes the apply conditional.
        metadata = body.get("metadata")
        if isinstance(metadata, dict):
            metadata.pop("managedFields", None)
        data = self._transport.request(
            "PATCH",
            self._path(namespace=namespace, name=name, subresource=subresource),
            query=self._write_query(
                dry_run=dry_run, field_manager=field_manager, field_validation=field_validation, force=force
            ),
            body=body,
            content_type=PatchType.APPLY.value,
        )
        return self._decode(data)

    def delete(
        self,
        name: str,
        *,
        propagation_policy: PropagationPolicy | None = None,
        grace_period_seconds: int | None = None,
        precondition_uid: str | None = None,
        precondition_resource_version: str | None = None,
        dry_run: bool = False,
    ) -> T | None:
        """Delete the object (DELETE). Preconditions make the delete conditional: if the
        object's uid or resourceVersion differs, the server raises Conflict and deletes
        nothing. Returns None when the object is gone at once (the server answers with a
        Status), or the object when finalizers keep it for now (``metadata.deletionTimestamp``
        set, as with ``propagation_policy="Foreground"``)."""
        namespace = self._require_namespace("delete")
        options = self._delete_options(propagation_policy, grace_period_seconds, dry_run)
        preconditions: dict[str, str] = {}
        if precondition_uid is not None:
            preconditions["uid"] = precondition_uid
        if precondition_resource_version is not None:
            preconditions["resourceVersion"] = precondition_resource_version
        if preconditions:
            options["preconditions"] = preconditions
        data = self._transport.request(
            "DELETE",
            self._path(namespace=namespace, name=self._name(name)),
            query=[("dryRun", "All")] if dry_run else None,
            body=options,
        )
        decoded = decode_json(data)
        if isinstance(decoded, Mapping) and decoded.get("kind") == self.resource.kind:
            return self._decode_object(decoded)
        return None

    def delete_collection(
        self,
        *,
        label_selector: Selector | None = None,
        field_selector: Selector | None = None,
        propagation_policy: PropagationPolicy | None = None,
        grace_period_seconds: int | None = None,
        dry_run: bool = False,
    ) -> builtins.list[T]:
        """Delete every matching object in the client's namespace (DELETE on the
        collection); returns the objects deleted (or, with ``dry_run``, that would be)."""
        namespace = self._require_namespace("delete_collection")
        query: list[tuple[str, str]] = []
        label = _selector(label_selector, "label_selector")
        field = _selector(field_selector, "field_selector")
        if label:
            query.append(("labelSelector", label))
        if field:
            query.append(("fieldSelector", field))
        if dry_run:
            query.append(("dryRun", "All"))
        data = self._transport.request(
            "DELETE",
            self._path(namespace=namespace),
            query=query,
            body=self._delete_options(propagation_policy, grace_period_seconds, dry_run),
        )
        decoded = decode_json(data)
        if isinstance(decoded, Mapping) and decoded.get("kind") == self.resource.list_kind:
            return [self._decode_object(item) for item in decoded.get("items") or ()]
        return []

    @staticmethod
    def _delete_options(
        propagation_policy: str | None, grace_period_seconds: int | None, dry_run: bool
    ) -> dict[str, Any]:
        options: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if propagation_policy is not None:
            if propagation_policy not in ("Foreground", "Background", "Orphan"):
                raise InvalidArgument(
                    f"propagation_policy must be 'Foreground', 'Background' or 'Orphan', got {propagation_policy!r}"
                )
            options["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            if not isinstance(grace_period_seconds, int) or grace_period_seconds < 0:
                raise InvalidArgument(
                    f"grace_period_seconds must be a non-negative integer, got {grace_period_seconds!r}"
                )
            options["gracePeriodSeconds"] = grace_period_seconds
        if dry_run:
            options["dryRun"] = ["All"]
        return options

    def watch(
        self,
        *,
        resource_version: str | None = None,
        label_selector: Selector | None = None,
        field_selector: Selector | None = None,
        allow_watch_bookmarks: bool = True,
        timeout_seconds: float | None = None,
        known: Iterable[T] | None = None,
        relist_page_size: int = 500,
        request_timeout_seconds: int | None = None,
        on_invalid: InvalidHandler | None = None,
    ) -> Watch[T]:
        """Watch changes as typed ADDED/MODIFIED/DELETED/BOOKMARK events.

        From ``resource_version`` (e.g. a LIST's ``metadata.resource_version``) when given,
        otherwise the current objects come first as ADDED. Runs until ``timeout_seconds``
        (or forever), reconnecting when the server ends a request; on ``410 Gone`` it LISTs
        again and emits the difference to ``known`` plus what it saw (see
        :mod:`emqx.client.watch`). Iterate the returned :class:`Watch`; ``stop()`` ends it.
        ``request_timeout_seconds`` is the server-side timeout of each watch request (default:
        5 to 10 minutes at random, as client-go's reflector)."""
        if timeout_seconds is not None and timeout_seconds <= 0:
            raise InvalidArgument(f"timeout_seconds must be positive, got {timeout_seconds!r}")
        if request_timeout_seconds is not None and (
            not isinstance(request_timeout_seconds, int) or request_timeout_seconds < 1
        ):
            raise InvalidArgument(f"request_timeout_seconds must be a positive int, got {request_timeout_seconds!r}")
        items = None
        if known is not None:
            items = [self._coerce(o, "watch(known=...)") for o in known]
        return Watch(
            self,
            resource_version=resource_version,
            label_selector=_selector(label_selector, "label_selector"),
            field_selector=_selector(field_selector, "field_selector"),
            allow_watch_bookmarks=allow_watch_bookmarks,
            timeout_seconds=timeout_seconds,
            known=items,
            relist_page_size=relist_page_size,
            request_timeout_seconds=request_timeout_seconds,
            on_invalid=on_invalid,
        )

    def get_scale(self, name: str) -> Scale:
        """Read the ``/scale`` subresource (autoscaling/v1 Scale): desired and current replicas."""
        namespace = self._require_namespace("get_scale")
        data = self._transport.request(
            "GET", self._path(namespace=namespace, name=self._name(name), subresource="scale")
        )
        return _decode_scale(data)

    def update_scale(
        self,
        name: str,
        scale: Scale | int,
        *,
        dry_run: bool = False,
        field_manager: str | None = None,
    ) -> Scale:
        """Set the replica count through ``/scale``. A :class:`Scale` (as read by
        :meth:`get_scale`, its resourceVersion guarding against lost updates) is PUT; a bare
        int is sent as a merge patch of ``spec.replicas``."""
        namespace = self._require_namespace("update_scale")
        path = self._path(namespace=namespace, name=self._name(name), subresource="scale")
        query = self._write_query(dry_run=dry_run, field_manager=field_manager)
        if isinstance(scale, bool) or not isinstance(scale, int | Scale):
            raise InvalidArgument(f"update_scale takes a Scale or an int, got {type(scale).__name__}")
        if isinstance(scale, int):
            if scale < 0:
                raise InvalidArgument(f"replicas must not be negative, got {scale}")
            data = self._transport.request(
                "PATCH", path, query=query, body={"spec": {"replicas": scale}}, content_type=PatchType.MERGE.value
            )
        else:
            body = scale.to_dict()
            body.setdefault("metadata", {}).setdefault("name", name)
            if namespace is not None:
                body["metadata"].setdefault("namespace", namespace)
            data = self._transport.request("PUT", path, query=query, body=body, content_type=JSON_CONTENT_TYPE)
        return _decode_scale(data)

    # ----- used by Watch ---------------------------------------------------------------

    def _open_watch(
        self,
        *,
        resource_version: str | None,
        label_selector: str | None,
        field_selector: str | None,
        allow_watch_bookmarks: bool,
        timeout_seconds: int,
    ) -> StreamResponse:
        query: list[tuple[str, str]] = [("watch", "true"), ("timeoutSeconds", str(timeout_seconds))]
        if resource_version is not None:
            query.append(("resourceVersion", resource_version))
        if allow_watch_bookmarks:
            query.append(("allowWatchBookmarks", "true"))
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        return self._transport.stream(
            self._path(namespace=self.namespace),
            query=query,
            read_timeout=timeout_seconds + self._transport.timeouts.watch_margin,
        )

    def _list_everything(
        self,
        *,
        label_selector: str | None,
        field_selector: str | None,
        page_size: int,
        on_invalid: InvalidHandler | None = None,
    ) -> tuple[builtins.list[T], str | None]:
        """Every matching object (all pages, :meth:`list_pages`) and the resourceVersion of the first page,
        which is the snapshot every page belongs to."""
        items: builtins.list[T] = []
        resource_version: str | None = None
        for page in self.list_pages(
            label_selector=label_selector, field_selector=field_selector, page_size=page_size, on_invalid=on_invalid
        ):
            if resource_version is None:
                resource_version = page.metadata.resource_version
            items.extend(page.items)
        return items, resource_version


def _compact_managed_fields(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """``obj`` with each managedFields entry's ``fieldsV1`` cut to its top-level keys (see
    :meth:`ResourceClient.with_compact_managed_fields`); ``obj`` itself when it has none."""
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    if not isinstance(meta, Mapping) or "managedFields" not in meta:
        return obj
    entries = meta.get("managedFields")
    compact = (
        [
            {
                **{k: v for k, v in e.items() if k != "fieldsV1"},
                **({"fieldsV1": {key: {} for key in e["fieldsV1"]}} if isinstance(e.get("fieldsV1"), Mapping) else {}),
            }
            for e in entries
            if isinstance(e, Mapping)
        ]
        if isinstance(entries, list)
        else None
    )
    return {**obj, "metadata": {**meta, "managedFields": compact}}


def _decode_scale(data: bytes) -> Scale:
    try:
        return Scale.model_validate(decode_json(data))
    except ValidationError as error:
        raise ResponseDecodeError(f"the server's Scale does not fit the model: {error}") from None
