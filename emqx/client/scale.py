"""``autoscaling/v1 Scale``: what the ``/scale`` subresource of a custom resource reads and writes.

For EmqxBroker/EmqxEnterprise it maps ``.spec.replicas``/``.status.replicas``; for EMQX it
maps the *replicant* replicas (``.spec.replicantTemplate.spec.replicas``), as the CRDs say.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from emqx.models._base import ObjectMeta

__all__ = ["Scale", "ScaleSpec", "ScaleStatus"]


class _ScaleModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ScaleSpec(_ScaleModel):
    """The desired replica count. autoscaling/v1 leaves a zero out (``omitempty``), so a Scale
    read with no ``spec.replicas`` means 0 (a v3beta1 EMQX without replicants), not "unknown".
    The default is not sent back: :meth:`Scale.to_dict` writes only what was set."""

    replicas: int = 0


class ScaleStatus(_ScaleModel):
    """The observed replica count and the label selector of the pods, when the CRD maps one."""

    replicas: int = 0
    selector: str | None = None


class Scale(_ScaleModel):
    """``autoscaling/v1 Scale``."""

    group: ClassVar[str] = "autoscaling"
    version: ClassVar[str] = "v1"

    api_version: str = Field(default="autoscaling/v1", alias="apiVersion")
    kind: str = "Scale"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ScaleSpec = Field(default_factory=ScaleSpec)
    status: ScaleStatus | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON body to send (only what was set, plus apiVersion and kind)."""
        body = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        body["apiVersion"] = self.api_version
        body["kind"] = self.kind
        return body
