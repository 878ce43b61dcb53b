"""Input a person sends that must stay bounded (issue 15, items 4, 5, 6 and 8): YAML aliases and
anchors, deep nesting in YAML and in the HOCON configuration, huge documents, and namespaces or
names in the URL that Kubernetes would refuse. Each is a clear message on the field (or a 404),
never a 500, and nothing is written to the cluster or the audit trail.

YAML is read as kubectl reads it (console/yamlio.py): the table below is what kubectl 1.37 stores
for each plain scalar, checked against the sandbox's kubectl in ``test_kubectl_reads_plain_scalars_so``.
"""

from __future__ import annotations

import html
import json
import time
from typing import Any

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from console import diffs, yamlio
from console.models import AuditEntry
from emqx.client.clientset import Clientset
from emqx.models import apps_v2beta1
from tests import factories
from tests.branches import Branches
from tests.support import CONFIG_DATA, form_data

pytestmark = pytest.mark.django_db

ADD = "/clusters/default/emqx/add/"
# Nine nested lists of nine aliases: 9**9 (387 million) strings once expanded, from 300 bytes.
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)
DEEP = "[" * 600 + "]" * 600


def _document(namespace: str, **spec: Any) -> str:
    head = f"apiVersion: apps.emqx.io/v2beta1\nkind: EMQX\nmetadata:\n  name: bounded\n  namespace: {namespace}\n"
    return head + "spec:\n  image: emqx/emqx:5.8.6\n" + "".join(f"  {k}: {v}\n" for k, v in spec.items())


