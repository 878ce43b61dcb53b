"""Field case 12 (tests/fieldcases/12-generatename-create): YAML with ``generateName`` and no name,
pasted into Add as YAML. The console refuses it with a clear message on ``metadata.name`` (a name
the server picks could not be shown, redirected to or audited before the write), every time it is
submitted, and creates nothing: never a 500, never a redirect to ``.../None/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.test import Client

from console.models import AuditEntry
from emqx.client.clientset import Clientset

pytestmark = pytest.mark.django_db

CASE = Path(__file__).resolve().parents[1] / "fieldcases" / "12-generatename-create" / "input.yaml"
URL = "/clusters/default/emqx/add/"


def _pasted(namespace: str, **metadata: object) -> str:
    doc = yaml.safe_load(CASE.read_text())
    doc["metadata"] = {**doc["metadata"], "namespace": namespace, **metadata}
    return yaml.safe_dump(doc)


@pytest.mark.parametrize("name", [None, ""], ids=["no-name", "empty-name"])
def test_yaml_with_generate_name_is_refused_on_the_name_twice_and_creates_nothing(
    admin: Client, clientset: Clientset, namespace: str, name: str | None
) -> None:
    text = _pasted(namespace) if name is None else _pasted(namespace, name=name)
    for _ in range(2):  # a double submit behaves the same
        response = admin.post(URL, {"mode": "yaml", "yaml": text})
        assert response.status_code == 200
        page = response.content.decode()
        assert "metadata.name: a name is required; generateName is not supported here" in page
        assert "None" not in response.get("Location", "")
    assert clientset.apps_v2beta1.emqxes(namespace).list().items == []
    assert AuditEntry.objects.count() == 0


def test_the_same_yaml_with_a_name_creates_it_and_goes_to_its_page(
    admin: Client, clientset: Clientset, namespace: str
) -> None:
    response = admin.post(URL, {"mode": "yaml", "yaml": _pasted(namespace, name="emqx-ci-1")})
    assert response.status_code == 302
    assert response["Location"] == f"/clusters/default/emqx/{namespace}/emqx-ci-1/"
    created = clientset.apps_v2beta1.emqxes(namespace).get("emqx-ci-1")
    assert created.metadata.labels == {"purpose": "ci"}
