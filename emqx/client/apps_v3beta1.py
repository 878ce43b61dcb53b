"""Client for ``apps.emqx.io/v3beta1``: EMQX and EMQXAPIKey of operator 3.0.

The 3.0 CRD serves EMQX in ``v3beta1`` only, with ``spec.config.roots`` (a YAML tree) in place of the
HOCON ``config.data``, and conditions that are True or False with ``observedGeneration``
(emqx/crds/SOURCES.md; the operator's ``api/v3beta1``). EMQXAPIKey is new in 3.0 (PR #1194).
"""

from __future__ import annotations

from emqx.client._group import GroupVersionClient
from emqx.client.resource import ResourceClient
from emqx.models.apps_v3beta1 import EMQX, EMQXAPIKey

__all__ = ["AppsV3beta1Client"]


class AppsV3beta1Client(GroupVersionClient):
    """``cs.apps_v3beta1``."""

    version = "v3beta1"

    def emqxes(self, namespace: str | None) -> ResourceClient[EMQX]:
        """EMQX clusters in ``namespace`` (None: all namespaces, for list and watch)."""
        return self._client(EMQX, namespace)

    def emqx_api_keys(self, namespace: str | None) -> ResourceClient[EMQXAPIKey]:
        """API keys of EMQX clusters: the operator creates the Secret ``spec.secretRef.name`` names."""
        return self._client(EMQXAPIKey, namespace)
