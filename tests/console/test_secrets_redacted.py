"""Secrets stay out of the audit trail and out of every diff the console shows (issue 15, item 13).

What counts as a secret is console/redaction.py's rule: EMQX's ``bootstrapAPIKeys[].secret``, the
4.x brokers' dashboard ``password``, licences, password-like environment variables, the Erlang
cookie and password-like keys in configuration. A changed secret shows *that* it changed."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.test import Client

from console.audit import spec_diff
from console.diffs import changes, unified
from console.models import AuditEntry
from console.redaction import CHANGED, REDACTED, redacted
from emqx.client.clientset import Clientset
from tests.console.test_emqx_edit_yaml import _dump, _make, _opened, _url

SECRET, NEW_SECRET = "s3cret-value-1", "s3cret-value-2"

EMQX5 = {
    "apiVersion": "apps.emqx.io/v2beta1",
    "kind": "EMQX",
    "metadata": {"name": "b", "namespace": "prod"},
    "spec": {
        "bootstrapAPIKeys": [{"key": "ci", "secret": SECRET}],
        "config": {"data": f'node.cookie = "{SECRET}"\ndashboard.default_password = {SECRET}\nlog.level = info\n'},
        "coreTemplate": {
            "spec": {
                "env": [{"name": "EMQX_DASHBOARD__DEFAULT_PASSWORD", "value": SECRET}, {"name": "TZ", "value": "UTC"}],
                "volumes": [{"name": "certs", "secret": {"secretName": "mqtt-certs"}}],
            }
        },
    },
}
BROKER4 = {
    "apiVersion": "apps.emqx.io/v1beta4",
    "kind": "EmqxEnterprise",
    "metadata": {"name": "e", "namespace": "prod"},
    "spec": {
        "license": {"stringData": SECRET},
        "template": {"spec": {"emqxContainer": {"emqxConfig": {"node.cookie": SECRET}}}},
        "emqxTemplate": {"password": SECRET, "username": "admin"},
    },
}
EMQX3 = {
    "apiVersion": "apps.emqx.io/v3beta1",
    "kind": "EMQX",
    "metadata": {"name": "n", "namespace": "prod"},
    "spec": {"config": {"roots": {"node": {"cookie": SECRET}, "dashboard": {"default_password": SECRET}}}},
}


@pytest.mark.parametrize("doc", [EMQX5, BROKER4, EMQX3], ids=["EMQX-v2beta1", "EmqxEnterprise-v1beta4", "EMQX-v3beta1"])
def test_no_secret_value_survives_redaction(doc: dict[str, Any]) -> None:
    shown = redacted(doc)
    assert SECRET not in repr(shown)
    assert REDACTED in repr(shown)


def test_references_and_ordinary_values_are_kept() -> None:
    shown = redacted(EMQX5)
    assert shown is not None
    template = shown["spec"]["coreTemplate"]["spec"]
    assert template["volumes"] == [{"name": "certs", "secret": {"secretName": "mqtt-certs"}}]
    assert template["env"][1] == {"name": "TZ", "value": "UTC"}
    assert shown["spec"]["bootstrapAPIKeys"][0]["key"] == "ci"
    assert "log.level = info" in shown["spec"]["config"]["data"]


def test_a_changed_secret_shows_that_it_changed_and_nothing_else() -> None:
    after = copy.deepcopy(EMQX5)
    after["spec"]["bootstrapAPIKeys"][0]["secret"] = NEW_SECRET
    after["spec"]["config"]["data"] = after["spec"]["config"]["data"].replace(f'"{SECRET}"', f'"{NEW_SECRET}"')
    listed = {c.path: c for c in changes(EMQX5, after)}
    assert listed["spec.bootstrapAPIKeys"].before == [{"key": "ci", "secret": REDACTED}]
    assert listed["spec.bootstrapAPIKeys"].after == [{"key": "ci", "secret": CHANGED}]
    for text in (spec_diff(EMQX5, after), "\n".join(line.text for line in unified(EMQX5, after))):
        assert SECRET not in text and NEW_SECRET not in text
        assert CHANGED in text
    assert changes(EMQX5, copy.deepcopy(EMQX5)) == []  # an unchanged secret is no change


@pytest.mark.django_db
def test_the_audit_and_the_preview_never_show_a_secret(admin: Client, clientset: Clientset, namespace: str) -> None:
    _make(clientset, namespace, spec={"bootstrapAPIKeys": [{"key": "ci", "secret": SECRET}]})
    data, doc = _opened(admin, namespace)
    doc["spec"]["bootstrapAPIKeys"][0]["secret"] = NEW_SECRET
    preview = admin.post(_url(namespace), {**data, "yaml": _dump(doc), "step": "preview"}).content.decode()
    shown = _diff_part(preview)
    assert "spec.bootstrapAPIKeys" in shown and "&lt;redacted: changed&gt;" in shown
    assert SECRET not in shown and NEW_SECRET not in shown
    saved = admin.post(_url(namespace), {**data, "yaml": _dump(doc), "step": "save"})
    assert saved.status_code == 302
    entry = AuditEntry.objects.get(namespace=namespace, action="update")
    stored = repr([entry.before, entry.after, entry.diff])
    assert SECRET not in stored and NEW_SECRET not in stored
    assert CHANGED in entry.diff
    page = admin.get("/audit/", {"namespace": namespace}).content.decode()
    assert "broker" in page and SECRET not in page and NEW_SECRET not in page


def _diff_part(page: str) -> str:
    """The preview's list of changes and its diff; the form after them carries the edited YAML
    itself in a hidden input, to be saved."""
    start = page.index('id="changes"')
    return page[start : page.index('id="preview-form"', start)]
