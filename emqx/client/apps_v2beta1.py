"""Client for ``apps.emqx.io/v2beta1``: EMQX (operator 2.x, today's storage version) and Rebalance."""

from __future__ import annotations

from emqx.client._group import GroupVersionClient
from emqx.client.resource import ResourceClient
from emqx.models.apps_v2beta1 import EMQX, Rebalance

__all__ = ["AppsV2beta1Client"]


class AppsV2beta1Client(GroupVersionClient):
    """``cs.apps_v2beta1``."""

    version = "v2beta1"

    def emqxes(self, namespace: str | None) -> ResourceClient[EMQX]:
        """EMQX clusters in ``namespace`` (None: all namespaces, for list and watch)."""
        return self._client(EMQX, namespace)

    def rebalances(self, namespace: str | None) -> ResourceClient[Rebalance]:
        """Rebalances (connection/session rebalancing of an EMQX Enterprise cluster)."""
        return self._client(Rebalance, namespace)
