"""Properties of every kind's add and change pages, with generated input, against the real API
server: whatever a browser posts, the answer is a page or a redirect (never a 500), and a refusal
writes nothing (no object, no change, no successful audit entry)."""

from __future__ import annotations

import secrets
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.forms.schema import ResourceForm, read_values, values_as_data
from console.models import AuditEntry
from tests.console.kind_cases import CASES, World
from tests.support import form_inputs

pytestmark = pytest.mark.django_db

# What people paste into a field: numbers out of range, quantities, YAML, labels, odd text.
TEXTS = st.one_of(
    st.sampled_from(
        ["", "0", "-1", "3", "2147483648", "1e3", "500m", "1Gi", "x=y", "a=b\nc=d", "[]", "{}", "null", "true", "é"]
    ),
    st.text(max_size=40),
)
EXAMPLES = 25


def _fields(world: World) -> list[str]:
    """The fields generated text goes into: all but the object's identity (the test finds the
    object by its name; an odd name is the name tests' job)."""
    return [
        n for n in ResourceForm(spec=world.case.form_spec()).fields if n not in ("metadata.namespace", "metadata.name")
    ]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_add_input_never_fails_and_a_refusal_writes_nothing(world: World, data: st.DataObject) -> None:
    spec = world.case.form_spec()
    name = f"p-{secrets.token_hex(4)}"
    values = {**ResourceForm(spec=spec).initial, **world.case.form, "metadata.name": name}
    values["metadata.namespace"] = world.namespace
    posted = values_as_data(spec, values)
    field = data.draw(st.sampled_from(_fields(world)), label="field")
    posted[field] = data.draw(TEXTS, label="text")
    response = world.client.post(world.url("add"), posted)
    assert response.status_code in (200, 302), response.status_code
    stored = [o.metadata.name for o in world.objects.list().items]
    audited = AuditEntry.objects.filter(name=name, outcome="success")
    if response.status_code == 302:
        OUTCOMES[world.case.id]["created"] += 1
        assert name in stored and audited.count() == 1
        world.objects.delete(name)
    else:
        OUTCOMES[world.case.id]["refused"] += 1
        assert name not in stored and not audited.exists()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_change_input_never_fails_and_a_refusal_changes_nothing(world: World, data: st.DataObject) -> None:
    name = "edited"
    if name not in [o.metadata.name for o in world.objects.list().items]:
        world.new(name)
    before = world.objects.get(name)
    spec = world.case.form_spec()
    page = world.client.get(world.url("change/", name)).content.decode()
    hidden = form_inputs(page, f"{world.case.admin.slug}-form")
    posted = {**values_as_data(spec, read_values(spec, before.to_dict())), **hidden, "step": "save"}
    field = data.draw(st.sampled_from(_fields(world)), label="field")
    posted[field] = data.draw(TEXTS, label="text")
    response = world.client.post(world.url("change/", name), posted)
    assert response.status_code in (200, 302), response.status_code
    after = world.objects.get(name)
    if response.status_code == 200:
        assert after.metadata.resource_version == before.metadata.resource_version  # nothing written


OUTCOMES: dict[str, Counter[str]] = {c.id: Counter() for c in CASES}


def test_generated_adds_reached_both_outcomes() -> None:
    """The add property above is only worth something if its examples were both saved and refused."""
    ran = {case: counts for case, counts in OUTCOMES.items() if counts}
    if not ran:
        pytest.skip("run with the add property test")
    for case, counts in ran.items():
        assert counts["created"] and counts["refused"], (case, dict(counts))
