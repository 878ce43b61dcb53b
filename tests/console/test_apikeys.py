"""EMQX API keys (EMQXAPIKey v3beta1, operator 3.0) through the console, against a real 3.0 cluster:
the list and detail pages, the form (instance, role, expiry, Secret name), what cannot change,
expiry warnings, the Secret never shown, permissions, the EMQX page's key list, and a 2.2
cluster that does not serve the kind."""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from console import clusters
from console.kinds.apikeys import EXPIRY_WARNING, INSTANCE, api_keys_for, expiry_warning, stored_expiry
from console.models import AuditEntry, RoleGrant
from console.registry import ResourceAdmin
from emqx.client.clientset import Clientset
from emqx.models import apps_v3beta1
from sandbox import Sandbox
from tests.support import eventually, form_data, form_inputs, rfc3339

pytestmark = pytest.mark.django_db

CLUSTER = "v3"
LIST = f"/clusters/{CLUSTER}/emqxapikeys/"
ADD = LIST + "add/"
FORM = "emqxapikeys-form"
# What the operator would put in the key's Secret: no page may ever show it.
SECRET_VALUE = "s3cr3t-" + secrets.token_hex(8)


# ----- fixtures: the console on the 3.0 cluster --------------------------------------------------


@pytest.fixture
def v3(settings: Any, sandbox_30: Sandbox) -> Iterator[Sandbox]:
    """The console with one cluster, ``v3``: the operator 3.0 sandbox (EMQX v3beta1 and EMQXAPIKey)."""
    settings.CONSOLE_CLUSTERS = [{"name": CLUSTER, "kubeconfig": str(sandbox_30.kubeconfig)}]
    yield sandbox_30
    clusters.reset()


@pytest.fixture
def ns(v3: Sandbox, request: pytest.FixtureRequest) -> str:
    """A namespace of the test's own in the 3.0 cluster."""
    name = f"t-key-{re.sub(r'[^a-z0-9]+', '-', request.node.name.lower())[5:30].strip('-')}-{secrets.token_hex(3)}"
    v3.create_namespace(name)
    return name


@pytest.fixture
def cs3(v3: Sandbox) -> Iterator[Clientset]:
    with Clientset.from_kubeconfig(v3.kubeconfig) as cs:
        yield cs


@pytest.fixture
def admin(admin_client: Client, v3: Sandbox) -> Client:
    return admin_client


# ----- helpers -------------------------------------------------------------------------------------


def _html(client: Client, url: str, **params: str) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def _emqx(cs: Clientset, ns: str, name: str) -> None:
    cs.apps_v3beta1.emqxes(ns).create(
        apps_v3beta1.EMQX.from_dict(
            {"metadata": {"name": name, "namespace": ns}, "spec": {"image": "emqx/emqx:5.10.0"}}
        )
    )


def _key(
    cs: Clientset, ns: str, name: str, instance: str = "mqtt", *, secret: str = "", **spec: Any
) -> apps_v3beta1.EMQXAPIKey:
    doc = {
        "metadata": {"name": name, "namespace": ns},
        "spec": {"emqxRef": {"name": instance}, "secretRef": {"name": secret or f"{name}-api-key"}, **spec},
    }
    return cs.apps_v3beta1.emqx_api_keys(ns).create(apps_v3beta1.EMQXAPIKey.from_dict(doc))


def _ready(
    cs: Clientset, ns: str, name: str, status: str = "True", reason: str = "KeyCreated", message: str = ""
) -> None:
    """Write the Ready condition as the simulator does."""
    keys = cs.apps_v3beta1.emqx_api_keys(ns)
    doc = keys.get(name).to_dict()
    doc["status"] = {
        "conditions": [
            {
                "type": "Ready",
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": rfc3339(dt.datetime.now(dt.UTC)),
                "observedGeneration": doc["metadata"]["generation"],
            }
        ]
    }
    keys.update_status(apps_v3beta1.EMQXAPIKey.from_dict(doc))


def _detail(ns: str, name: str, page: str = "") -> str:
    return f"{LIST}{ns}/{name}/{page}"


def _shown(client: Client, url: str, text: str) -> bool:
    return text in client.get(url).content.decode()


