"""Generated input for the EMQX add form and YAML mode: never a 500, a valid input is written as
meant, a refused one writes nothing (no object, no audit entry), a review writes nothing; and the
laws the form's value mapping and the 3-way merges must keep.

The page properties start from a valid form or document (generated) and change at most one thing
in it, so that most examples reach the write (or the review) and the rest are refused for one
known reason. Each property counts the branches its examples reached (``tests/branches.py``:
``pytest -s`` prints them) and fails when one of them ran too rarely.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from console.diffs import clean, merge3, merge_docs
from console.forms.base import edit_yaml
from console.forms.schema import ResourceForm, read_values
from console.models import AuditEntry
from emqx import hocon
from emqx.client.clientset import Clientset
from emqx.models.apps_v2beta1 import EMQX, Config, EMQXSpec
from tests.branches import Branches
from tests.support import (
    CONFIG_DATA,
    CONFIG_MODE,
    CORE_REPLICAS,
    CPU_LIMIT,
    CPU_REQUEST,
    DASHBOARD_SERVICE_TYPE,
    IMAGE,
    LABELS,
    LISTENERS_SERVICE_TYPE,
    MEMORY_LIMIT,
    MEMORY_REQUEST,
    NAME,
    NAMESPACE,
    REPLICANT_REPLICAS,
    emqx_form_data,
    emqx_form_spec,
    form_data,
)

pytestmark = pytest.mark.django_db

URL = "/clusters/default/emqx/add/"
# A page example sends one input for each branch of its page (3 on the form, 11 or 12 in YAML
# mode), each a few requests to the API server (dry-run, write, lists, delete), so every branch
# runs once per example; the pure laws are cheap, the merge laws cheaper still. No health check is
# suppressed: the generators are fast and their examples small.
FORM_EXAMPLES = settings(max_examples=60, deadline=None)
YAML_EXAMPLES = settings(max_examples=30, deadline=None)
LAW_EXAMPLES = settings(max_examples=200, deadline=None)
MERGE_EXAMPLES = settings(max_examples=400, deadline=None)

dns_labels = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,12}[a-z0-9])?\Z")
label_keys = st.from_regex(r"\A([a-z0-9]{1,8}\.[a-z]{2,4}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?\Z")
label_values = st.from_regex(r"\A(([A-Za-z0-9][-A-Za-z0-9_.]{0,10})?[A-Za-z0-9])?\Z")
quantities = st.sampled_from([None, "500m", "1", "2", "1Gi", "512Mi", "2e3", "0.5", "1e400", "1Ei"])
images = st.sampled_from(["emqx/emqx:5.8.6", "emqx/emqx-enterprise:5.8.6", "registry.example.com:5000/iot/emqx:5"])

SPEC = emqx_form_spec()
# Every field of the form, as a new object reads: the schema's defaults.
DEFAULTS = read_values(SPEC, {"metadata": {}, "spec": {}})
EDITABLE_FIELDS = [path for path in SPEC.paths() if path not in (NAME, NAMESPACE)]

# The form's values (by path, in JSON types, as read_values reads an object): "" is None, no
# labels is None. Each field's generator, valid values only.
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    NAME: dns_labels,
    NAMESPACE: dns_labels,
    IMAGE: images,
    CORE_REPLICAS: st.integers(1, 32),
    REPLICANT_REPLICAS: st.none() | st.integers(0, 512),
    CPU_REQUEST: quantities,
    CPU_LIMIT: st.none(),
    MEMORY_REQUEST: quantities,
    MEMORY_LIMIT: st.none(),
    CONFIG_DATA: st.sampled_from([None, "a = 1\n"]),
    CONFIG_MODE: st.sampled_from([None, "Merge", "Replace"]),
    DASHBOARD_SERVICE_TYPE: st.sampled_from([None, "NodePort"]),
    LISTENERS_SERVICE_TYPE: st.sampled_from([None, "LoadBalancer"]),
    LABELS: st.dictionaries(label_keys, label_values, max_size=3).map(lambda labels: labels or None),
}
valid_values = st.fixed_dictionaries(FIELD_VALUES).map(lambda values: {**DEFAULTS, **_as_read(values)})


def _as_read(values: dict[str, Any]) -> dict[str, Any]:
    # A config without a mode reads as the schema's default mode (Merge), as the API server fills it in.
    if values[CONFIG_DATA] is not None and values[CONFIG_MODE] is None:
        return {**values, CONFIG_MODE: Config.model_fields["mode"].default}
    return values


# Per field: what a careless or hostile user might type instead, each refused by the form or by
# the API server's dry-run (markup, control characters and out-of-range numbers included).
REFUSED_TEXT: dict[str, list[str]] = {
    NAME: ["", "-x", "A", "a" * 64, "<b>x</b>", "dotted.name"],
    NAMESPACE: ["UPPER", "", "x" * 64, "does-not-exist"],
    IMAGE: ["", "not an image", "emqx/emqx:"],
    CORE_REPLICAS: ["0", "-1", "33", str(10**9), "1.5", ""],
    REPLICANT_REPLICAS: ["-1", "513", str(10**12), "two"],
    CPU_REQUEST: ["-1", "lots"],
    MEMORY_LIMIT: ["-2Gi", "1Qi"],
    CONFIG_DATA: ["a {", 'x = "}', "a ]", "x" * (300 * 1024)],
    CONFIG_MODE: ["Other"],
    DASHBOARD_SERVICE_TYPE: ["ExternalName", "<script>"],
    LABELS: ["<script>=1", "a=b=c", "noequals", "k=" + "v" * 64],
}


def _assert_one_audited_create(audited: int, name: str) -> None:
    """Since the count ``audited``, exactly one audit entry was written: this create, a success."""
    assert AuditEntry.objects.count() == audited + 1
    entry = AuditEntry.objects.first()  # the newest
    assert entry is not None and (entry.action, entry.name, entry.outcome) == ("create", name, "success")


def _delete_all(emqxes: Any) -> None:
    for obj in emqxes.list().items:
        emqxes.delete(obj.metadata.name)


def _errors(page: bytes) -> list[str]:
    """The error messages a page shows (for a failing example's report)."""
    text = html.unescape(page.decode())
    return [
        re.sub(r"<[^>]+>|\s+", " ", e).strip()
        for e in re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', text, re.S)
    ]


def _form_inputs(namespace: str) -> st.SearchStrategy[list[tuple[str, dict[str, str]]]]:
    """Every branch of the add form, from one generated valid form: (what was changed, POST data)
    for the valid form ("valid"), the form with one field replaced by text it refuses ("refused
    text"), and with one field (not the namespace: the test's objects stay in its own) replaced by
    any text at all ("any text")."""

    def inputs(values: dict[str, Any], refused: tuple[str, str], text: tuple[str, str]) -> list[Any]:
        valid = emqx_form_data({**values, NAMESPACE: namespace})
        return [
            ("valid", valid),
            ("refused text", {**valid, refused[0]: refused[1]}),
            ("any text", {**valid, text[0]: text[1]}),
        ]

    fields = sorted(REFUSED_TEXT)
    return st.builds(
        inputs,
        valid_values,
        st.sampled_from(fields).flatmap(lambda f: st.tuples(st.just(f), st.sampled_from(REFUSED_TEXT[f]))),
        st.sampled_from([f for f in fields if f != NAMESPACE]).flatmap(
            lambda f: st.tuples(st.just(f), st.text(max_size=40))
        ),
    )


def test_generated_form_input_never_fails_and_writes_only_what_is_valid(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    branches = Branches("the add form", {"valid": 50, "refused text": 50, "any text": 50, "created": 50, "refused": 50})

    def send(changed: str, data: dict[str, str]) -> None:
        before, audited = {o.metadata.name for o in emqxes.list().items}, AuditEntry.objects.count()
        response = admin.post(URL, data)
        assert response.status_code in (200, 302), response.status_code
        after = {o.metadata.name for o in emqxes.list().items}
        outcome = "created" if response.status_code == 302 else "refused"
        branches(changed, outcome)
        assert outcome == {"valid": "created", "refused text": "refused"}.get(changed, outcome), (
            changed,
            data,
            _errors(response.content),
        )
        if outcome == "refused":
            assert after == before
            assert AuditEntry.objects.count() == audited  # a refusal is never an audit entry
            return
        name = data[NAME].strip()  # as the form reads it
        assert after - before == {name}
        _assert_one_audited_create(audited, name)
        form = ResourceForm(data, spec=SPEC)
        assert form.is_valid()
        # What the cluster holds reads as what the form meant (a config without a mode reads
        # the default mode on both sides).
        written, meant = (
            read_values(SPEC, doc) | {LABELS: None} for doc in (emqxes.get(name).to_dict(), form.intended().to_dict())
        )
        assert written == meant
        emqxes.delete(name)  # keep the name free for later inputs

    @FORM_EXAMPLES
    @given(cases=_form_inputs(namespace))
    def check(cases: list[tuple[str, dict[str, str]]]) -> None:
        try:
            for changed, data in cases:
                send(changed, data)
        finally:  # also when an example fails: the next one (shrinking) starts from none
            _delete_all(emqxes)

    check()
    branches.check()


# ----- YAML: a valid document, and one thing changed ----------------------------------------------------


def _document(values: dict[str, Any], **metadata: str) -> dict[str, Any]:
    """The whole object the form would write for ``values`` (every default filled in)."""
    form = ResourceForm(emqx_form_data({**values, **{f"metadata.{k}": v for k, v in metadata.items()}}), spec=SPEC)
    assert form.is_valid(), form.errors
    doc: dict[str, Any] = form.intended().to_dict()
    return doc


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = doc
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    return change


# One thing changed in a valid document, by what the console must do with it: refuse it, or
# either (the API server prunes or refuses an unknown field; a status is not the user's to write;
# where the model says string, YAML's 5 is the text "5").
REFUSED_CHANGES: dict[str, st.SearchStrategy[Callable[[dict[str, Any]], None]]] = {
    "apiVersion": st.sampled_from(["v1", "apps.emqx.io/v9", "", 5]).map(lambda v: _set("apiVersion", v)),
    "kind": st.sampled_from(["ConfigMap", "emqx", ""]).map(lambda v: _set("kind", v)),
    "name": st.sampled_from([*REFUSED_TEXT[NAME][1:], None, ["a"]]).map(lambda v: _set("metadata.name", v)),
    "replicas": st.sampled_from(["two", -1, 0, 1.5, [1], {"a": 1}, 33]).map(
        lambda v: _set("spec.coreTemplate.spec.replicas", v)
    ),
    "image": st.sampled_from([None, ["emqx/emqx:5.8.6"], {"name": "emqx"}]).map(lambda v: _set("spec.image", v)),
    "spec": st.sampled_from([None, "text", [1, 2], 3]).map(lambda v: _set("spec", v)),
}
EITHER_CHANGES: dict[str, st.SearchStrategy[Callable[[dict[str, Any]], None]]] = {
    "unknown field": st.sampled_from(["x", 1, {"a": [1]}]).map(lambda v: _set("spec.unknownField", v)),
    "status": st.sampled_from([{}, {"conditions": []}, "x"]).map(lambda v: _set("status", v)),
    "image 5": st.just(_set("spec.image", 5)),
}
# Text that is no YAML mapping at all, or broken YAML.
BROKEN_YAML = st.sampled_from(["", "- a\n- b\n", "just text", "a: [\n", "a: 1\n  b: 2\n", "\tx: 1\n", "--- a\n--- b\n"])


def _yaml_inputs(document: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Every branch of YAML mode, from one generated valid document: (what was changed, the YAML
    text) for the document as it is ("valid"), with one thing changed (one of each change above,
    by its name), and broken YAML ("broken")."""

    def inputs(doc: dict[str, Any], changes: dict[str, Callable[[dict[str, Any]], None]], broken: str) -> list[Any]:
        cases = [("valid", yaml.safe_dump(doc, sort_keys=False))]
        for label, change in changes.items():
            changed = copy.deepcopy(doc)
            change(changed)
            cases.append((label, yaml.safe_dump(changed, sort_keys=False)))
        return [*cases, ("broken", broken)]

    return st.builds(inputs, document, st.fixed_dictionaries({**REFUSED_CHANGES, **EITHER_CHANGES}), BROKEN_YAML)


EVERY_YAML_BRANCH = {label: 25 for label in ("valid", *REFUSED_CHANGES, *EITHER_CHANGES, "broken")}


def test_generated_yaml_never_fails_and_writes_only_what_is_valid(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    documents = valid_values.map(lambda values: _document(values, namespace=namespace))
    branches = Branches("YAML on the add page", {**EVERY_YAML_BRANCH, "created": 25, "refused": 150})

    def send(changed: str, text: str) -> None:
        before, audited = {o.metadata.name for o in emqxes.list().items}, AuditEntry.objects.count()
        response = admin.post(URL, {"mode": "yaml", "yaml": text})
        assert response.status_code in (200, 302), response.status_code
        after = {o.metadata.name for o in emqxes.list().items}
        outcome = "created" if response.status_code == 302 else "refused"
        branches(changed, outcome)
        must = "created" if changed == "valid" else "refused" if changed in (*REFUSED_CHANGES, "broken") else outcome
        assert outcome == must, (changed, text, _errors(response.content))
        if outcome == "refused":
            assert after == before
            assert AuditEntry.objects.count() == audited  # a refusal is never an audit entry
            return
        created = after - before
        assert created == {yaml.safe_load(text)["metadata"]["name"]}
        name = created.pop()
        _assert_one_audited_create(audited, name)
        emqxes.delete(name)

    @YAML_EXAMPLES
    @given(cases=_yaml_inputs(documents))
    def check(cases: list[tuple[str, str]]) -> None:
        try:
            for changed, text in cases:
                send(changed, text)
        finally:  # also when an example fails: the next one (shrinking) starts from none
            _delete_all(emqxes)

    check()
    branches.check()


def test_generated_yaml_edits_never_fail_and_a_review_writes_nothing(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    made = emqxes.create(EMQX.from_dict({"metadata": {"name": "broker"}, "spec": {"image": "emqx/emqx:5.8.6"}}))
    url = f"/clusters/default/emqx/{namespace}/broker/change/"
    editing = form_data(admin.get(url, {"mode": "yaml"}).content.decode(), "emqx-form")
    rv = made.metadata.resource_version
    # Valid edits: the whole object as the form would write other values for it.
    documents = valid_values.map(lambda values: _document(values, name="broker", namespace=namespace))
    branches = Branches("reviewing a YAML edit", {**EVERY_YAML_BRANCH, "renamed": 25, "previewed": 25, "refused": 150})

    def send(changed: str, text: str) -> None:
        response = admin.post(url, {**editing, "yaml": text, "step": "preview"})
        assert response.status_code == 200, response.status_code
        outcome = "previewed" if b"Review changes to" in response.content else "refused"
        branches(changed, outcome)
        refused = (*REFUSED_CHANGES, "broken", "renamed")
        must = "previewed" if changed == "valid" else "refused" if changed in refused else outcome
        assert outcome == must, (changed, text, _errors(response.content))
        assert emqxes.get("broker").metadata.resource_version == rv  # nothing written
        assert not AuditEntry.objects.exists()  # and nothing audited

    @YAML_EXAMPLES
    @given(cases=_yaml_inputs(documents), renamed=documents.map(_renamed))
    def check(cases: list[tuple[str, str]], renamed: str) -> None:
        for changed, text in [*cases, ("renamed", renamed)]:
            send(changed, text)

    check()
    branches.check()


def _renamed(doc: dict[str, Any]) -> str:
    """The document of another object: an edit may not change the name."""
    return yaml.safe_dump({**doc, "metadata": {**doc["metadata"], "name": "another-broker"}}, sort_keys=False)


# ----- laws of the pure parts ---------------------------------------------------------------------

_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)),
    max_leaves=8,
)
OPTIONAL_PARTS = {"replicants": REPLICANT_REPLICAS, "config": CONFIG_DATA, "labels": LABELS, "cpu request": CPU_REQUEST}


def _optional_parts(values: dict[str, Any]) -> list[str]:
    """Which optional parts of the form a generated value set fills: the branches of the form's mapping."""
    return [f"{'with' if values[path] is not None else 'without'} {part}" for part, path in OPTIONAL_PARTS.items()]


EACH_PART = {f"{how} {part}": 20 for part in OPTIONAL_PARTS for how in ("with", "without")}


def test_the_form_reads_back_what_it_writes() -> None:
    branches = Branches("the form reads back what it writes", EACH_PART)

    @LAW_EXAMPLES
    @given(values=valid_values)
    def check(values: dict[str, Any]) -> None:
        branches(*_optional_parts(values))
        form = ResourceForm(emqx_form_data(values), spec=SPEC)
        assert form.is_valid(), form.errors
        assert read_values(SPEC, form.intended().to_dict()) == values

    check()
    branches.check()


def test_an_edit_that_changes_nothing_changes_nothing() -> None:
    branches = Branches(
        "an edit that changes nothing", {**EACH_PART, "fields the form does not know": 60, "only the form's fields": 30}
    )

    @LAW_EXAMPLES
    @given(
        values=valid_values,
        extra=st.dictionaries(st.sampled_from(["futureField", "vendorExtension"]), _json, max_size=2),
    )
    def check(values: dict[str, Any], extra: dict[str, Any]) -> None:
        branches(*_optional_parts(values), "fields the form does not know" if extra else "only the form's fields")
        created = ResourceForm(emqx_form_data(values), spec=SPEC)
        assert created.is_valid(), created.errors
        doc = created.intended().to_dict()
        doc["spec"].update(extra)
        doc["metadata"]["annotations"] = {"kept": "yes"}
        edit = ResourceForm(emqx_form_data(read_values(SPEC, doc)), spec=SPEC, base=doc)
        assert edit.is_valid(), edit.errors
        assert edit.intended().to_dict() == EMQX.from_dict(doc).to_dict()

    check()
    branches.check()


# Two edits of one base: each side changes a few fields (values from the same generators), and
# some fields are changed by both alike, so that every field lands in one of the merge's cases.
CHANGEABLE = [path for path in FIELD_VALUES if path in EDITABLE_FIELDS]
CLASHABLE = [path for path in CHANGEABLE if path not in (CPU_LIMIT, MEMORY_LIMIT)]  # these have one value: None


@st.composite
def _three_values(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    base = draw(valid_values)

    def edits(label: str) -> dict[str, Any]:
        fields = draw(st.sets(st.sampled_from(CHANGEABLE), max_size=4), label=f"{label} changes")
        return {path: draw(FIELD_VALUES[path], label=path) for path in sorted(fields)}

    ours_only, theirs_only, both = edits("ours"), edits("theirs"), edits("both")
    # Fields both change, each to a value of its own.
    clashing = draw(st.sets(st.sampled_from(CLASHABLE), max_size=3), label="clashing")
    ours_clash = {path: draw(FIELD_VALUES[path], label=path) for path in sorted(clashing)}
    theirs_clash = {
        path: draw(FIELD_VALUES[path].filter(lambda v, path=path: v != ours_clash[path]), label=path)
        for path in sorted(clashing)
    }
    ours = _as_read({**base, **ours_only, **both, **ours_clash})
    theirs = _as_read({**base, **theirs_only, **both, **theirs_clash})
    return base, ours, theirs


def _field_case(base: Any, ours: Any, theirs: Any) -> str:
    if ours == base and theirs == base:
        return "neither changed"
    if theirs == base:
        return "ours changed"
    if ours == base:
        return "theirs changed"
    return "both changed alike" if ours == theirs else "both changed differently"


def test_merge_keeps_the_side_that_changed() -> None:
    cases = ("neither changed", "ours changed", "theirs changed", "both changed alike", "both changed differently")
    branches = Branches("the form's 3-way merge (by field)", {**dict.fromkeys(cases, 120), cases[-1]: 60})

    @MERGE_EXAMPLES
    @given(three=_three_values())
    def check(three: tuple[dict[str, Any], dict[str, Any], dict[str, Any]]) -> None:
        base, ours, theirs = three
        assert merge3(base, base, theirs, EDITABLE_FIELDS).values == {f: theirs[f] for f in EDITABLE_FIELDS}
        assert merge3(base, ours, base, EDITABLE_FIELDS).values == {f: ours[f] for f in EDITABLE_FIELDS}
        assert merge3(base, ours, base, EDITABLE_FIELDS).conflicts == []
        merged = merge3(base, ours, theirs, EDITABLE_FIELDS)
        for path in EDITABLE_FIELDS:
            case = _field_case(base[path], ours[path], theirs[path])
            branches(case)
            if path == LABELS:  # merged key by key: its own law below
                continue
            expected = theirs[path] if case in ("neither changed", "theirs changed") else ours[path]
            assert merged.values[path] == expected, (path, case)
            assert (path in merged.conflicts) == (case == "both changed differently"), (path, case)
            assert (path in merged.ours) == (ours[path] != base[path])
            assert (path in merged.theirs) == (theirs[path] != base[path])
        # Labels merge key by key: each key as the side that changed it has it (ours where both did).
        b, o, t = (side[LABELS] or {} for side in (base, ours, theirs))
        labels = merged.values[LABELS] or {}
        for key in {*b, *o, *t}:
            side = t if o.get(key) == b.get(key) else o
            assert labels.get(key) == side.get(key), key

    check()
    branches.check()


# Valid HOCON, as a config field holds it: settings and sections, one a line.
_hocon_values = st.sampled_from(["1", "1.5", "15s", "2MB", "true", '"text"', "[1, 2]", "{a = 1}", "${?HOME}"])
_hocon_keys = st.from_regex(r"\A[a-z][a-z_]{0,6}(\.[a-z][a-z_]{0,6}){0,2}\Z")
_hocon = st.lists(
    st.tuples(_hocon_keys, st.sampled_from([" = ", ": ", "="]), _hocon_values).map("".join),
    min_size=1,
    max_size=6,
).map("\n".join)


def _one_char_changed(text: str, at: int, char: str) -> str:
    at %= len(text) + 1
    return text[:at] + char + text[at:]


def test_the_hocon_check_never_fails_on_any_text() -> None:
    branches = Branches("the HOCON check", {"valid": 50, "one character added": 40, "accepted": 60, "refused": 60})

    @LAW_EXAMPLES
    @given(
        case=st.one_of(
            _hocon.map(lambda text: ("valid", text)),
            st.builds(_one_char_changed, _hocon, st.integers(0, 200), st.sampled_from('{}[]"=,$\\')).map(
                lambda text: ("one character added", text)
            ),
            (st.text(alphabet=st.sampled_from('{}[]"#/\\\n ab='), max_size=60) | st.text(max_size=60)).map(
                lambda text: ("any text", text)
            ),
        )
    )
    def check(case: tuple[str, str]) -> None:
        made, text = case
        problem = hocon.check(text)
        branches(made, "accepted" if problem is None else "refused")
        assert problem is None or (problem.line >= 1 and problem.column >= 1)
        if made == "valid":
            assert problem is None, (text, problem)

    check()
    branches.check()


def test_defaults_are_the_models_own() -> None:
    form = ResourceForm(spec=SPEC)
    assert form.initial[CORE_REPLICAS] == EMQXSpec.model_fields["core_template"].default["spec"]["replicas"]
    # No config unless asked for; the mode's select names the default it then has.
    assert form.initial[CONFIG_MODE] is None
    assert f"(default: {Config.model_fields['mode'].default})" in str(form[CONFIG_MODE])
    assert form.initial[REPLICANT_REPLICAS] is None  # no replicant template unless asked for


# Documents for the document merge: a base, and each side a few edits of it (a spec key set or
# removed, a label set or removed); some edits made by both alike.
_docs = st.fixed_dictionaries(
    {
        "metadata": st.fixed_dictionaries(
            {
                "name": st.just("b"),
                "labels": st.dictionaries(st.sampled_from("abc"), st.sampled_from("xyz"), max_size=3),
            }
        ),
        "spec": st.dictionaries(st.sampled_from(["image", "coreTemplate", "config", "x"]), _json, max_size=4),
    }
)
_doc_edit = st.one_of(
    st.tuples(st.just("spec"), st.sampled_from(["image", "coreTemplate", "config", "x"]), _json | st.just(None)),
    st.tuples(st.just("labels"), st.sampled_from("abc"), st.sampled_from("xyz") | st.just(None)),
)


def _edited(doc: dict[str, Any], edits: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """``doc`` with each (section, key, value) edit: None removes the key."""
    doc = copy.deepcopy(doc)
    for section, key, value in edits:
        target = doc["spec"] if section == "spec" else doc["metadata"]["labels"]
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return doc


@st.composite
def _three_docs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    base = draw(_docs)
    both = draw(st.lists(_doc_edit, max_size=2), label="both")
    # Keys both set, each to a value of its own (now and then the same one).
    clashing = draw(st.lists(_doc_edit, max_size=2), label="clashing")
    clash_values = [draw(_json | st.just(None)) for _ in clashing]
    ours = _edited(base, draw(st.lists(_doc_edit, max_size=3), label="ours") + both + clashing)
    theirs_clash = [(section, key, value) for (section, key, _), value in zip(clashing, clash_values, strict=True)]
    theirs = _edited(base, draw(st.lists(_doc_edit, max_size=3), label="theirs") + both + theirs_clash)
    return base, ours, theirs


def test_a_document_merge_keeps_the_side_that_changed() -> None:
    # Each example checks one side's edit alone (either way round), both sides' same edit, and
    # both edits together; the branches count the examples whose edits changed something.
    branches = Branches(
        "the YAML 3-way merge (by document)",
        {"ours changed": 200, "theirs changed": 200, "both changed, no conflict": 40, "both changed, conflicts": 60},
    )

    @MERGE_EXAMPLES
    @given(three=_three_docs())
    def check(three: tuple[dict[str, Any], dict[str, Any], dict[str, Any]]) -> None:
        base, ours, theirs = three
        assert merge_docs(base, base, theirs).doc == clean(theirs)
        assert merge_docs(base, ours, base).doc == clean(ours)
        assert merge_docs(base, ours, base).conflicts == [] == merge_docs(base, base, theirs).conflicts
        assert merge_docs(base, ours, ours).doc == clean(ours)
        merged = merge_docs(base, ours, theirs)
        ours_changed, theirs_changed = clean(ours) != clean(base), clean(theirs) != clean(base)
        branches(*(["ours changed"] if ours_changed else []), *(["theirs changed"] if theirs_changed else []))
        if ours_changed and theirs_changed and clean(ours) != clean(theirs):
            branches("both changed, conflicts" if merged.conflicts else "both changed, no conflict")
        assert yaml.safe_load(edit_yaml(merged.doc)) == clean(merged.doc)  # what the re-apply editor shows
        for conflict in merged.conflicts:  # only where both sides changed something
            for side in (merged.ours, merged.theirs):
                assert any(path == conflict or path.startswith(conflict + ".") for path in side), (conflict, side)
        if not merged.conflicts:  # without a conflict, which side is "ours" makes no difference
            assert merged.doc == merge_docs(base, theirs, ours).doc

    check()
    branches.check()
