"""Hand-written bases for the generated models in this package (the generated modules import from here).

Reading and writing rules, shared by every model:

- Unknown fields survive. A newer operator may write fields our CRD copy does not know; dropping them
  on a read-modify-write would erase them in the cluster. Every model allows extra keys and dumps them back.
- `to_dict()` writes only what was set (`exclude_unset`), never the schema defaults. A document read from
  the API server comes back unchanged, and fields the user never set stay out of our patches (and out of
  our managedFields ownership). Caveat: assigning into a sub-object that only exists as a default
  (`obj.spec.core_template.spec.replicas = 3` when `coreTemplate` was never set) is lost, because the
  parent never marked `core_template` as set; assign the whole sub-object instead.
- Python names are snake_case, the JSON keys are aliases; both are accepted on input.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationError,
    model_serializer,
    model_validator,
)

__all__ = [
    "QUANTITY_PATTERN",
    "KubeModel",
    "ListMeta",
    "ManagedFieldsEntry",
    "ObjectMeta",
    "OwnerReference",
    "Quantity",
    "Resource",
    "ResourceList",
]

# resource.Quantity as the CRDs declare it (`x-kubernetes-int-or-string` plus this pattern on the string form).
# emqx.codegen checks that a CRD's pattern is exactly this one before it types a field `Quantity`.
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
Quantity = int | Annotated[str, StringConstraints(pattern=QUANTITY_PATTERN)]
"""A resource quantity: 2, "500m", "1Gi". Kept as written; the API server canonicalises it, we do not."""


class KubeModel(BaseModel):
    """Base of every Kubernetes object or sub-object model."""

    model_config = ConfigDict(
        extra="allow",  # fields written by a newer operator (or Kubernetes) survive a round trip
        populate_by_name=True,  # EMQXSpec(image_pull_policy=...) and EMQXSpec(imagePullPolicy=...)
        protected_namespaces=(),  # CRD keys are not ours to choose; a "model..." key must not warn
    )

    def to_dict(self) -> dict[str, Any]:
        """The JSON document as the API server would take it: aliases, only the fields that were set."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Validate a decoded JSON/YAML document."""
        return cls.model_validate(data)


class OwnerReference(KubeModel):
    """metav1.OwnerReference."""

    api_version: str = Field(alias="apiVersion")
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    block_owner_deletion: bool | None = Field(default=None, alias="blockOwnerDeletion")


class ManagedFieldsEntry(KubeModel):
    """metav1.ManagedFieldsEntry (server-side apply bookkeeping)."""

    manager: str | None = None
    operation: str | None = None
    api_version: str | None = Field(default=None, alias="apiVersion")
    time: datetime | None = None
    fields_type: str | None = Field(default=None, alias="fieldsType")
    fields_v1: dict[str, Any] | None = Field(default=None, alias="fieldsV1")
    subresource: str | None = None


class ObjectMeta(KubeModel):
    """metav1.ObjectMeta of a top-level object."""

    name: str | None = None
    generate_name: str | None = Field(default=None, alias="generateName")
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = Field(default=None, alias="resourceVersion")
    generation: int | None = None
    creation_timestamp: datetime | None = Field(default=None, alias="creationTimestamp")
    deletion_timestamp: datetime | None = Field(default=None, alias="deletionTimestamp")
    deletion_grace_period_seconds: int | None = Field(default=None, alias="deletionGracePeriodSeconds")
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    owner_references: list[OwnerReference] | None = Field(default=None, alias="ownerReferences")
    finalizers: list[str] | None = None
    managed_fields: list[ManagedFieldsEntry] | None = Field(default=None, alias="managedFields")

    def spec_api_version(self) -> str:
        """The oldest version of the kind (``"v2alpha1"``) through which a writer still owns part of
        the spec: of the managedFields entries of the object itself (not a subresource such as
        status) that own part of ``spec``, the oldest ``apiVersion`` by :func:`version_age`; without
        such an entry, of the entries of the object itself; '' when managedFields say nothing.

        Source: Kubernetes "Server-Side Apply" (field management). An entry's ``apiVersion`` is the
        version its manager wrote through, and the API server keeps it while that manager's field
        set stays the same, even when it writes again through another version; a field passes to
        another manager only when that one changes its value. So the answer is "v2alpha1" as long
        as anything of the spec is owned as written through v2alpha1: what an upgrade that drops
        v2alpha1 cares about (console/upgrade.py reads the same records)."""
        entries = [e for e in self.managed_fields or () if not e.subresource and e.api_version]
        owning = [e for e in entries if "f:spec" in (e.fields_v1 or {})] or entries
        versions = [(e.api_version or "").rpartition("/")[2] for e in owning]
        return min(versions, key=version_age) if versions else ""


