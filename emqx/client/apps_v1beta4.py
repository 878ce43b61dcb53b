"""Client for ``apps.emqx.io/v1beta4``: EmqxBroker and EmqxEnterprise (operator 1.2.x/2.x,
EMQX 4.4) and the deprecated v1beta4 Rebalance."""

from __future__ import annotations

from emqx.client._group import GroupVersionClient
from emqx.client.resource import ResourceClient
from emqx.models.apps_v1beta4 import EmqxBroker, EmqxEnterprise, Rebalance

__all__ = ["AppsV1beta4Client"]


class AppsV1beta4Client(GroupVersionClient):
    """``cs.apps_v1beta4``."""

    version = "v1beta4"

    def emqx_brokers(self, namespace: str | None) -> ResourceClient[EmqxBroker]:
        """EmqxBrokers (open-source EMQX 4.x) in ``namespace`` (None: all, for list and watch)."""
        return self._client(EmqxBroker, namespace)

    def emqx_enterprises(self, namespace: str | None) -> ResourceClient[EmqxEnterprise]:
        """EmqxEnterprises (EMQX Enterprise 4.x) in ``namespace`` (None: all, for list and watch)."""
        return self._client(EmqxEnterprise, namespace)

    def rebalances(self, namespace: str | None) -> ResourceClient[Rebalance]:
        """Rebalances as v1beta4 (deprecated; v2beta1 is the storage version)."""
        return self._client(Rebalance, namespace)
