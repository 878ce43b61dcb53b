"""The typed apps.emqx.io clientset (client-go's generated clientset, in Python).

``Clientset`` -> group-version clients (``cs.apps_v2``, ``cs.apps_v3beta1``, ...) -> ``ResourceClient[T]`` per
kind and namespace, with every verb; ``Watch``/``WatchEvent`` for watches.
"""

from emqx.client.clientset import SUPPORTED_VERSIONS, Clientset, default_kubeconfig_path
from emqx.client.resource import ALL, DEFAULT_FIELD_MANAGER, PatchType, ResourceClient
from emqx.client.scale import Scale, ScaleSpec, ScaleStatus
from emqx.client.watch import EventType, Watch, WatchEvent

__all__ = [
    "ALL",
    "DEFAULT_FIELD_MANAGER",
    "SUPPORTED_VERSIONS",
    "Clientset",
    "EventType",
    "PatchType",
    "ResourceClient",
    "Scale",
    "ScaleSpec",
    "ScaleStatus",
    "Watch",
    "WatchEvent",
    "default_kubeconfig_path",
]
