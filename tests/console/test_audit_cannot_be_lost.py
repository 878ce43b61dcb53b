"""The audit trail cannot be lost (issue 15, item 12): the attempt is recorded before the write and
its outcome after it. When the database refuses the attempt, nothing is written to the cluster and
the page says why; when it refuses only the outcome, the write stands, the entry stays
"attempted" and the page says so. Never a 500.

The database failures are real: an SQLite trigger makes the audit table refuse rows, as a locked
or full database would (Django raises DatabaseError either way)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from console.models import AuditEntry
from tests.console.kind_cases import World
from tests.console.test_admin_pages import _at, _edit_data
from tests.console.test_fieldcase_finalizer_delete import _confirmation

pytestmark = pytest.mark.django_db

TABLE = AuditEntry._meta.db_table


def _refuse(operation: str) -> Iterator[None]:
    assert connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TRIGGER audit_refuses BEFORE {operation} ON {TABLE} "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS audit_refuses")


@pytest.fixture
def audit_refuses_new_entries() -> Iterator[None]:
    yield from _refuse("INSERT")


@pytest.fixture
def audit_refuses_outcomes() -> Iterator[None]:
    yield from _refuse("UPDATE")


def _says_nothing_changed(html: str) -> None:
    assert "audit trail cannot be written" in html and "Nothing was changed" in html
    assert "Traceback" not in html


def test_a_create_the_audit_cannot_record_is_not_sent(world: World, audit_refuses_new_entries: None) -> None:
    response = world.client.post(world.url("add"), world.add_data("unaudited"))
    assert response.status_code == 200
    html = response.content.decode()
    _says_nothing_changed(html)
    assert 'value="unaudited"' in html  # the form keeps what was typed
    assert world.objects.list().items == []


def test_an_update_the_audit_cannot_record_is_not_sent(world: World, audit_refuses_new_entries: None) -> None:
    world.new("kept")
    path, value = world.case.change
    response = world.client.post(
        world.url("change/", "kept"), {**_edit_data(world, "kept", **{path: value}), "step": "save"}
    )
    assert response.status_code == 200
    _says_nothing_changed(response.content.decode())
    assert _at(world.objects.get("kept").to_dict(), path) != value


def test_a_delete_the_audit_cannot_record_is_not_sent(world: World) -> None:
    world.new("kept")
    confirmation = _confirmation(world.client, world.url("delete/", "kept"))
    refusal: Any = _refuse("INSERT")
    next(refusal)
    try:
        response = world.client.post(world.url("delete/", "kept"), confirmation)
    finally:
        next(refusal, None)
    assert response.status_code == 503
    _says_nothing_changed(response.content.decode())
    assert world.objects.get("kept").metadata.deletion_timestamp is None


def test_a_write_whose_outcome_cannot_be_recorded_stands_and_the_page_says_so(
    world: World, audit_refuses_outcomes: None
) -> None:
    world.new("saved")
    path, value = world.case.change
    data = _edit_data(world, "saved", **{path: value})
    response = world.client.post(world.url("change/", "saved"), {**data, "step": "save"}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "could not record how this write ended" in html
    assert _at(world.objects.get("saved").to_dict(), path) == value
    entry = AuditEntry.objects.get(name="saved", action="update")
    # Recorded before the write: who, what and what was asked for are there.
    assert entry.outcome == "attempted" and entry.username
    assert _at(entry.after, path) == value
