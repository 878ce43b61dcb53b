"""Typed builders of custom resources for tests: small valid objects, each field overridable.

Each builder returns the generated model (not a dict), built from the JSON document the API
takes, so it only sets what it names: `to_dict()` writes exactly that and no schema default.
"""

from __future__ import annotations

import itertools
from typing import Any

from emqx.models import apps_v1beta1, apps_v1beta4, apps_v2alpha1, apps_v2beta1

EMQX5_IMAGE = "emqx/emqx:5.8.6"
EMQX4_IMAGE = "emqx/emqx:4.4.19"
EMQX4_EE_IMAGE = "emqx/emqx-ee:4.4.19"

_counter = itertools.count(1)


def unique_name(prefix: str = "emqx") -> str:
    """A name no other object of this test session uses."""
    return f"{prefix}-{next(_counter)}"


def _metadata(
    name: str | None, namespace: str | None, labels: dict[str, str] | None, annotations: dict[str, str] | None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name or unique_name()}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def emqx(
    name: str | None = None,
    *,
    namespace: str | None = None,
    image: str = EMQX5_IMAGE,
    core_replicas: int | None = None,
    replicant_replicas: int | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    spec: dict[str, Any] | None = None,
) -> apps_v2beta1.EMQX:
    """An apps.emqx.io/v2beta1 EMQX: the image, and replicas only when asked for."""
    body: dict[str, Any] = {"image": image, **(spec or {})}
    if core_replicas is not None:
        body["coreTemplate"] = {"spec": {"replicas": core_replicas}}
    if replicant_replicas is not None:
        body["replicantTemplate"] = {"spec": {"replicas": replicant_replicas}}
    return apps_v2beta1.EMQX.from_dict({"metadata": _metadata(name, namespace, labels, annotations), "spec": body})


def emqx_v2alpha1(
    name: str | None = None, *, namespace: str | None = None, image: str = EMQX5_IMAGE
) -> apps_v2alpha1.EMQX:
    """An apps.emqx.io/v2alpha1 EMQX (the deprecated version)."""
    return apps_v2alpha1.EMQX.from_dict({"metadata": _metadata(name, namespace, None, None), "spec": {"image": image}})


def emqx_broker(
    name: str | None = None,
    *,
    namespace: str | None = None,
    image: str = EMQX4_IMAGE,
    replicas: int | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> apps_v1beta4.EmqxBroker:
    """An apps.emqx.io/v1beta4 EmqxBroker (EMQX 4.4 open source)."""
    spec: dict[str, Any] = {"template": {"spec": {"emqxContainer": {"image": _image_parts(image)}}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return apps_v1beta4.EmqxBroker.from_dict(
        {"metadata": _metadata(name, namespace, labels, annotations), "spec": spec}
    )


def emqx_enterprise(
    name: str | None = None, *, namespace: str | None = None, image: str = EMQX4_EE_IMAGE, replicas: int | None = None
) -> apps_v1beta4.EmqxEnterprise:
    """An apps.emqx.io/v1beta4 EmqxEnterprise."""
    spec: dict[str, Any] = {"template": {"spec": {"emqxContainer": {"image": _image_parts(image)}}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return apps_v1beta4.EmqxEnterprise.from_dict({"metadata": _metadata(name, namespace, None, None), "spec": spec})


def emqx_broker_v1beta1(
    name: str | None = None,
    *,
    namespace: str | None = None,
    image: str = "emqx/emqx:4.3.10",
    replicas: int | None = None,
    labels: dict[str, str] | None = None,
) -> apps_v1beta1.EmqxBroker:
    """An apps.emqx.io/v1beta1 EmqxBroker, as a 2021 cluster took it."""
    spec: dict[str, Any] = {"image": image}
    if replicas is not None:
        spec["replicas"] = replicas
    return apps_v1beta1.EmqxBroker.from_dict({"metadata": _metadata(name, namespace, labels, None), "spec": spec})


def rebalance(
    name: str | None = None, *, namespace: str | None = None, instance_name: str = "emqx-ee", conn_evict_rate: int = 5
) -> apps_v2beta1.Rebalance:
    """An apps.emqx.io/v2beta1 Rebalance of an EMQX cluster."""
    return apps_v2beta1.Rebalance.from_dict(
        {
            "metadata": _metadata(name, namespace, None, None),
            "spec": {"instanceName": instance_name, "rebalanceStrategy": {"connEvictRate": conn_evict_rate}},
        }
    )


def _image_parts(image: str) -> dict[str, str]:
    repository, _, version = image.rpartition(":")
    return {"repository": repository, "version": version}
