"""Browsing, filtering and exporting the audit trail, and who may see it."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from console.audit import record
from console.models import RoleGrant

pytestmark = pytest.mark.django_db


def _entry(user: User, namespace: str, name: str, action: str, outcome: str = "success") -> None:
    request = RequestFactory().post("/")
    request.user = user
    record(request, cluster="default", action=action, kind="EMQX", namespace=namespace, name=name, outcome=outcome)


@pytest.fixture
def entries() -> User:
    ana = User.objects.create_user("ana", password="pw-ana-123456")
    bo = User.objects.create_user("bo", password="pw-bo-1234567")
    _entry(ana, "prod", "broker-a", "create")
    _entry(ana, "prod", "broker-a", "update")
    _entry(bo, "staging", "broker-b", "delete", outcome="failure")
    return ana


def test_a_superuser_filters_by_user_namespace_and_action(admin_client: Client, entries: User) -> None:
    html = admin_client.get("/audit/", {"user": "ana", "action": "update"}).content.decode()
    assert "broker-a" in html and "update" in html
    assert "broker-b" not in html
    assert "1 entry" in html
    html = admin_client.get("/audit/", {"namespace": "staging"}).content.decode()
    assert "broker-b" in html and "broker-a" not in html


def test_pause_and_resume_can_be_filtered_for(admin_client: Client, entries: User) -> None:
    _entry(entries, "prod", "mqtt-next", "pause")
    page = admin_client.get("/audit/").content.decode()
    assert '<option value="pause">' in page and '<option value="resume">' in page
    html = admin_client.get("/audit/", {"action": "pause"}).content.decode()
    assert "mqtt-next" in html and "broker-a" not in html and "1 entry" in html


def test_an_inverted_time_range_is_a_field_error(admin_client: Client, entries: User) -> None:
    html = admin_client.get("/audit/", {"since": "2026-02-01T00:00", "until": "2026-01-01T00:00"}).content.decode()
    assert "field-until" in html


def test_an_invalid_filter_keeps_the_valid_ones(admin_client: Client, entries: User) -> None:
    html = admin_client.get("/audit/", {"user": "bo", "action": "no-such-action"}).content.decode()
    assert "field-action" in html
    assert "broker-b" in html and "broker-a" not in html and "1 entry" in html


def test_csv_export_holds_the_filtered_entries(admin_client: Client, entries: User) -> None:
    response = admin_client.get("/audit/", {"user": "ana", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["action"] for r in rows) == ["create", "update"]
    assert {r["username"] for r in rows} == {"ana"}


def test_json_export_holds_the_filtered_entries(admin_client: Client, entries: User) -> None:
    data = json.loads(admin_client.get("/audit/", {"outcome": "failure", "format": "json"}).content)
    assert [(d["username"], d["action"], d["name"]) for d in data] == [("bo", "delete", "broker-b")]


def test_an_admin_of_one_namespace_sees_only_that_namespace(client: Client, entries: User) -> None:
    carla = User.objects.create_user("carla", password="pw-carla-12345")
    RoleGrant.objects.create(user=carla, role="admin", namespace="staging")
    client.force_login(carla)
    html = client.get("/audit/").content.decode()
    assert "broker-b" in html and "broker-a" not in html


def test_a_viewer_sees_no_audit_entries(client: Client, entries: User) -> None:
    dan = User.objects.create_user("dan", password="pw-dan-123456")
    RoleGrant.objects.create(user=dan, role="viewer")
    client.force_login(dan)
    response = client.get("/audit/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Audit trail</h1>" in html and "No audit entries." in html  # the page, empty for a viewer
    assert "broker-a" not in html and "broker-b" not in html
