"""Client for ``apps.emqx.io/v1beta1``: EmqxBroker and EmqxEnterprise as operator 1.0.x
served them (2021 clusters)."""

from __future__ import annotations

from emqx.client._group import GroupVersionClient
from emqx.client.resource import ResourceClient
from emqx.models.apps_v1beta1 import EmqxBroker, EmqxEnterprise

__all__ = ["AppsV1beta1Client"]


class AppsV1beta1Client(GroupVersionClient):
    """``cs.apps_v1beta1``."""

    version = "v1beta1"

    def emqx_brokers(self, namespace: str | None) -> ResourceClient[EmqxBroker]:
        """EmqxBrokers in ``namespace`` (None: all namespaces, for list and watch)."""
        return self._client(EmqxBroker, namespace)

    def emqx_enterprises(self, namespace: str | None) -> ResourceClient[EmqxEnterprise]:
        """EmqxEnterprises in ``namespace`` (None: all namespaces, for list and watch)."""
        return self._client(EmqxEnterprise, namespace)
