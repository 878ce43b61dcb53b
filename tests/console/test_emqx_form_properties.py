"""Generated input for the add form and YAML mode: never a 500, nothing written unless valid;
and the laws the form's value mapping and the 3-way merge must keep."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.test import Client
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from console.diffs import clean, merge3, merge_docs
from console.forms.base import edit_yaml
from console.forms.schema import ResourceForm, read_values
from emqx import hocon
from emqx.client.clientset import Clientset
from emqx.models.apps_v2beta1 import EMQX, Config, EMQXSpec
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
)

pytestmark = pytest.mark.django_db

URL = "/clusters/default/emqx/add/"
EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))

dns_labels = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,12}[a-z0-9])?\Z")
label_keys = st.from_regex(r"\A([a-z0-9]{1,8}\.[a-z]{2,4}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?\Z")
label_values = st.from_regex(r"\A(([A-Za-z0-9][-A-Za-z0-9_.]{0,10})?[A-Za-z0-9])?\Z")
quantities = st.sampled_from([None, "500m", "1", "2", "1Gi", "512Mi", "2e3", "0.5"])
images = st.sampled_from(["emqx/emqx:5.8.6", "emqx/emqx-enterprise:5.8.6", "registry.example.com:5000/iot/emqx:5"])

SPEC = emqx_form_spec()
# Every field of the form, as a new object reads: the schema's defaults.
DEFAULTS = read_values(SPEC, {"metadata": {}, "spec": {}})
EDITABLE_FIELDS = [path for path in SPEC.paths() if path not in (NAME, NAMESPACE)]

# The form's values (by path, in JSON types, as read_values reads an object): "" is None, no
# labels is None.
valid_values = st.fixed_dictionaries(
    {
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
).map(lambda values: {**DEFAULTS, **_as_read(values)})


def _as_read(values: dict[str, Any]) -> dict[str, Any]:
    # A config without a mode reads as the schema's default mode (Merge), as the API server fills it in.
    if values[CONFIG_DATA] is not None and values[CONFIG_MODE] is None:
        return {**values, CONFIG_MODE: Config.model_fields["mode"].default}
    return values


# Per field: what a careless or hostile user might type instead (any text, markup and control
# characters included).
JUNK: dict[str, st.SearchStrategy[str]] = {
    NAME: st.sampled_from(["", "-x", "A", "a" * 64, "<b>x</b>", "dotted.name"]),
    NAMESPACE: st.sampled_from(["UPPER", "", "x" * 64, "does-not-exist"]),
    IMAGE: st.sampled_from(["", "not an image", "emqx/emqx:"]),
    CORE_REPLICAS: st.sampled_from(["0", "-1", "33", str(10**9), "1.5", ""]),
    REPLICANT_REPLICAS: st.sampled_from(["-1", "513", str(10**12), "two"]),
    CPU_REQUEST: st.sampled_from(["-1", "lots", "1e400"]),
    MEMORY_LIMIT: st.sampled_from(["1Ei", "-2Gi", "1Qi"]),
    CONFIG_DATA: st.sampled_from(["a {", 'x = "}', "a ]", "x" * (300 * 1024)]),
    CONFIG_MODE: st.sampled_from(["", "Other"]),
    DASHBOARD_SERVICE_TYPE: st.sampled_from(["ExternalName", "<script>"]),
    LABELS: st.sampled_from(["<script>=1", "a=b=c", "noequals", "k=" + "v" * 64]),
}


def _form_input(namespace: str) -> st.SearchStrategy[dict[str, str]]:
    """Valid form data with up to three fields replaced by junk or by any text at all."""
    replacement = st.one_of(*(st.tuples(st.just(field), junk | st.text(max_size=40)) for field, junk in JUNK.items()))
    return st.builds(
        lambda values, junk: {**emqx_form_data({**values, NAMESPACE: namespace}), **dict(junk)},
        valid_values,
        st.lists(replacement, max_size=3),
    )


def test_generated_form_input_never_fails_and_writes_only_what_is_valid(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)

    @EXAMPLES
    @given(data=_form_input(namespace))
    def check(data: dict[str, str]) -> None:
        before = {o.metadata.name for o in emqxes.list().items}
        response = admin.post(URL, data)
        assert response.status_code in (200, 302), response.status_code
        after = {o.metadata.name for o in emqxes.list().items}
        event(f"answered {response.status_code}")
        if response.status_code == 200:
            assert after == before
            return
        name = data[NAME].strip()  # as the form reads it
        assert after - before == {name}
        form = ResourceForm(data, spec=SPEC)
        assert form.is_valid()
        # What the cluster holds reads as what the form meant (a config without a mode reads
        # the default mode on both sides).
        written, meant = (
            read_values(SPEC, doc) | {LABELS: None} for doc in (emqxes.get(name).to_dict(), form.intended().to_dict())
        )
        assert written == meant
        emqxes.delete(name)  # keep the name free for later examples

    check()


_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)),
    max_leaves=8,
)


def _yaml_input(namespace: str) -> st.SearchStrategy[str]:
    spec = st.fixed_dictionaries(
        {"image": images | st.text(max_size=20)},
        optional={
            "coreTemplate": st.fixed_dictionaries(
                {"spec": st.dictionaries(st.sampled_from(["replicas", "resources", "bogus"]), _json, max_size=2)}
            ),
            "config": st.dictionaries(st.sampled_from(["data", "mode"]), _json, max_size=2),
            "imagePullPolicy": _json,
            "unknownField": _json,
        },
    )
    document = st.fixed_dictionaries(
        {
            "apiVersion": st.sampled_from(["apps.emqx.io/v2beta1", "apps.emqx.io/v2beta1", "v1"]),
            "kind": st.sampled_from(["EMQX", "EMQX", "ConfigMap"]),
            "metadata": st.fixed_dictionaries(
                {"name": dns_labels | st.text(max_size=20), "namespace": st.just(namespace)}
            ),
            "spec": spec,
        },
        optional={"status": _json, "extra": _json},
    )
    return st.one_of(document.map(lambda d: yaml.safe_dump(d)), st.text(max_size=200))


def test_generated_yaml_never_fails_and_writes_only_what_is_valid(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)

    @EXAMPLES
    @given(text=_yaml_input(namespace))
    def check(text: str) -> None:
        before = {o.metadata.name for o in emqxes.list().items}
        response = admin.post(URL, {"mode": "yaml", "yaml": text})
        assert response.status_code in (200, 302), response.status_code
        after = {o.metadata.name for o in emqxes.list().items}
        event(f"answered {response.status_code}")
        if response.status_code == 200:
            assert after == before
            return
        created = after - before
        assert len(created) == 1
        emqxes.delete(created.pop())

    check()


def test_generated_yaml_edits_never_fail_and_a_review_writes_nothing(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    emqxes = clientset.apps_v2beta1.emqxes(namespace)
    made = emqxes.create(EMQX.from_dict({"metadata": {"name": "broker"}, "spec": {"image": "emqx/emqx:5.8.6"}}))
    url = f"/clusters/default/emqx/{namespace}/broker/change/"
    page = admin.get(url, {"mode": "yaml"}).content.decode()
    base = page.split('name="base" value="', 1)[1].split('"', 1)[0]
    rv = made.metadata.resource_version or ""

    @EXAMPLES
    @given(text=_yaml_input(namespace).map(lambda t: t.replace("name: ", "name: broker #", 1)) | _yaml_input(namespace))
    def check(text: str) -> None:
        response = admin.post(
            url, {"mode": "yaml", "yaml": text, "base": base, "resource_version": rv, "step": "preview"}
        )
        assert response.status_code == 200, response.status_code
        event("previewed" if b"Review changes to" in response.content else "refused")
        assert emqxes.get("broker").metadata.resource_version == rv

    check()


# ----- laws of the pure parts ---------------------------------------------------------------------


@EXAMPLES
@given(values=valid_values)
def test_the_form_reads_back_what_it_writes(values: dict[str, Any]) -> None:
    form = ResourceForm(emqx_form_data(values), spec=SPEC)
    assert form.is_valid(), form.errors
    assert read_values(SPEC, form.intended().to_dict()) == values


@EXAMPLES
@given(
    values=valid_values, extra=st.dictionaries(st.sampled_from(["futureField", "vendorExtension"]), _json, max_size=2)
)
def test_an_edit_that_changes_nothing_changes_nothing(values: dict[str, Any], extra: dict[str, Any]) -> None:
    created = ResourceForm(emqx_form_data(values), spec=SPEC)
    assert created.is_valid(), created.errors
    doc = created.intended().to_dict()
    doc["spec"].update(extra)
    doc["metadata"]["annotations"] = {"kept": "yes"}
    edit = ResourceForm(emqx_form_data(read_values(SPEC, doc)), spec=SPEC, base=doc)
    assert edit.is_valid(), edit.errors
    assert edit.intended().to_dict() == EMQX.from_dict(doc).to_dict()


@EXAMPLES
@given(base=valid_values, ours=valid_values, theirs=valid_values)
def test_merge_keeps_the_side_that_changed(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert merge3(base, base, theirs, EDITABLE_FIELDS).values == {f: theirs[f] for f in EDITABLE_FIELDS}
    assert merge3(base, ours, base, EDITABLE_FIELDS).values == {f: ours[f] for f in EDITABLE_FIELDS}
    assert merge3(base, ours, base, EDITABLE_FIELDS).conflicts == []
    merged = merge3(base, ours, theirs, EDITABLE_FIELDS)
    for field in EDITABLE_FIELDS:
        if field != LABELS and ours[field] != base[field]:
            assert merged.values[field] == ours[field]


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from('{}[]"#/\\\n ab='), max_size=60) | st.text(max_size=60))
def test_the_hocon_check_never_fails_on_any_text(text: str) -> None:
    problem = hocon.check(text)
    assert problem is None or (problem.line >= 1 and problem.column >= 1)


def test_defaults_are_the_models_own() -> None:
    form = ResourceForm(spec=SPEC)
    assert form.initial[CORE_REPLICAS] == EMQXSpec.model_fields["core_template"].default["spec"]["replicas"]
    # No config unless asked for; the mode's select names the default it then has.
    assert form.initial[CONFIG_MODE] is None
    assert f"(default: {Config.model_fields['mode'].default})" in str(form[CONFIG_MODE])
    assert form.initial[REPLICANT_REPLICAS] is None  # no replicant template unless asked for


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


@EXAMPLES
@given(base=_docs, ours=_docs, theirs=_docs)
def test_a_document_merge_keeps_the_side_that_changed(
    base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]
) -> None:
    assert merge_docs(base, base, theirs).doc == clean(theirs)
    assert merge_docs(base, ours, base).doc == clean(ours)
    assert merge_docs(base, ours, base).conflicts == [] == merge_docs(base, base, theirs).conflicts
    assert merge_docs(base, ours, ours).doc == clean(ours)
    merged = merge_docs(base, ours, theirs)
    assert yaml.safe_load(edit_yaml(merged.doc)) == clean(merged.doc)  # what the re-apply editor shows
    for conflict in merged.conflicts:  # only where both sides changed something
        for side in (merged.ours, merged.theirs):
            assert any(path == conflict or path.startswith(conflict + ".") for path in side), (conflict, side)