# ----- the reader ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words", "line", "column"),
    [
        (ALIAS_BOMB, "anchors (&a) are not allowed", 1, 4),
        ("a: *x\n", "aliases (*x) are not allowed", 1, 4),
        (DEEP, f"nested more than {yamlio.MAX_DEPTH} levels deep", 1, yamlio.MAX_DEPTH + 1),
        ("".join("  " * i + "a:\n" for i in range(200)) + "  " * 200 + "b: 1\n", "nested more than", 101, 201),
        ("a: 1\nb: 2\na: 3\n", "the key 'a' is given twice (first at line 1)", 3, 1),
        ("<<: {a: 1}\n", "merge keys (<<) are not allowed", 1, 1),
        ("? [a]\n: 1\n", "a key must be a single value", 1, 3),
        ("~: 1\n", "a key cannot be empty or null", 1, 1),
        ("a: !!binary aGk=\n", "the tag !!binary is not supported", 1, 4),
        ("a: !!int x\n", "'x' cannot be read as !!int", 1, 4),
        ("a: .inf\n", ".inf is not a number JSON can hold", 1, 4),
        ('a: "\\0"\n', "null characters", 1, 4),
        ("a: b\n\x01", "the character U+0001 is not allowed", 2, 1),
        ("a: 1\n---\nb: 2\n", "only one document is read here", 2, 1),
        ("spec: [unclosed", "did not find expected ',' or ']'", 1, 16),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_yaml_the_console_refuses_says_why_and_where(text: str, words: str, line: int, column: int) -> None:
    with pytest.raises(yamlio.YamlInputError) as raised:
        yamlio.load(text)
    assert words in raised.value.message
    assert (raised.value.line, raised.value.column) == (line, column), str(raised.value)
    assert str(raised.value).startswith(f"Not valid YAML at line {line}, column {column}: ")


def test_an_alias_bomb_is_refused_before_it_grows() -> None:
    started = time.monotonic()
    with pytest.raises(yamlio.YamlInputError):
        yamlio.load(ALIAS_BOMB)
    # Not a speed test: expanded, the document would not fit in memory at all.
    assert time.monotonic() - started < 5


def test_a_document_over_the_size_bound_is_refused_whole() -> None:
    with pytest.raises(yamlio.YamlInputError) as raised:
        yamlio.load("a: " + "x" * yamlio.MAX_BYTES)
    assert raised.value.line is None and "larger than 1024 KiB" in str(raised.value)
    with pytest.raises(yamlio.YamlInputError, match="more than 10 values"):
        yamlio.load("[" + ", ".join("1" * 11) + "]", max_nodes=10)


# What kubectl 1.37 (sigs.k8s.io/yaml over go.yaml.in/yaml/v2) sends for a plain scalar where the
# schema does not say string; test_kubectl_reads_plain_scalars_so checks the table against kubectl.
KUBECTL_READS = {
    "2024-01-01": "2024-01-01",
    "2030-03-25T13:37:11Z": "2030-03-25T13:37:11Z",
    "1:20": "1:20",
    "yes": True,
    "y": True,
    "On": True,
    "no": False,
    "off": False,
    "n": False,
    "~": None,
    "null": None,
    "0x1F": 31,
    "0o17": 15,
    "017": 15,
    "08": 8,
    "1_000": 1000,
    "1e3": 1000,
    "1.0": 1,
    "1.5": 1.5,
    ".5": 0.5,
    "+5": 5,
    "-0b11": -3,
    "1.10": 1.1,
    "NaN": "NaN",
    "True": True,
    "Yes please": "Yes please",
}


@pytest.mark.parametrize("written", sorted(KUBECTL_READS))
def test_a_plain_scalar_is_read_as_kubectl_reads_it(written: str) -> None:
    value = yamlio.load(f"v: {written}\n")["v"]
    expected = KUBECTL_READS[written]
    assert value == expected and type(value) is type(expected)


def test_kubectl_reads_plain_scalars_so(kubectl: Any, namespace: str) -> None:
    # kubectl's own conversion (create --dry-run=client -o json runs sigs.k8s.io/yaml on the file) of
    # a field the schema does not know, so that nothing but the YAML decides its type.
    lines = "".join(f"    k{i}: {written}\n" for i, written in enumerate(KUBECTL_READS))
    text = f"apiVersion: apps.emqx.io/v2beta1\nkind: EMQX\nmetadata:\n  name: t\nspec:\n  image: i\n  free:\n{lines}"
    result = kubectl(
        "create", "-n", namespace, "--dry-run=client", "--validate=false", "-o", "json", "-f", "-", input=text
    )
    assert result.returncode == 0, result.stderr
    sent = json.loads(result.stdout)["spec"]["free"]
    assert [sent.get(f"k{i}") for i in range(len(KUBECTL_READS))] == list(KUBECTL_READS.values())
    assert sent == yamlio.load(text)["spec"]["free"]


def test_where_the_model_says_string_the_text_written_is_kept() -> None:
    text = "metadata:\n  labels: {v: 1.10, w: yes, n: 010, d: 2024-01-01}\n"
    text += "spec:\n  coreTemplate: {spec: {replicas: 2.0, resources: {requests: {cpu: 1.5, memory: 512}}}}\n"
    doc = yamlio.load(text, schema=apps_v2beta1.EMQX)
    assert doc["metadata"]["labels"] == {"v": "1.10", "w": "yes", "n": "010", "d": "2024-01-01"}
    core = doc["spec"]["coreTemplate"]["spec"]
    assert core["replicas"] == 2  # an integer where the schema says integer
    assert core["resources"]["requests"] == {"cpu": "1.5", "memory": 512}  # int-or-string quantities
    # A key is always the text written (kubectl would make "true" of on).
    assert yamlio.load("on: 1\n12: 2\n") == {"on": 1, "12": 2}


_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)
_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _text | st.sampled_from(list(KUBECTL_READS))
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_text.filter(bool), inner, max_size=4)),
    max_leaves=12,
)


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [*node, *(leaf for value in node.values() for leaf in _leaves(value))]
    if isinstance(node, list):
        return [leaf for value in node for leaf in _leaves(value)]
    return [node]


def test_yaml_the_console_writes_reads_back_unchanged() -> None:
    # What the YAML editor shows, saved unchanged, is the same object (a string such as y, 1e3 or
    # 2024-01-01 is quoted, since kubectl or YAML 1.1 would read it as something else).
    branches = Branches(
        "YAML written and read back",
        {"a string YAML would read otherwise": 100, "nested": 100, "non-ASCII text": 50, "flat": 15},
    )

    @settings(max_examples=300, deadline=None)
    @given(doc=st.dictionaries(_text.filter(bool), _json, max_size=5))
    def check(doc: dict[str, Any]) -> None:
        leaves = _leaves(doc)
        branches("nested" if any(isinstance(v, dict | list) for v in doc.values()) else "flat")
        if any(isinstance(leaf, str) and leaf in KUBECTL_READS for leaf in leaves):
            branches("a string YAML would read otherwise")
        if any(isinstance(leaf, str) and not leaf.isascii() for leaf in leaves):
            branches("non-ASCII text")
        assert yamlio.load(diffs.dump(doc)) == doc

    check()
    branches.check()