_VERSION = re.compile(r"^v(?P<major>[0-9]+)(?:(?P<stage>alpha|beta)(?P<minor>[0-9]+))?$")


def version_age(version: str) -> tuple[int, int, int, int, str]:
    """Sort key of a version name of a kind, oldest first, for names of Kubernetes' pattern
    ``v<major>[alpha|beta<minor>]`` (CustomResourceDefinition versioning): by major, then alpha
    before beta before GA, then minor: ``v2alpha1 < v2beta1 < v2 < v3beta1``. (Kubernetes'
    own "version priority" puts every GA before every beta, for choosing a preferred version;
    this orders by release.) Other names sort first, alphabetically."""
    found = _VERSION.match(version)
    if found is None:
        return (0, 0, 0, 0, version)
    stage = {"alpha": 0, "beta": 1, None: 2}[found["stage"]]
    return (1, int(found["major"]), stage, int(found["minor"] or 0), "")


class ListMeta(KubeModel):
    """metav1.ListMeta."""

    resource_version: str | None = Field(default=None, alias="resourceVersion")
    continue_: str | None = Field(default=None, alias="continue")
    remaining_item_count: int | None = Field(default=None, alias="remainingItemCount")


_GROUP_MODULES = {"apps.emqx.io": "apps"}


class Resource(KubeModel):
    """A top-level kind. Generated subclasses set the ClassVars from the CRD.

    `apiVersion` and `kind` are fixed by the class, so they are ClassVars rather than fields (a field and a
    ClassVar cannot share the name `kind`): `EMQX.kind` and `emqx.kind` are both "EMQX". They are checked on
    input (a document of another kind or version is refused, not silently reinterpreted) and always written
    by `to_dict()`, also for an object built in Python, which then needs no `apiVersion=`/`kind=`.
    """

    group: ClassVar[str]
    version: ClassVar[str]
    api_version: ClassVar[str]
    kind: ClassVar[str]
    list_kind: ClassVar[str]
    plural: ClassVar[str]
    namespaced: ClassVar[bool]

    _registry: ClassVar[dict[tuple[str, str], type[Resource]]] = {}

    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    _raw: dict[str, Any] | None = PrivateAttr(default=None)
    _problems: tuple[str, ...] = PrivateAttr(default=())
    _source: Mapping[str, Any] | None = PrivateAttr(default=None)

    @property
    def source(self) -> Mapping[str, Any] | None:
        """The decoded JSON document this object was read from, when it was read with ``keep_source``
        (:meth:`read`; a client ``with_source_documents()``), else None: what a store that writes documents
        (emqx.store.SqliteStore) writes instead of serializing the model again with :meth:`to_dict`. The
        document itself, not a copy: read it, never change it. Not updated when the model is changed."""
        return self._source

    @property
    def problems(self) -> tuple[str, ...]:
        """Why the stored document does not fit this model, one line per field
        (``status.coreNodes: Input should be a valid list``); ``()`` for an object that fits.
        See :meth:`read`."""
        return self._problems

    @classmethod
    def read(cls, data: Mapping[str, Any], *, keep_source: bool = False) -> Self:
        """A document of this kind as the API server holds it, never refused for its shape.

        An object written through another version (a status of an older shape, a spec field
        that version did not require) must stay visible, readable, editable and deletable, so a
        document that does not fit the model becomes a *not-understood* object: its
        :attr:`problems` list why; the parts that fit are typed (usually all but ``status`` or
        ``spec``; the rest are left unset), ``metadata`` always is; :meth:`to_dict` gives the
        stored document back unchanged. Raises pydantic's ValidationError only for a document
        of another kind or version, or metadata that is not metadata.

        ``keep_source``: the object keeps ``data`` (:attr:`source`; for a not-understood object, its copy of
        ``data``), which then costs its memory for as long as the object lives."""
        try:
            valid = cls.model_validate(data)
            if keep_source:
                valid._source = data
            return valid
        except ValidationError as error:
            if any(not e["loc"] or e["loc"][0] == "metadata" for e in error.errors()):
                raise
            bad = {e["loc"][0] for e in error.errors()}
            problems = tuple(
                f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors(include_url=False)
            )
        try:
            obj = cls.model_validate({key: value for key, value in data.items() if key not in bad})
        except ValidationError:
            values: dict[str, Any] = {name: None for name, field in cls.model_fields.items() if field.is_required()}
            values["metadata"] = ObjectMeta.model_validate(data.get("metadata") or {})
            obj = cls.model_construct(None, **values)
        obj._raw = copy.deepcopy(dict(data))
        obj._problems = problems
        if keep_source:
            obj._source = obj._raw
        return obj

    def to_dict(self) -> dict[str, Any]:
        """As :meth:`KubeModel.to_dict`; for a not-understood object (:meth:`read`), the stored
        document exactly as it was read."""
        if self._raw is not None:
            return copy.deepcopy(self._raw)
        return super().to_dict()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            Resource._registry[(cls.api_version, cls.kind)] = cls

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Validate a document. On `Resource` itself, pick the class from its apiVersion and kind."""
        if cls is not Resource:
            return cls.model_validate(data)
        resource_class = Resource.class_for(str(data.get("apiVersion")), str(data.get("kind")))
        return resource_class.model_validate(data)  # type: ignore[return-value]

    @staticmethod
    def class_for(api_version: str, kind: str) -> type[Resource]:
        """The generated class for an apiVersion and kind, importing its module (`emqx.models.apps_v2beta1`)."""
        key = (api_version, kind)
        if key not in Resource._registry:
            group, _, version = api_version.rpartition("/")
            if group in _GROUP_MODULES:
                with contextlib.suppress(ModuleNotFoundError):  # an unknown version: LookupError below
                    importlib.import_module(f"{__package__}.{_GROUP_MODULES[group]}_{version}")
        try:
            return Resource._registry[key]
        except KeyError:
            raise LookupError(f"no model for apiVersion {api_version!r} kind {kind!r}") from None

    @model_validator(mode="after")
    def _check_type_meta(self) -> Self:
        # apiVersion and kind arrive as extra keys (they are not fields); take them out and check them.
        # An after-validator, not a before-validator: that one would make pydantic-core build a dict of
        # the whole document first, and model_validate_json would lose most of its speed.
        extra = self.__pydantic_extra__
        if extra and ("apiVersion" in extra or "kind" in extra):
            api_version = extra.pop("apiVersion", self.api_version)
            kind = extra.pop("kind", self.kind)
            if (api_version, kind) != (self.api_version, self.kind):
                raise ValueError(f"a {kind} {api_version} document cannot be read as {self.kind} {self.api_version}")
        return self

    @model_serializer(mode="wrap")
    def _write_type_meta(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        if not isinstance(data, dict):
            return data
        api_version_key = "apiVersion" if info.by_alias else "api_version"
        return {api_version_key: self.api_version, "kind": self.kind, **data}


ResourceT = TypeVar("ResourceT", bound=Resource)


class ResourceList(KubeModel, Generic[ResourceT]):
    """A LIST response (`EMQXList`): `ResourceList[EMQX].from_dict(response.json())`."""

    api_version: str | None = Field(default=None, alias="apiVersion")
    kind: str | None = None
    metadata: ListMeta = Field(default_factory=ListMeta)
    items: list[ResourceT] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fill_type_meta(self) -> Self:
        # A list built in Python gets the apiVersion and list kind of its item class, as a set value.
        item_class = self._item_class()
        if item_class is not None:
            if self.api_version is None:
                self.api_version = item_class.api_version
            if self.kind is None:
                self.kind = item_class.list_kind
        return self

    @classmethod
    def _item_class(cls) -> type[Resource] | None:
        args = cls.__pydantic_generic_metadata__["args"]
        if args and isinstance(args[0], type) and issubclass(args[0], Resource) and "kind" in args[0].__dict__:
            return args[0]
        return None
