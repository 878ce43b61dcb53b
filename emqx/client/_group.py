"""Base of the group-version clients (client-go's ``AppsV1Client``)."""

from __future__ import annotations

from typing import TypeVar

from emqx.client.resource import DEFAULT_FIELD_MANAGER, ResourceClient
from emqx.models._base import Resource
from emqx.rest import Transport

T = TypeVar("T", bound=Resource)


class GroupVersionClient:
    """Hands out :class:`ResourceClient` objects for the kinds of one group-version, all
    sharing the clientset's transport (one connection pool)."""

    group = "apps.emqx.io"
    version: str = ""

    def __init__(self, transport: Transport, *, field_manager: str = DEFAULT_FIELD_MANAGER) -> None:
        self._transport = transport
        self._field_manager = field_manager

    @property
    def group_version(self) -> str:
        """e.g. ``apps.emqx.io/v2beta1``."""
        return f"{self.group}/{self.version}"

    def _client(self, resource: type[T], namespace: str | None) -> ResourceClient[T]:
        return ResourceClient(self._transport, resource, namespace, field_manager=self._field_manager)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.group_version}>"
