"""Properties of every kind's add and change pages, with generated input, against the real API
server: whatever a browser posts, the answer is a page or a redirect (never a 500), a valid form is
saved, and a refusal writes nothing (no object, no change, no audit entry).

Each example posts the valid form as it is (add: saved; change: nothing to save), with a label
changed (change: saved), with a label no kind takes (refused), and with one field replaced by
generated text (either), so every example reaches each branch; the branches are counted per kind
(``tests/branches.py``; ``pytest -s`` prints them) and each fixed one must have run every time.
"""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.forms.schema import ResourceForm, read_values, values_as_data
from console.models import AuditEntry
from tests.branches import Branches
from tests.console.kind_cases import World
from tests.support import form_inputs

pytestmark = pytest.mark.django_db

# What people paste into a field: numbers out of range, quantities, YAML, labels, odd text.
TEXTS = st.one_of(
    st.sampled_from(
        ["", "0", "-1", "3", "2147483648", "1e3", "500m", "1Gi", "x=y", "a=b\nc=d", "[]", "{}", "null", "true", "é"]
    ),
    st.text(max_size=40),
)
# Each example is three or four posts, each a few requests to the API server; no health check needs
# suppressing (the generated function takes no fixture: the test's own body does).
EXAMPLES = settings(max_examples=30, deadline=None)
# A label every kind's form takes, and one none takes (its key is no qualified name).
REFUSED_LABELS = "<script>=1"


def _fields(world: World) -> list[str]:
    """The fields generated text goes into: all but the object's identity (the test finds the
    object by its name; an odd name is the name tests' job)."""
    return [
        n for n in ResourceForm(spec=world.case.form_spec()).fields if n not in ("metadata.namespace", "metadata.name")
    ]


def _changed(world: World) -> st.SearchStrategy[tuple[str, str]]:
    """(field, text): one field of the kind's form and what goes into it."""
    return st.tuples(st.sampled_from(_fields(world)), TEXTS)


def test_generated_add_input_never_fails_and_a_refusal_writes_nothing(world: World) -> None:
    spec = world.case.form_spec()
    every = ("valid, saved", "bad label, refused")
    # What the generated text leads to is counted, not required: the fixed inputs reach each branch.
    branches = Branches(f"adding {world.case.id}", dict.fromkeys(every, 30))

    def send(posted: dict[str, str]) -> str:
        name, audited = posted["metadata.name"], AuditEntry.objects.count()
        response = world.client.post(world.url("add"), posted)
        assert response.status_code in (200, 302), response.status_code
        stored = [o.metadata.name for o in world.objects.list().items]
        if response.status_code == 302:
            assert name in stored
            assert AuditEntry.objects.count() == audited + 1
            assert AuditEntry.objects.filter(name=name, action="create", outcome="success").count() == 1
            world.objects.delete(name)
            return "saved"
        assert name not in stored
        assert AuditEntry.objects.count() == audited  # a refusal is never an audit entry
        return "refused"

    @EXAMPLES
    @given(change=_changed(world))
    def check(change: tuple[str, str]) -> None:
        values = {**ResourceForm(spec=spec).initial, **world.case.form, "metadata.namespace": world.namespace}

        def posted(**fields: str) -> dict[str, str]:
            return {**values_as_data(spec, {**values, "metadata.name": f"p-{secrets.token_hex(4)}"}), **fields}

        assert send(posted()) == "saved"
        assert send(posted(**{"metadata.labels": REFUSED_LABELS})) == "refused"
        branches("valid, saved", "bad label, refused")
        branches(f"generated, {send(posted(**dict([change])))}")

    check()
    branches.check()


def test_generated_change_input_never_fails_and_a_refusal_changes_nothing(world: World) -> None:
    spec = world.case.form_spec()
    name = "edited"
    world.new(name)
    every = ("unchanged, nothing to save", "a label changed, saved", "bad label, refused")
    branches = Branches(f"changing {world.case.id}", dict.fromkeys(every, 30))

    def form(**fields: str) -> dict[str, str]:
        """The change form as a browser posts it, showing the object now stored, with ``fields`` changed."""
        stored = world.objects.get(name)
        page = world.client.get(world.url("change/", name)).content.decode()
        hidden = form_inputs(page, f"{world.case.admin.slug}-form")
        return {**values_as_data(spec, read_values(spec, stored.to_dict())), **hidden, "step": "save", **fields}

    def send(posted: dict[str, str]) -> str:
        before, audited = world.objects.get(name), AuditEntry.objects.count()
        response = world.client.post(world.url("change/", name), posted)
        assert response.status_code in (200, 302), response.status_code
        after = world.objects.get(name)
        if response.status_code == 302:
            if after.metadata.resource_version != before.metadata.resource_version:
                assert AuditEntry.objects.count() == audited + 1
                assert AuditEntry.objects.filter(name=name, action="update", outcome="success").exists()
            return "saved"
        assert after.metadata.resource_version == before.metadata.resource_version  # nothing written
        assert AuditEntry.objects.count() == audited  # a refusal is never an audit entry
        return "nothing to save" if b'id="no-changes"' in response.content else "refused"

    @EXAMPLES
    @given(change=_changed(world))
    def check(change: tuple[str, str]) -> None:
        assert send(form()) == "nothing to save"  # the form as shown, saved: the review says so
        branches("unchanged, nothing to save")
        assert send(form(**{"metadata.labels": f"edit={secrets.token_hex(4)}"})) == "saved"  # always a change
        branches("a label changed, saved")
        assert send(form(**{"metadata.labels": REFUSED_LABELS})) == "refused"
        branches("bad label, refused")
        branches(f"generated, {send(form(**dict([change])))}")

    check()
    branches.check()
