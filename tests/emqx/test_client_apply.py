"""Server-side apply: the console's field manager owns what it applies (managedFields say so),
conflicts with other managers are typed, force takes ownership over."""

from __future__ import annotations

import pytest

from emqx.client import Clientset
from emqx.errors import Conflict
from emqx.models import apps_v2beta1
from tests.factories import emqx


def _managers(obj: apps_v2beta1.EMQX) -> dict[str, dict]:
    return {m.manager: m.to_dict() for m in obj.metadata.managed_fields or ()}


def test_apply_creates_a_missing_object_owned_by_the_console(cs: Clientset, namespace: str) -> None:
    applied = cs.apps_v2beta1.emqxes(namespace).apply(emqx(name="applied", labels={"team": "iot"}))
    assert applied.metadata.uid
    managers = _managers(applied)
    assert list(managers) == ["emqx-console"]
    entry = managers["emqx-console"]
    assert entry["operation"] == "Apply"
    assert "f:image" in entry["fieldsV1"]["f:spec"]
    assert "f:team" in entry["fieldsV1"]["f:metadata"]["f:labels"]


def test_apply_records_the_given_field_manager(cs: Clientset, namespace: str) -> None:
    applied = cs.apps_v2beta1.emqxes(namespace).apply(emqx(name="mine"), field_manager="console-alice")
    assert "console-alice" in _managers(applied)


def test_reapplying_without_a_field_removes_the_field_the_manager_owned(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    client.apply(emqx(name="shrink", labels={"a": "1", "b": "2"}))
    again = client.apply(emqx(name="shrink", labels={"a": "1"}))
    assert again.metadata.labels == {"a": "1"}


def test_applying_a_field_another_manager_set_differently_is_a_conflict(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    client.apply(emqx(name="shared", image="emqx/emqx:5.8.6"), field_manager="other-tool")
    with pytest.raises(Conflict) as raised:
        client.apply(emqx(name="shared", image="emqx/emqx:5.9.0"))
    assert "other-tool" in raised.value.message
    assert any(c.field == "spec.image" for c in raised.value.details.causes)  # the leading dot read off


def test_force_takes_ownership_of_conflicting_fields(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    client.apply(emqx(name="taken", image="emqx/emqx:5.8.6"), field_manager="other-tool")
    forced = client.apply(emqx(name="taken", image="emqx/emqx:5.9.0"), force=True)
    assert forced.spec.image == "emqx/emqx:5.9.0"
    managers = _managers(forced)
    assert "f:image" in managers["emqx-console"]["fieldsV1"]["f:spec"]
    # other-tool owned nothing else, so its entry is gone with the field
    assert "f:image" not in managers.get("other-tool", {}).get("fieldsV1", {}).get("f:spec", {})


def test_apply_of_an_object_read_from_the_server_drops_managed_fields(cs: Clientset, namespace: str) -> None:
    # A round-tripped object carries managedFields, which an apply body must not contain.
    client = cs.apps_v2beta1.emqxes(namespace)
    client.create(emqx(name="round-trip"))
    current = client.get("round-trip")
    current.metadata.labels = {"applied": "after-read"}
    current.metadata.resource_version = None
    assert client.apply(current, force=True).metadata.labels == {"applied": "after-read"}


def test_update_and_patch_are_recorded_under_the_console_manager_too(cs: Clientset, namespace: str) -> None:
    client = cs.apps_v2beta1.emqxes(namespace)
    created = client.create(emqx(name="ops"))
    patched = client.patch("ops", {"metadata": {"labels": {"patched": "yes"}}})
    operations = {(m.manager, m.operation) for m in patched.metadata.managed_fields}
    assert operations == {("emqx-console", "Update")}
    assert created.metadata.managed_fields[0].manager == "emqx-console"