def _in_days(days: float) -> str:
    return rfc3339(dt.datetime.now(dt.UTC) + dt.timedelta(days=days))


def _add_data(client: Client, ns: str, **values: str) -> dict[str, str]:
    """The add form as a browser posts it after filling in ``values`` (by field path)."""
    data = form_data(_html(client, ADD, namespace=ns), FORM)
    return {**data, "metadata.namespace": ns, **values}


def _edit_data(client: Client, ns: str, name: str, **values: str) -> dict[str, str]:
    page = _html(client, _detail(ns, name, "change/"))
    return {**form_data(page, FORM), **values}


# ----- list and detail ---------------------------------------------------------------------------


def test_the_list_shows_each_keys_instance_role_expiry_and_secret(admin: Client, cs3: Clientset, ns: str) -> None:
    _key(cs3, ns, "dashboards", role="Viewer", expiresAt="2031-06-01T12:00:00Z", secret="dash-creds")
    _key(cs3, ns, "ingest", instance="edge", role="Publisher")
    eventually(lambda: _shown(admin, f"{LIST}?namespace={ns}", "ingest"))
    html = _html(admin, LIST, namespace=ns)
    row = html[html.index(">dashboards<") :]
    row = row[: row.index("</tr>")]
    assert "mqtt" in row and "Viewer" in row and "2031-06-01 12:00 UTC" in row and "dash-creds" in row
    assert 'title="2031-06-01T12:00:00+00:00"' in row
    row = html[html.index(">ingest<") :]
    assert "edge" in row[: row.index("</tr>")] and "never" in row[: row.index("</tr>")]
    for sort in ("instance", "-expires", "role", "secret"):
        assert _html(admin, LIST, namespace=ns, sort=sort).count("<tr class=") == 2


def test_a_key_the_operator_has_not_reconciled_says_so(admin: Client, cs3: Clientset, ns: str) -> None:
    _key(cs3, ns, "fresh")
    eventually(lambda: admin.get(_detail(ns, "fresh")).status_code == 200)
    html = _html(admin, _detail(ns, "fresh"))
    assert "Not reconciled yet" in html
    assert 'id="current-state">Pending<' in html
    assert ">Pending<" in _html(admin, LIST, namespace=ns)


def test_a_ready_key_shows_ready_and_the_status_poll_stops(admin: Client, cs3: Clientset, ns: str) -> None:
    _key(cs3, ns, "good")
    _ready(cs3, ns, "good", message="API key created in EMQX")
    status = _detail(ns, "good", "_status")
    eventually(lambda: admin.get(status, HTTP_HX_REQUEST="true").status_code == 286)
    html = admin.get(status, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="current-state">Ready<' in html and "API key created in EMQX" in html
    assert "Degraded" not in html


def test_a_key_the_operator_could_not_create_shows_its_reason_and_is_degraded(
    admin: Client, cs3: Clientset, ns: str
) -> None:
    _key(cs3, ns, "orphan", instance="nowhere")
    _ready(cs3, ns, "orphan", "False", "EMQXNotFound", "EMQX nowhere does not exist")
    url = _detail(ns, "orphan")
    eventually(lambda: _shown(admin, url, "EMQXNotFound"))
    html = _html(admin, url)
    assert 'id="current-state">Not ready<' in html
    assert "EMQXNotFound: EMQX nowhere does not exist" in html
    assert 'id="degraded">Degraded: Ready False: EMQXNotFound EMQX nowhere does not exist.' in html


def test_a_condition_the_console_does_not_know_is_shown_but_not_taken_for_a_state(
    admin: Client, cs3: Clientset, ns: str
) -> None:
    _key(cs3, ns, "odd")
    keys = cs3.apps_v3beta1.emqx_api_keys(ns)
    doc = keys.get("odd").to_dict()
    now = rfc3339(dt.datetime.now(dt.UTC))
    doc["status"] = {
        "conditions": [
            {"type": "Synced", "status": "True", "reason": "Done", "message": "synced", "lastTransitionTime": now}
        ]
    }
    keys.update_status(apps_v3beta1.EMQXAPIKey.from_dict(doc))
    url = _detail(ns, "odd")
    eventually(lambda: _shown(admin, url, 'data-type="Synced"'))
    html = _html(admin, url)
    assert 'id="current-state">Pending<' in html  # not "Synced": the console does not guess
    assert "No Ready condition (reported: Synced=True)" in html


def test_an_expired_key_is_flagged_as_degraded_with_its_expiry(admin: Client, cs3: Clientset, ns: str) -> None:
    past = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)
    _key(cs3, ns, "stale", expiresAt=rfc3339(past))
    _ready(cs3, ns, "stale")  # the operator still says Ready: the clock decides
    when = past.strftime("%Y-%m-%d %H:%M UTC")
    url = _detail(ns, "stale")
    eventually(lambda: _shown(admin, url, "KeyCreated"))
    html = _html(admin, url)
    assert f'id="degraded">Degraded: expired at {when}.' in html
    assert 'id="expiry-warning">This key expired 2 days ago' in html
    listed = _html(admin, LIST, namespace=ns)
    assert f"{when} (expired 2 days ago)" in listed and 'class="row-bad"' in listed


