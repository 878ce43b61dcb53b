"""Bad input ends in a typed error with a clear message before any request is sent.

The clientset here points at a closed port: had any of these calls reached the network, it
would have raised ClusterUnreachable instead of the input error asserted.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from kubernetes.client import Configuration

from emqx.client import ALL, Clientset, PatchType
from emqx.errors import InvalidArgument, InvalidName, UnknownKind, UnsupportedPatchType, WrongKind
from emqx.models import apps_v2alpha1
from tests.factories import emqx, emqx_broker


@pytest.fixture
def offline() -> Iterator[Clientset]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Clientset.from_configuration(Configuration(host=f"https://127.0.0.1:{port}")) as cs:
        yield cs


@pytest.mark.parametrize("name", ["Upper", "under_score", "-leading", "trailing-", "a" * 254, "sp ace", ""])
def test_an_invalid_object_name_is_refused(offline: Clientset, name: str) -> None:
    with pytest.raises(InvalidName) as raised:
        offline.apps_v2beta1.emqxes("default").get(name)
    assert "EMQX name" in str(raised.value)


def test_the_invalid_name_message_explains_rfc_1123(offline: Clientset) -> None:
    with pytest.raises(InvalidName, match="lowercase RFC 1123 subdomain"):
        offline.apps_v2beta1.emqxes("default").delete("My_Broker")


@pytest.mark.parametrize("namespace", ["Default", "a.b", "x" * 64, ""])
def test_an_invalid_namespace_is_refused(offline: Clientset, namespace: str) -> None:
    with pytest.raises(InvalidName, match="namespace"):
        offline.apps_v2beta1.emqxes(namespace)


def test_a_name_that_is_not_a_string_is_refused(offline: Clientset) -> None:
    with pytest.raises(InvalidName, match="must be a string, got int"):
        offline.apps_v2beta1.emqxes("default").get(42)  # type: ignore[arg-type]


def test_an_object_of_another_kind_is_refused(offline: Clientset) -> None:
    with pytest.raises(WrongKind) as raised:
        offline.apps_v2beta1.emqxes("default").create(emqx_broker())  # type: ignore[arg-type]
    assert "handles EMQX (apps.emqx.io/v2beta1), got an EmqxBroker (apps.emqx.io/v1beta4)" in str(raised.value)
    assert isinstance(raised.value, TypeError)


def test_an_object_of_another_version_of_the_same_kind_is_refused(offline: Clientset) -> None:
    old = apps_v2alpha1.EMQX.from_dict({"metadata": {"name": "old"}, "spec": {"image": "emqx/emqx:5.1"}})
    with pytest.raises(WrongKind, match=r"got an EMQX \(apps\.emqx\.io/v2alpha1\)"):
        offline.apps_v2beta1.emqxes("default").update(old)  # type: ignore[arg-type]


def test_a_mapping_of_another_kind_is_refused(offline: Clientset) -> None:
    with pytest.raises(WrongKind):
        offline.apps_v2beta1.emqxes("default").create({"apiVersion": "v1", "kind": "ConfigMap"})


def test_a_string_is_not_an_object(offline: Clientset) -> None:
    with pytest.raises(WrongKind, match="expected an EMQX"):
        offline.apps_v2beta1.emqxes("default").create("emqx")  # type: ignore[arg-type]


def test_a_mapping_that_does_not_fit_the_model_is_refused(offline: Clientset) -> None:
    with pytest.raises(InvalidArgument, match="not a valid EMQX"):
        offline.apps_v2beta1.emqxes("default").create({"metadata": {"name": "x"}, "spec": {"image": ["a", "list"]}})


def test_an_object_in_another_namespace_is_refused(offline: Clientset) -> None:
    with pytest.raises(InvalidArgument, match="does not match the client's namespace 'default'"):
        offline.apps_v2beta1.emqxes("default").create(emqx(namespace="elsewhere"))


def test_an_object_without_name_or_generate_name_cannot_be_created(offline: Clientset) -> None:
    obj = emqx()
    obj.metadata.name = None
    with pytest.raises(InvalidArgument, match=r"needs metadata\.name or metadata\.generateName"):
        offline.apps_v2beta1.emqxes("default").create(obj)


def test_strategic_merge_patch_is_refused_for_custom_resources(offline: Clientset) -> None:
    client = offline.apps_v2beta1.emqxes("default")
    for patch_type in ("strategic", PatchType.STRATEGIC):
        with pytest.raises(UnsupportedPatchType, match="strategic merge patch is not supported for custom resources"):
            client.patch("broker", {"spec": {"image": "x"}}, patch_type=patch_type)  # type: ignore[arg-type]


def test_a_json_patch_must_be_a_list_of_operations(offline: Clientset) -> None:
    client = offline.apps_v2beta1.emqxes("default")
    with pytest.raises(InvalidArgument, match="list of operations"):
        client.patch("broker", {"spec": {}}, patch_type="json")
    with pytest.raises(InvalidArgument, match="needs 'op' and 'path'"):
        client.patch("broker", [{"value": 1}], patch_type="json")


def test_an_unknown_patch_type_is_refused(offline: Clientset) -> None:
    with pytest.raises(InvalidArgument, match="unknown patch_type"):
        offline.apps_v2beta1.emqxes("default").patch("broker", {}, patch_type="xml")  # type: ignore[arg-type]


def test_single_object_verbs_need_a_namespace(offline: Clientset) -> None:
    client = offline.apps_v2beta1.emqxes(ALL)
    with pytest.raises(InvalidArgument, match="get needs a namespace"):
        client.get("broker")
    with pytest.raises(InvalidArgument, match="delete_collection needs a namespace"):
        client.delete_collection()


def test_writing_through_an_all_namespaces_client_needs_the_objects_namespace(offline: Clientset) -> None:
    with pytest.raises(InvalidArgument, match=r"has no metadata\.namespace"):
        offline.apps_v2beta1.emqxes(None).create(emqx())


@pytest.mark.parametrize("limit", [0, -1, "10", True])
def test_list_limit_must_be_a_positive_integer(offline: Clientset, limit: object) -> None:
    with pytest.raises(InvalidArgument, match="limit must be a positive integer"):
        offline.apps_v2beta1.emqxes("default").list(limit=limit)  # type: ignore[arg-type]


def test_delete_options_are_checked(offline: Clientset) -> None:
    client = offline.apps_v2beta1.emqxes("default")
    with pytest.raises(InvalidArgument, match="propagation_policy"):
        client.delete("broker", propagation_policy="Later")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="grace_period_seconds"):
        client.delete("broker", grace_period_seconds=-5)


def test_update_scale_takes_a_scale_or_a_non_negative_int(offline: Clientset) -> None:
    client = offline.apps_v1beta4.emqx_brokers("default")
    with pytest.raises(InvalidArgument, match="takes a Scale or an int"):
        client.update_scale("broker", "3")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="must not be negative"):
        client.update_scale("broker", -1)


def test_an_unknown_kind_is_refused(offline: Clientset) -> None:
    with pytest.raises(UnknownKind, match="no client for kind 'Deployment'"):
        offline.for_kind("Deployment", "default", version="v1")
    with pytest.raises(UnknownKind, match="no model for EMQX v1beta4"):
        offline.for_kind("EMQX", "default", version="v1beta4")


def test_a_selector_mapping_must_be_strings(offline: Clientset) -> None:
    with pytest.raises(InvalidArgument, match="label_selector mapping must be str -> str"):
        offline.apps_v2beta1.emqxes("default").list(label_selector={"replicas": 3})  # type: ignore[dict-item]


def test_update_needs_the_resource_version_it_read(offline: Clientset) -> None:
    with pytest.raises(InvalidArgument, match=r"no metadata\.resourceVersion; update the object as read"):
        offline.apps_v2beta1.emqxes("default").update(emqx(name="broker"))


def test_update_and_apply_need_a_name(offline: Clientset) -> None:
    obj = emqx()
    obj.metadata.name = None
    with pytest.raises(InvalidArgument, match=r"update_status: the EMQX has no metadata\.name"):
        offline.apps_v2beta1.emqxes("default").update_status(obj)
    with pytest.raises(InvalidArgument, match=r"apply: the EMQX has no metadata\.name"):
        offline.apps_v2beta1.emqxes("default").apply(obj)
