"""The audit record: who did what to which object, with the change as a readable diff."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory

from console.audit import record
from console.models import AuditEntry

pytestmark = pytest.mark.django_db


def _request(user: User, request_id: str = "req-1") -> object:
    request = RequestFactory().post("/")
    request.user = user
    request.request_id = request_id
    return request


def test_an_entry_names_the_user_object_and_the_change() -> None:
    user = User.objects.create_user("olga", password="pw-olga-12345")
    before = {
        "apiVersion": "apps.emqx.io/v2beta1",
        "kind": "EMQX",
        "metadata": {"name": "b", "namespace": "prod", "resourceVersion": "1"},
        "spec": {"image": "emqx:5.7", "coreTemplate": {"spec": {"replicas": 2}}},
    }
    after = {
        **before,
        "metadata": {**before["metadata"], "resourceVersion": "2"},
        "spec": {"image": "emqx:5.7", "coreTemplate": {"spec": {"replicas": 3}}},
    }
    entry = record(
        _request(user),
        cluster="default",
        action="update",
        kind="EMQX",
        namespace="prod",
        name="b",
        outcome="success",
        before=before,
        after=after,
    )
    assert (entry.username, entry.action, entry.namespace, entry.name, entry.request_id) == (
        "olga",
        "update",
        "prod",
        "b",
        "req-1",
    )
    assert "-      replicas: 2" in entry.diff and "+      replicas: 3" in entry.diff
    assert "resourceVersion" not in entry.diff  # bookkeeping is not a change a person made


def test_a_failed_attempt_is_recorded_with_its_error() -> None:
    user = User.objects.create_user("piet", password="pw-piet-12345")
    record(
        _request(user),
        cluster="default",
        action="delete",
        kind="EMQX",
        namespace="prod",
        name="b",
        outcome="failure",
        error="Forbidden: cannot delete",
    )
    entry = AuditEntry.objects.get()
    assert entry.outcome == "failure" and entry.error == "Forbidden: cannot delete"