def test_a_key_expiring_within_a_week_stays_ready_with_a_note(admin: Client, cs3: Clientset, ns: str) -> None:
    _key(cs3, ns, "soon", expiresAt=_in_days(3.5))
    _ready(cs3, ns, "soon")
    url = _detail(ns, "soon")
    eventually(lambda: _shown(admin, url, "KeyCreated"))
    html = _html(admin, url)
    assert 'id="current-state">Ready<' in html and 'id="degraded"' not in html
    assert 'class="warning" id="expiry-warning">This key expires in 3 days 11 hours: it stops working at' in html
    assert "(expires in 3 days 11 hours)" in _html(admin, LIST, namespace=ns)


def test_the_expiry_warning_starts_a_week_before() -> None:
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert expiry_warning(None, now) == ""
    assert expiry_warning(now + EXPIRY_WARNING + dt.timedelta(minutes=1), now) == ""
    assert expiry_warning(now + EXPIRY_WARNING, now) == "expires in 7 days"
    assert expiry_warning(now + dt.timedelta(hours=1), now) == "expires in 1 hour"
    assert expiry_warning(now, now) == "expired less than a minute ago"


def test_the_detail_page_links_the_instance_and_names_the_secret(admin: Client, cs3: Clientset, ns: str) -> None:
    _emqx(cs3, ns, "mqtt")
    _key(cs3, ns, "linked", secret="linked-creds", description="for Grafana")
    url = _detail(ns, "linked")
    eventually(lambda: admin.get(url).status_code == 200)
    html = _html(admin, url)
    assert f'<a href="/clusters/{CLUSTER}/emqx/{ns}/mqtt/" id="instance-link">mqtt</a>' in html
    assert '<code id="secret-name">linked-creds</code>' in html
    assert "for Grafana" in html and "Administrator" in html  # the CRD's default role


# ----- add ----------------------------------------------------------------------------------------


def test_the_add_form_offers_the_namespaces_instances(admin: Client, cs3: Clientset, ns: str) -> None:
    _emqx(cs3, ns, "mqtt-a")
    _emqx(cs3, ns, "mqtt-b")
    eventually(lambda: 'value="mqtt-b"' in _html(admin, ADD, namespace=ns))
    html = _html(admin, ADD, namespace=ns)
    select = html[html.index('name="spec.emqxRef.name"') :]
    select = select[: select.index("</select>")]
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "mqtt-a", "mqtt-b"]
    roles = html[html.index('name="spec.role"') :]
    assert re.findall(r'<option value="([^"]*)"', roles[: roles.index("</select>")]) == [
        "Administrator",
        "Viewer",
        "Publisher",
    ]


def test_the_only_instance_of_a_namespace_is_chosen_for_you(admin: Client, cs3: Clientset, ns: str) -> None:
    _emqx(cs3, ns, "solo")
    eventually(lambda: 'value="solo"' in _html(admin, ADD, namespace=ns))
    assert form_data(_html(admin, ADD, namespace=ns), FORM)["spec.emqxRef.name"] == "solo"


