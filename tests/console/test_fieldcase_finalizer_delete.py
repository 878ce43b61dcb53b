"""Field case 09 (tests/fieldcases/09-finalizer-stuck-delete): a delete that cannot finish because a
finalizer holds the object (the operator's ``apps.emqx.io/finalizer`` with the operator down, or any
controller's). The API server answers the DELETE with the object, ``metadata.deletionTimestamp`` set,
and keeps it until the finalizer goes.

For every kind in every served version: the console says the deletion was *requested* and what it
waits for, keeps showing the object as Deleting on the list, the detail page and its status poll,
stops offering edits, answers a second delete with "already being deleted" (the audit records the
request once), and drops the object when the finalizer is removed."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from console.models import AuditEntry
from tests.console.kind_cases import World
from tests.support import eventually

pytestmark = pytest.mark.django_db

FINALIZER = "apps.emqx.io/finalizer"
CASE = "doomed"


def _held(world: World) -> None:
    """The case's object, with the operator's finalizer on it (as the operator adds it)."""
    doc = {
        "metadata": {"name": CASE, "namespace": world.namespace, "finalizers": [FINALIZER]},
        "spec": world.case.spec("target"),
    }
    world.objects.create(world.case.model.from_dict(doc))


def _confirmation(client: Client, url: str) -> dict[str, str]:
    html = client.get(url).content.decode()
    return dict(re.findall(r'<input type="hidden" name="(uid|generation)" value="([^"]*)"', html))


def _messages(client: Client, url: str) -> str:
    return client.get(url).content.decode()


def test_a_delete_held_by_a_finalizer_is_shown_as_deleting_everywhere(world: World) -> None:
    _held(world)
    delete_url = world.url("delete/", CASE)
    response = world.client.post(delete_url, _confirmation(world.client, delete_url))
    assert response.status_code == 302
    page = world.client.get(response["Location"]).content.decode()
    # The message says what happened: requested, not done, and what it waits for.
    assert "deletion was requested" in page and FINALIZER in page
    assert "was deleted" not in page
    # The API server still has it, being deleted.
    kept = world.objects.get(CASE)
    assert kept.metadata.deletion_timestamp is not None

    rows = world.html(world.url("list"), namespace=world.namespace)
    row = rows[rows.index(f">{CASE}<") :]
    assert "Deleting" in row[: row.index("</tr>")]
    detail = world.html(world.url("detail", CASE))
    assert "Deleting" in detail and FINALIZER in detail
    assert world.url("change/", CASE) not in detail  # no Edit link
    status = world.client.get(world.url("_status", CASE), HTTP_HX_REQUEST="true")
    assert status.status_code == 200 and "Deleting" in status.content.decode()
    assert ">Ready<" not in status.content.decode()


def test_editing_an_object_being_deleted_is_refused_with_the_reason(world: World) -> None:
    _held(world)
    world.objects.delete(CASE)
    response = world.client.get(world.url("change/", CASE))
    html = response.content.decode()
    assert response.status_code == 409
    assert "being deleted" in html and FINALIZER in html
    assert 'name="base"' not in html  # no form to fill in for nothing


def test_a_second_delete_says_already_being_deleted_and_is_audited_once(world: World) -> None:
    _held(world)
    delete_url = world.url("delete/", CASE)
    confirmation = _confirmation(world.client, delete_url)
    assert world.client.post(delete_url, confirmation).status_code == 302
    again = world.client.get(delete_url)
    html = again.content.decode()
    assert "already being deleted" in html and FINALIZER in html
    assert "Yes, delete" not in html  # nothing to confirm
    second = world.client.post(delete_url, confirmation)
    assert second.status_code == 409
    assert "already being deleted" in second.content.decode()
    entries = AuditEntry.objects.filter(namespace=world.namespace, name=CASE, action="delete")
    assert [e.outcome for e in entries] == ["success"]


def test_removing_the_finalizer_lets_the_object_go(world: World) -> None:
    _held(world)
    delete_url = world.url("delete/", CASE)
    world.client.post(delete_url, _confirmation(world.client, delete_url))
    kept = world.objects.get(CASE)
    doc = kept.to_dict()
    doc["metadata"]["finalizers"] = []
    world.objects.update(world.case.model.from_dict(doc))

    def gone() -> bool:
        return world.client.get(world.url("detail", CASE)).status_code == 404

    eventually(gone, timeout=10)
    rows = world.html(world.url("list"), namespace=world.namespace)
    assert f">{CASE}<" not in rows
