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


@pytest.mark.parametrize("action", ["label", "restart", "set_image", "scale"])
def test_what_the_lists_actions_record_can_be_filtered_for(admin_client: Client, entries: User, action: str) -> None:
    _entry(entries, "prod", "mqtt-bulk", action)
    page = admin_client.get("/audit/").content.decode()
    assert f'<option value="{action}">{action}</option>' in page
    html = admin_client.get("/audit/", {"action": action}).content.decode()
    assert "field-action" not in html
    assert "mqtt-bulk" in html and "broker-a" not in html and "1 entry" in html


def test_the_audit_trail_in_chinese_names_actions_and_outcomes_in_chinese(admin_client: Client, entries: User) -> None:
    _entry(entries, "prod", "mqtt-bulk", "set_image", outcome="failure")
    html = admin_client.get("/audit/", {"action": "set_image"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<option value="set_image" selected>设置镜像</option>' in html
    assert "<td>设置镜像</td>" in html and "<td>失败<div" in html
    english = admin_client.get("/audit/", {"action": "set_image"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<td>set_image</td>" in english and "<td>failure<div" in english


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