def test_a_key_is_added_with_the_chosen_instance_role_and_expiry_and_audited(
    admin: Client, cs3: Clientset, ns: str
) -> None:
    _emqx(cs3, ns, "mqtt-a")
    _emqx(cs3, ns, "mqtt-b")
    eventually(lambda: 'value="mqtt-b"' in _html(admin, ADD, namespace=ns))
    data = _add_data(
        admin,
        ns,
        **{
            "metadata.name": "grafana",
            "spec.emqxRef.name": "mqtt-b",
            "spec.role": "Viewer",
            "spec.expiresAt": "2031-01-02 03:04",
            "spec.secretRef.name": "grafana-api-key",
            "spec.description": "dashboards",
        },
    )
    response = admin.post(ADD, data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert response["Location"] == _detail(ns, "grafana")
    spec = cs3.apps_v3beta1.emqx_api_keys(ns).get("grafana").to_dict()["spec"]
    assert spec == {
        "emqxRef": {"name": "mqtt-b"},
        "role": "Viewer",
        "expiresAt": "2031-01-02T03:04:00Z",
        "secretRef": {"name": "grafana-api-key"},
        "description": "dashboards",
    }
    entries = AuditEntry.objects.filter(kind="EMQXAPIKey", name="grafana")
    assert [(e.action, e.outcome, e.namespace) for e in entries] == [("create", "success", ns)]
    assert entries[0].after is not None and entries[0].after["spec"]["expiresAt"] == "2031-01-02T03:04:00Z"
    assert "Not reconciled yet" in _html(admin, response["Location"])  # shown at once, before the watch event


def test_an_expiry_in_rfc3339_is_kept_as_written(admin: Client, cs3: Clientset, ns: str) -> None:
    data = _add_data(
        admin,
        ns,
        **{
            "metadata.name": "zoned",
            "spec.emqxRef.name": "mqtt",
            "spec.expiresAt": "2031-01-02T03:04:05+02:00",
            "spec.secretRef.name": "zoned-api-key",
        },
    )
    assert admin.post(ADD, data).status_code == 302
    assert cs3.apps_v3beta1.emqx_api_keys(ns).get("zoned").to_dict()["spec"]["expiresAt"] == "2031-01-02T03:04:05+02:00"
    assert stored_expiry(" 2031-01-02T03:04 ") == "2031-01-02T03:04:00Z"  # a browser's datetime-local


def test_a_key_written_as_yaml_keeps_an_unquoted_expiry_as_rfc3339(admin: Client, cs3: Clientset, ns: str) -> None:
    document = f"""apiVersion: apps.emqx.io/v3beta1
kind: EMQXAPIKey
metadata: {{name: written, namespace: {ns}}}
spec:
  emqxRef: {{name: mqtt}}
  secretRef: {{name: written-api-key}}
  expiresAt: 2031-01-02 03:04:05
"""
    response = admin.post(ADD, {"mode": "yaml", "yaml": document})
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert cs3.apps_v3beta1.emqx_api_keys(ns).get("written").to_dict()["spec"]["expiresAt"] == "2031-01-02T03:04:05Z"
    assert AuditEntry.objects.filter(name="written", action="create").count() == 1


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("next tuesday", "is not a date and time: write RFC 3339"),
        ("2031-02-30 10:00", "is not a valid date and time"),
        ("2020-01-01 10:00", "2020-01-01 10:00 UTC has passed"),
    ],
)
def test_an_expiry_the_console_cannot_read_or_in_the_past_is_refused_on_the_field(
    admin: Client, ns: str, typed: str, says: str
) -> None:
    data = _add_data(
        admin,
        ns,
        **{
            "metadata.name": "bad-expiry",
            "spec.emqxRef.name": "mqtt",
            "spec.expiresAt": typed,
            "spec.secretRef.name": "x",
        },
    )
    response = admin.post(ADD, data)
    html = response.content.decode()
    assert response.status_code == 200
    errors = html[html.index('id="errors-spec.expiresAt"') :]
    assert says in errors[: errors.index("</ul>")]


