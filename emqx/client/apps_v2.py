"""Client for ``apps.emqx.io/v2``: EMQX of operator 2.3, its storage version.

A 2.3 cluster also serves EMQX ``v2beta1`` (deprecated) with no conversion: both versions read and write
the same stored object, and only ``apiVersion`` is rewritten (see emqx/crds/SOURCES.md). Rebalance stays
``v2beta1`` (``cs.apps_v2beta1.rebalances``).
"""

from __future__ import annotations

from emqx.client._group import GroupVersionClient
from emqx.client.resource import ResourceClient
from emqx.models.apps_v2 import EMQX

__all__ = ["AppsV2Client"]


class AppsV2Client(GroupVersionClient):
    """``cs.apps_v2``."""

    version = "v2"

    def emqxes(self, namespace: str | None) -> ResourceClient[EMQX]:
        """EMQX clusters in ``namespace`` (None: all namespaces, for list and watch)."""
        return self._client(EMQX, namespace)
