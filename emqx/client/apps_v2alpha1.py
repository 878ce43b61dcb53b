"""Client for ``apps.emqx.io/v2alpha1``: EMQX as operator 2.0/2.1 served it (deprecated)."""

from __future__ import annotations

from emqx.client._group import GroupVersionClient
from emqx.client.resource import ResourceClient
from emqx.models.apps_v2alpha1 import EMQX

__all__ = ["AppsV2alpha1Client"]


class AppsV2alpha1Client(GroupVersionClient):
    """``cs.apps_v2alpha1``."""

    version = "v2alpha1"

    def emqxes(self, namespace: str | None) -> ResourceClient[EMQX]:
        """EMQX clusters in ``namespace`` (None: all namespaces, for list and watch)."""
        return self._client(EMQX, namespace)