def test_a_secret_name_kubernetes_would_refuse_is_refused_on_the_field(admin: Client, ns: str) -> None:
    data = _add_data(
        admin, ns, **{"metadata.name": "k", "spec.emqxRef.name": "mqtt", "spec.secretRef.name": "Not_A_Name"}
    )
    html = admin.post(ADD, data).content.decode()
    errors = html[html.index('id="errors-spec.secretRef.name"') :]
    assert "Not a valid Secret name" in errors[: errors.index("</ul>")]
    assert AuditEntry.objects.count() == 0


# ----- change and delete ---------------------------------------------------------------------------


def test_a_change_of_role_is_previewed_then_saved_and_audited(admin: Client, cs3: Clientset, ns: str) -> None:
    _key(cs3, ns, "editable", expiresAt="2031-06-01T12:00:00+02:00")
    url = _detail(ns, "editable", "change/")
    eventually(lambda: admin.get(url).status_code == 200)
    data = _edit_data(admin, ns, "editable", **{"spec.role": "Publisher"})
    preview = admin.post(url, {**data, "step": "preview"})
    changes = preview.content.decode()
    changes = changes[changes.index('id="changes"') : changes.index("</table>", changes.index('id="changes"'))]
    assert preview.status_code == 200 and "spec.role" in changes
    assert "spec.expiresAt" not in changes  # an unchanged expiry keeps its zone: never rewritten
    saved = admin.post(url, {**data, "step": "save"})
    assert saved.status_code == 302
    spec = cs3.apps_v3beta1.emqx_api_keys(ns).get("editable").to_dict()["spec"]
    assert spec["role"] == "Publisher" and spec["expiresAt"] == "2031-06-01T12:00:00+02:00"
    entries = AuditEntry.objects.filter(name="editable")
    assert [(e.action, e.outcome) for e in entries] == [("update", "success")]


def test_the_instance_is_shown_but_cannot_be_changed(admin: Client, cs3: Clientset, ns: str) -> None:
    _emqx(cs3, ns, "mqtt")
    _emqx(cs3, ns, "other")
    _key(cs3, ns, "pinned")
    url = _detail(ns, "pinned", "change/")
    eventually(lambda: admin.get(url).status_code == 200)
    html = _html(admin, url)
    select = html[html.index('name="spec.emqxRef.name"') :]
    assert re.findall(r'<option value="([^"]*)"', select[: select.index("</select>")]) == ["mqtt"]
    for path, value in (("spec.emqxRef.name", "other"), ("spec.secretRef.name", "elsewhere")):
        response = admin.post(url, {**_edit_data(admin, ns, "pinned", **{path: value}), "step": "save"})
        page = response.content.decode()
        assert response.status_code == 200 and f'id="errors-{path}"' in page, path
        errors = page[page.index(f'id="errors-{path}"') :]
        errors = errors[: errors.index("</ul>")]
        assert ("is not one of the available choices" if path == INSTANCE else "cannot be changed") in errors
    spec = cs3.apps_v3beta1.emqx_api_keys(ns).get("pinned").to_dict()["spec"]
    assert spec["emqxRef"] == {"name": "mqtt"} and spec["secretRef"] == {"name": "pinned-api-key"}
    assert not AuditEntry.objects.exists()


def test_a_changed_instance_in_yaml_is_refused_by_the_cluster_on_the_field(
    admin: Client, cs3: Clientset, ns: str
) -> None:
    _key(cs3, ns, "yamled")
    url = _detail(ns, "yamled", "change/")
    eventually(lambda: admin.get(url).status_code == 200)
    page = admin.get(url, {"mode": "yaml"}).content.decode()
    hidden = form_inputs(page, FORM)
    text = re.search(r'<textarea name="yaml"[^>]*>(.*?)</textarea>', page, re.S)
    assert text is not None
    yaml_text = text.group(1).replace("&#x27;", "'").replace("&quot;", '"').replace("name: mqtt", "name: other")
    response = admin.post(url, {**hidden, "mode": "yaml", "yaml": yaml_text, "step": "preview"})
    html = response.content.decode()
    errors = html[html.index('id="errors-yaml"') :]
    assert "spec.emqxRef.name is immutable" in errors[: errors.index("</ul>")]


