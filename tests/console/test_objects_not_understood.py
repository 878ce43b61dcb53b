"""An object whose stored document does not fit the console's model (issue 15, item 17) stays
visible everywhere, marked as not understood with the reasons, readable as YAML, editable as YAML
and deletable. Here: an EMQX written through v2alpha1 without an image, which v2beta1's model
requires (the operator's CRD serves both; the API server stores it as it came)."""

from __future__ import annotations

import html as html_lib
import re

import pytest
import yaml
from django.test import Client

from console.models import AuditEntry
from emqx.client.clientset import Clientset
from tests import factories
from tests.support import eventually, form_data

pytestmark = pytest.mark.django_db

BASE = "/clusters/default/emqx/"


@pytest.fixture
def odd(admin: Client, clientset: Clientset, namespace: str) -> str:
    """``odd`` (no image) and ``fine`` in the test's namespace, both seen by the console's cache."""
    doc = {"apiVersion": "apps.emqx.io/v2alpha1", "kind": "EMQX", "metadata": {"name": "odd"}, "spec": {}}
    clientset.apps_v2alpha1.emqxes(namespace).create(doc)
    clientset.apps_v2beta1.emqxes(namespace).create(factories.emqx("fine", namespace=namespace))
    eventually(lambda: ">fine<" in admin.get(BASE, {"namespace": namespace}).content.decode())
    return namespace


def _row(page: str, name: str) -> str:
    start = page.index(f">{name}<")
    return page[start : page.index("</tr>", start)]


@pytest.mark.parametrize("source", ["cache", "api"])
def test_the_list_shows_it_as_not_understood_beside_the_others(admin: Client, odd: str, source: str) -> None:
    response = admin.get(BASE, {"namespace": odd, **({"source": "api"} if source == "api" else {})})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Not understood" in _row(page, "odd")
    assert ">fine<" in page


def test_its_page_says_why_and_shows_its_yaml(admin: Client, odd: str) -> None:
    page = admin.get(f"{BASE}{odd}/odd/").content.decode()
    assert "Not understood" in page and 'id="not-understood"' in page
    assert "spec.image: Field required" in page
    assert "apps.emqx.io/v2beta1" in html_lib.unescape(page)  # the YAML, as the cluster serves it
    status = admin.get(f"{BASE}{odd}/odd/_status", HTTP_HX_REQUEST="true")
    assert status.status_code == 200 and "spec.image: Field required" in status.content.decode()


def test_it_is_edited_as_yaml_until_it_fits(admin: Client, clientset: Clientset, odd: str) -> None:
    opened = admin.get(f"{BASE}{odd}/odd/change/", follow=True)
    page = opened.content.decode()
    assert opened.status_code == 200 and "opens as YAML" in page
    data = form_data(page, "emqx-form")
    match = re.search(r'<textarea name="yaml"[^>]*>\n?(.*?)</textarea>', page, re.S)
    assert match is not None
    doc = yaml.safe_load(html_lib.unescape(match.group(1)))
    # Saved as it is, the model still refuses it, on the YAML field: nothing is written.
    refused = admin.post(f"{BASE}{odd}/odd/change/", {**data, "yaml": yaml.safe_dump(doc), "step": "save"})
    assert refused.status_code == 200 and "image" in refused.content.decode()
    assert not AuditEntry.objects.filter(name="odd").exists()
    doc["spec"]["image"] = "emqx/emqx:5.8.6"
    saved = admin.post(f"{BASE}{odd}/odd/change/", {**data, "yaml": yaml.safe_dump(doc), "step": "save"})
    assert saved.status_code == 302
    assert clientset.apps_v2beta1.emqxes(odd).get("odd").problems == ()
    assert AuditEntry.objects.get(name="odd").outcome == "success"


def test_it_can_be_deleted(admin: Client, clientset: Clientset, odd: str) -> None:
    url = f"{BASE}{odd}/odd/delete/"
    hidden = dict(
        re.findall(r'<input type="hidden" name="(uid|generation)" value="([^"]*)"', admin.get(url).content.decode())
    )
    assert admin.post(url, hidden).status_code == 302
    assert [o.metadata.name for o in clientset.apps_v2beta1.emqxes(odd).list().items] == ["fine"]
