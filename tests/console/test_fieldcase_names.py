"""Field case 11 (tests/fieldcases/11-dotted-and-max-length-names): names the API server accepts for
a custom resource (DNS-1123 subdomains, with dots, up to 253 characters) work on every page of
every kind, and an existing object's name is never judged by the console's create-time rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client

from console.forms.schema import read_values, values_as_data
from console.models import AuditEntry
from console.registry import FormContext, site
from emqx.client.clientset import Clientset
from emqx.models._base import Resource
from sandbox import Sandbox
from tests.support import eventually, form_inputs

pytestmark = pytest.mark.django_db

CASE = Path(__file__).resolve().parents[1] / "fieldcases" / "11-dotted-and-max-length-names" / "input.yaml"
DOCS = [d for d in yaml.safe_load_all(CASE.read_text()) if d]
DOTTED, LONGEST, REBALANCE = (d["metadata"]["name"] for d in DOCS)


@pytest.fixture
def created(clientset: Clientset, namespace: str, console_cluster: Any) -> dict[str, Resource]:
    objects = {}
    for doc in DOCS:
        obj = Resource.from_dict({**doc, "metadata": {**doc["metadata"], "namespace": namespace}})
        objects[obj.metadata.name or ""] = clientset.resource(type(obj), namespace).create(obj)
    return objects


def _ok(client: Client, url: str, **params: str) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    return str(response.content.decode())


@pytest.mark.parametrize("name", [DOTTED, LONGEST], ids=["dotted", "253-characters"])
def test_every_page_of_an_instance_with_a_valid_unusual_name_answers(
    admin: Client, namespace: str, created: dict[str, Resource], name: str
) -> None:
    assert len(LONGEST) == 253
    base = f"/clusters/default/emqx/{namespace}/{name}/"
    eventually(lambda: admin.get(base).status_code == 200)
    listing = _ok(admin, "/clusters/default/emqx/", namespace=namespace)
    assert f'href="{base}"' in listing
    for page in ("", "_status", "_events", "timeline/", "history/", "change/", "change/?mode=yaml", "delete/"):
        _ok(admin, base + page)
    assert name in _ok(admin, "/clusters/default/emqx/", namespace=namespace, q=name[:8])


def _unchanged_edit(admin: Client, url: str, obj: Resource, **changes: Any) -> dict[str, str]:
    spec = site.for_kind(obj.kind).get_form_spec(type(obj), FormContext())
    hidden = form_inputs(_ok(admin, url), f"{site.for_kind(obj.kind).slug}-form")
    values = {**read_values(spec, obj.to_dict()), **changes}
    return {**values_as_data(spec, values), "base": hidden["base"], "resource_version": hidden["resource_version"]}


@pytest.mark.parametrize("name", [DOTTED, LONGEST], ids=["dotted", "253-characters"])
def test_an_existing_name_is_not_judged_by_the_create_rule_on_edit(
    admin: Client, clientset: Clientset, namespace: str, created: dict[str, Resource], name: str
) -> None:
    url = f"/clusters/default/emqx/{namespace}/{name}/change/"
    unchanged = _unchanged_edit(admin, url, created[name])
    preview = admin.post(url, {**unchanged, "step": "preview"})
    assert preview.status_code == 200 and 'id="no-changes"' in preview.content.decode()
    data = _unchanged_edit(admin, url, created[name], **{"spec.coreTemplate.spec.replicas": 2})
    saved = admin.post(url, {**data, "step": "save"})
    assert saved.status_code == 302, saved.content.decode()[-2000:]
    obj = clientset.apps_v2beta1.emqxes(namespace).get(name)
    assert obj.spec is not None and obj.spec.core_template is not None
    assert obj.spec.core_template.spec is not None and obj.spec.core_template.spec.replicas == 2


def test_a_dotted_rebalance_is_listed_and_shown(admin: Client, namespace: str, created: dict[str, Resource]) -> None:
    base = f"/clusters/default/rebalances/{namespace}/{REBALANCE}/"
    eventually(lambda: admin.get(base).status_code == 200)
    assert f'href="{base}"' in _ok(admin, "/clusters/default/rebalances/", namespace=namespace)
    assert DOTTED in _ok(admin, base)  # its target


def test_a_dotted_production_instance_is_deleted_with_its_name_typed(
    admin: Client, clientset: Clientset, namespace: str, created: dict[str, Resource], sandbox: Sandbox
) -> None:
    _, ns = sandbox.request("GET", f"/api/v1/namespaces/{namespace}")
    ns["metadata"].setdefault("labels", {})["environment"] = "production"
    sandbox.request("PUT", f"/api/v1/namespaces/{namespace}", ns)
    url = f"/clusters/default/emqx/{namespace}/{DOTTED}/delete/"
    page = _ok(admin, url)
    assert 'pattern="mqtt\\.eu-west-1\\.prod"' in page  # dots escaped for the browser's check
    inputs = form_inputs(page.replace('class="delete-confirmation"', 'id="confirm"'), "confirm")
    refused = admin.post(url, {**inputs, "confirm_name": "mqtt-eu-west-1-prod"})
    assert refused.status_code == 200 and clientset.apps_v2beta1.emqxes(namespace).get(DOTTED)
    done = admin.post(url, {**inputs, "confirm_name": DOTTED})
    assert done.status_code == 302
    assert DOTTED not in [o.metadata.name for o in clientset.apps_v2beta1.emqxes(namespace).list().items]
    assert AuditEntry.objects.filter(name=DOTTED, action="delete", outcome="success").count() == 1
