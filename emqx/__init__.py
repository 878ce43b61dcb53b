"""Typed access to the EMQX operator's custom resources (apps.emqx.io): models, client, codegen.

The client's main names are importable from here (``from emqx import Clientset``); they load
on first use, so ``emqx.models`` and ``emqx.codegen`` never pull in the HTTP client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emqx.client import ALL, Clientset, EventType, PatchType, ResourceClient, Scale, Watch, WatchEvent
    from emqx.errors import (
        AlreadyExists,
        ApiError,
        ClusterUnreachable,
        ConfigurationError,
        Conflict,
        EmqxClientError,
        Forbidden,
        Gone,
        Invalid,
        InvalidArgument,
        NotFound,
        Unauthorized,
    )
    from emqx.retry import retry_on_conflict

_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        ("ALL", "Clientset", "EventType", "PatchType", "ResourceClient", "Scale", "Watch", "WatchEvent"), "emqx.client"
    ),
    **dict.fromkeys(
        (
            "AlreadyExists",
            "ApiError",
            "ClusterUnreachable",
            "ConfigurationError",
            "Conflict",
            "EmqxClientError",
            "Forbidden",
            "Gone",
            "Invalid",
            "InvalidArgument",
            "NotFound",
            "Unauthorized",
        ),
        "emqx.errors",
    ),
    "retry_on_conflict": "emqx.retry",
}

__all__ = [
    "ALL",
    "AlreadyExists",
    "ApiError",
    "Clientset",
    "ClusterUnreachable",
    "ConfigurationError",
    "Conflict",
    "EmqxClientError",
    "EventType",
    "Forbidden",
    "Gone",
    "Invalid",
    "InvalidArgument",
    "NotFound",
    "PatchType",
    "ResourceClient",
    "Scale",
    "Unauthorized",
    "Watch",
    "WatchEvent",
    "retry_on_conflict",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'emqx' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