def test_a_key_is_deleted_and_audited(admin: Client, cs3: Clientset, ns: str) -> None:
    _key(cs3, ns, "doomed")
    url = _detail(ns, "doomed", "delete/")
    eventually(lambda: admin.get(url).status_code == 200)
    page = admin.get(url).content.decode().replace('class="delete-confirmation"', 'id="delete-confirmation"')
    done = admin.post(url, form_inputs(page, "delete-confirmation"))
    assert done.status_code == 302
    assert cs3.apps_v3beta1.emqx_api_keys(ns).list().items == []
    assert [(e.action, e.outcome) for e in AuditEntry.objects.filter(name="doomed")] == [("delete", "success")]


# ----- the Secret, permissions, other clusters --------------------------------------------------------


def test_the_secrets_content_never_appears_on_any_page(admin: Client, v3: Sandbox, cs3: Clientset, ns: str) -> None:
    _emqx(cs3, ns, "mqtt")
    _key(cs3, ns, "private", secret="private-api-key")
    status, _ = v3.request(
        "POST",
        f"/api/v1/namespaces/{ns}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "private-api-key", "namespace": ns},
            "stringData": {"api_key": "key-" + SECRET_VALUE[:6], "api_secret": SECRET_VALUE},
        },
    )
    assert status == 201
    _ready(cs3, ns, "private")
    pages = [
        f"{LIST}?namespace={ns}",
        _detail(ns, "private"),
        _detail(ns, "private", "_status"),
        _detail(ns, "private", "_events"),
        _detail(ns, "private", "change/"),
        _detail(ns, "private", "change/") + "?mode=yaml",
        _detail(ns, "private", "delete/"),
        f"/clusters/{CLUSTER}/emqx/{ns}/mqtt/",
    ]
    eventually(lambda: _shown(admin, _detail(ns, "private"), "KeyCreated"))
    encoded = base64.b64encode(SECRET_VALUE.encode()).decode()
    for url in pages:
        body = admin.get(url).content.decode()
        assert SECRET_VALUE not in body and encoded not in body and SECRET_VALUE[:6] not in body, url


def test_a_viewer_sees_keys_but_cannot_add_change_or_delete(client: Client, cs3: Clientset, ns: str) -> None:
    _key(cs3, ns, "watched")
    viewer = User.objects.create_user("viewer", password="pw-viewer-123456")
    RoleGrant.objects.create(user=viewer, role="viewer", namespace=ns)
    client.force_login(viewer)
    eventually(lambda: client.get(_detail(ns, "watched")).status_code == 200)
    html = _html(client, _detail(ns, "watched"))
    assert _detail(ns, "watched", "change/") not in html and _detail(ns, "watched", "delete/") not in html
    assert client.get(ADD, {"namespace": ns}).status_code == 403
    assert client.post(ADD, {"metadata.namespace": ns, "metadata.name": "x"}).status_code == 403
    assert client.get(_detail(ns, "watched", "change/")).status_code == 403
    assert client.post(_detail(ns, "watched", "delete/"), {}).status_code == 403
    assert client.get(_detail("elsewhere", "watched")).status_code == 404  # a namespace it may not read
    assert not AuditEntry.objects.exists()


@pytest.fixture
def with_22(settings: Any, sandbox: Sandbox, sandbox_30: Sandbox) -> Iterator[None]:
    """Two clusters: ``default`` (operator 2.2, no EMQXAPIKey) and ``v3``."""
    settings.CONSOLE_CLUSTERS = [
        {"name": "default", "kubeconfig": str(sandbox.kubeconfig)},
        {"name": CLUSTER, "kubeconfig": str(sandbox_30.kubeconfig)},
    ]
    yield
    clusters.reset()


def test_a_cluster_without_api_keys_says_so_and_never_fails(admin_client: Client, with_22: None) -> None:
    listed = admin_client.get("/clusters/default/emqxapikeys/")
    assert listed.status_code == 200
    assert "does not serve EMQXAPIKey v3beta1" in listed.content.decode()
    add = admin_client.get("/clusters/default/emqxapikeys/add/")
    assert add.status_code == 404 and "does not serve EMQX API keys" in add.content.decode()
    assert admin_client.get("/clusters/default/emqxapikeys/default/any/").status_code == 200  # with the banner
    assert admin_client.get("/clusters/default/emqxapikeys/default/any/change/").status_code == 404
    assert api_keys_for(clusters.get_cluster("default"), "default", "any") == []