# ----- the pages -----------------------------------------------------------------------------------


def _refused(response: Any, words: str) -> None:
    assert response.status_code == 200
    assert words in html.unescape(response.content.decode()), words


@pytest.mark.parametrize(
    ("piece", "words"),
    [
        (None, "anchors (&a) are not allowed"),
        ({"free": DEEP}, "nested more than 100 levels deep"),
        ({"free": "x" * (400 * 1024)}, "at most"),
        ({"imagePullPolicy": "Always\n  imagePullPolicy: Never"}, "the key 'imagePullPolicy' is given twice"),
    ],
    ids=["aliases", "deep", "huge", "duplicate"],
)
def test_yaml_pasted_into_add_and_edit_is_refused_on_the_field_and_writes_nothing(
    admin: Client, clientset: Clientset, namespace: str, piece: dict[str, str] | None, words: str
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("bounded", namespace=namespace))
    text = ALIAS_BOMB if piece is None else _document(namespace, **piece)
    _refused(admin.post(ADD, {"mode": "yaml", "yaml": text}), words)
    url = f"/clusters/default/emqx/{namespace}/bounded/change/"
    editing = form_data(admin.get(url, {"mode": "yaml"}).content.decode(), "emqx-form")
    for step in ("preview", "save"):
        _refused(admin.post(url, {**editing, "yaml": text, "step": step}), words)
    assert [o.metadata.generation for o in clientset.apps_v2beta1.emqxes(namespace).list().items] == [1]
    assert AuditEntry.objects.count() == 0


@pytest.mark.parametrize(
    "config",
    ["a = " + "[" * 600 + "]" * 600, "a " + "{ b " * 600 + "}" * 600],
    ids=["arrays", "objects"],
)
def test_deeply_nested_hocon_is_a_clear_error_on_the_config_field(
    admin: Client, clientset: Clientset, namespace: str, config: str
) -> None:
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("bounded", namespace=namespace))
    url = f"/clusters/default/emqx/{namespace}/bounded/change/"
    data = {**form_data(admin.get(url).content.decode(), "emqx-form"), CONFIG_DATA: config, "step": "save"}
    _refused(admin.post(url, data), "nested more than 100 levels deep")
    assert clientset.apps_v2beta1.emqxes(namespace).get("bounded").metadata.generation == 1
    assert AuditEntry.objects.count() == 0


PAGES = ["", "_status", "_events", "change/", "change/?mode=yaml", "delete/", "timeline/", "history/"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    ("namespace_of", "name"),
    [("Foo_Bar", "broker"), ("a" * 64, "broker"), ("-x", "broker"), (None, "Foo_Bar"), (None, "a..b")],
    ids=["underscore-namespace", "long-namespace", "dash-namespace", "underscore-name", "empty-label-name"],
)
def test_a_namespace_or_name_kubernetes_refuses_is_a_404(
    admin: Client, namespace: str, namespace_of: str | None, name: str, page: str
) -> None:
    url = f"/clusters/default/emqx/{namespace_of or namespace}/{name}/{page}"
    assert admin.get(url).status_code == 404
    if page and not page.startswith("_") and "?" not in page:
        assert admin.post(url, {"step": "save", "uid": "x", "generation": "1"}).status_code == 404
    assert AuditEntry.objects.count() == 0


def test_an_odd_namespace_in_the_query_filters_to_nothing(admin: Client) -> None:
    for url in (
        "/clusters/default/emqx/?namespace=Foo_Bar",
        "/clusters/default/emqx/_rows?namespace=Foo_Bar",
        "/clusters/default/emqx/?namespace=Foo_Bar&source=api",
        ADD + "?namespace=Foo_Bar",
    ):
        assert admin.get(url).status_code == 200, url