# ----- the EMQX page's keys ----------------------------------------------------------------------------


@pytest.fixture
def emqx_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    """EMQXAdmin.get_detail_context as the lead wires it (console/kinds/emqx.py is not this suite's):
    applied here only while EMQXAdmin still has the default hook."""
    from console.kinds.apikeys import api_keys_context
    from console.kinds.emqx import EMQXAdmin

    if EMQXAdmin.get_detail_context is ResourceAdmin.get_detail_context:
        monkeypatch.setattr(
            EMQXAdmin,
            "get_detail_context",
            lambda self, request, cluster, obj: api_keys_context(request, cluster, obj),
        )


def test_the_emqx_page_lists_its_api_keys_and_offers_to_add_one(
    admin: Client, cs3: Clientset, ns: str, emqx_hook: None
) -> None:
    _emqx(cs3, ns, "mqtt")
    _emqx(cs3, ns, "other")
    _key(cs3, ns, "mine-a", role="Viewer")
    _key(cs3, ns, "mine-b", expiresAt=rfc3339(dt.datetime.now(dt.UTC) - dt.timedelta(days=1)))
    _key(cs3, ns, "theirs", instance="other")
    url = f"/clusters/{CLUSTER}/emqx/{ns}/mqtt/"
    eventually(lambda: _shown(admin, url, "mine-b"))
    html = _html(admin, url)
    module = html[html.index('id="api-keys"') :]
    module = module[: module.index('<div class="module"')]  # up to the next module (the table has a box of its own)
    assert re.findall(r'href="/clusters/v3/emqxapikeys/[^/]+/([^/]+)/"', module) == ["mine-a", "mine-b"]
    assert "Viewer" in module and "(expired 1 day ago)" in module and "Degraded" in module
    add = f"/clusters/{CLUSTER}/emqxapikeys/add/?namespace={ns}&spec.emqxRef.name=mqtt"
    assert f'href="{add.replace("&", "&amp;")}"' in module
    # The link prefills the instance (Django admin's initial data from the query), and the role is Viewer.
    form = _html(admin, add)
    chosen = re.findall(r'<option value="([^"]*)" selected>', form)
    assert "mqtt" in chosen and "Viewer" in chosen
    empty = _html(admin, f"/clusters/{CLUSTER}/emqx/{ns}/other/")
    assert "theirs" in empty and "mine-a" not in empty
    assert [s.name for s in api_keys_for(clusters.get_cluster(CLUSTER), ns, "mqtt")] == ["mine-a", "mine-b"]


def test_a_viewer_sees_the_instances_keys_but_no_add_link(
    client: Client, cs3: Clientset, ns: str, emqx_hook: None
) -> None:
    _emqx(cs3, ns, "mqtt")
    _key(cs3, ns, "hidden")
    viewer = User.objects.create_user("viewer", password="pw-viewer-123456")
    RoleGrant.objects.create(user=viewer, role="viewer", namespace=ns)
    client.force_login(viewer)
    url = f"/clusters/{CLUSTER}/emqx/{ns}/mqtt/"
    eventually(lambda: _shown(client, url, 'id="api-keys"') and _shown(client, url, "hidden"))
    assert 'id="add-api-key"' not in _html(client, url)  # a viewer may not add one


def test_an_emqx_page_on_a_cluster_without_api_keys_has_no_key_module(
    admin_client: Client, with_22: None, emqx_hook: None, sandbox: Sandbox
) -> None:
    from tests import factories

    ns = f"t-nokeys-{secrets.token_hex(3)}"
    sandbox.create_namespace(ns)
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        cs.apps_v2beta1.emqxes(ns).create(factories.emqx("plain", namespace=ns))
    url = f"/clusters/default/emqx/{ns}/plain/"
    eventually(lambda: admin_client.get(url).status_code == 200 and _shown(admin_client, url, "Summary"))
    assert 'id="api-keys"' not in _html(admin_client, url)
