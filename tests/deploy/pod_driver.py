"""Run inside the environment of the chart's pod (tests/deploy/test_in_cluster.py starts it): the console,
configured only by that environment and the in-cluster service account, used as a person would use it
through Django's test client. Prints one JSON object: what each page answered and what each write did.

    python tests/deploy/pod_driver.py writes NAMESPACE
    python tests/deploy/pod_driver.py impersonation NAMESPACE
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
sys.path.insert(0, os.getcwd())

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from console.models import ALL, AuditEntry, Role, RoleGrant  # noqa: E402
from emqx.client.clientset import Clientset  # noqa: E402
from emqx.errors import EmqxClientError, Forbidden  # noqa: E402
from tests.support import CORE_REPLICAS, IMAGE, NAME, NAMESPACE, emqx_add_values, emqx_form_data, form_data  # noqa: E402

CLUSTER = "local"
BACKEND = "console.sessions.SessionUserBackend"
# What a page shows when the cluster refused or could not answer: a banner over the page, or an error note
# (a panel, the Events, an upgrade check that could not be done).
TROUBLE = re.compile(r'class="(?:errornote[^"]*|banner banner-[a-z]+)"[^>]*>\s*(.{0,160})', re.S)


def browser(user: User) -> Client:
    """A logged-in browser behind the TLS proxy, asking for the host the chart allows."""
    client = Client(HTTP_HOST="console.example.com", HTTP_X_FORWARDED_PROTO="https")
    client.force_login(user, backend=BACKEND)
    return client


def page(client: Client, url: str) -> dict[str, Any]:
    response = client.get(url, follow=True)
    trouble = TROUBLE.search(response.content.decode(errors="replace"))
    return {
        "status": response.status_code,
        "trouble": re.sub(r"<[^>]+>|\s+", " ", trouble[1]).strip() if trouble else "",
    }


def add(client: Client, namespace: str, name: str) -> dict[str, Any]:
    values = {**emqx_add_values(), NAME: name, NAMESPACE: namespace, IMAGE: "emqx/emqx:5.8.6"}
    response = client.post(f"/clusters/{CLUSTER}/emqx/add/", emqx_form_data(values))
    errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    return {"status": response.status_code, "errors": [re.sub(r"<[^>]+>", "", e).strip() for e in errors]}


def edit(client: Client, namespace: str, name: str) -> int:
    url = f"/clusters/{CLUSTER}/emqx/{namespace}/{name}/change/"
    data = form_data(client.get(url).content.decode(), "emqx-form")
    return client.post(url, {**data, CORE_REPLICAS: "3", "step": "save"}).status_code


def delete(client: Client, namespace: str, name: str) -> dict[str, Any]:
    url = f"/clusters/{CLUSTER}/emqx/{namespace}/{name}/delete/"
    html = client.get(url).content.decode()
    inputs = re.findall(r"<input[^>]*>", html)
    hidden = {
        m["name"]: m["value"]
        for tag in inputs
        if (m := re.search(r'name="(?P<name>uid|generation|confirm_name)".*?value="(?P<value>[^"]*)"', tag))
    }
    response = client.post(url, hidden)
    errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    return {"status": response.status_code, "errors": [re.sub(r"<[^>]+>", "", e).strip() for e in errors]}


def own_identity(namespace: str) -> dict[str, str]:
    """What the API server answers the console's own identity (the pod's token) for writes the README
    does not grant it."""
    cs = Clientset.in_cluster()
    tries = {
        "create-configmap": ("POST", f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"name": "x"}}),
        "read-secrets": ("GET", f"/api/v1/namespaces/{namespace}/secrets", None),
        "delete-namespace": ("DELETE", f"/api/v1/namespaces/{namespace}", None),
        "create-emqx": (
            "POST",
            f"/apis/apps.emqx.io/v2beta1/namespaces/{namespace}/emqxes",
            {
                "apiVersion": "apps.emqx.io/v2beta1",
                "kind": "EMQX",
                "metadata": {"name": "own"},
                "spec": {"image": "emqx"},
            },
        ),
    }
    answers = {}
    for name, (method, path, body) in tries.items():
        try:
            cs.transport.request_json(method, path, body=body, query=[("dryRun", "All")] if method != "GET" else None)
            answers[name] = "allowed"
        except Forbidden:
            answers[name] = "forbidden"
        except EmqxClientError as error:
            answers[name] = f"error: {error}"
    return answers


def writes(namespace: str) -> dict[str, Any]:
    admin = User.objects.create_superuser("ops", "ops@example.com", "unused-password-0451")
    client = browser(admin)
    report: dict[str, Any] = {"add": add(client, namespace, "broker")}
    pages = {
        "home": "/",
        "fleet dashboard": "/dashboard/",
        "cluster dashboard": f"/clusters/{CLUSTER}/",
        "list": f"/clusters/{CLUSTER}/emqx/?namespace={namespace}",
        "rows": f"/clusters/{CLUSTER}/emqx/_rows?namespace={namespace}",
        "list from the API": f"/clusters/{CLUSTER}/emqx/?namespace={namespace}&source=api",
        "detail": f"/clusters/{CLUSTER}/emqx/{namespace}/broker/",
        "status": f"/clusters/{CLUSTER}/emqx/{namespace}/broker/_status",
        "events": f"/clusters/{CLUSTER}/emqx/{namespace}/broker/_events",
        "timeline": f"/clusters/{CLUSTER}/emqx/{namespace}/broker/timeline/",
        "brokers (4.x)": f"/clusters/{CLUSTER}/emqxbrokers/",
        "enterprise (4.x)": f"/clusters/{CLUSTER}/emqxenterprises/",
        "rebalances": f"/clusters/{CLUSTER}/rebalances/",
        "upgrade checks": f"/clusters/{CLUSTER}/upgrade/",
        "audit": "/audit/",
    }
    report["pages"] = {label: page(client, url) for label, url in pages.items()}
    report["edit"] = edit(client, namespace, "broker")
    report["delete"] = delete(client, namespace, "broker")
    report["audit"] = sorted(AuditEntry.objects.values_list("action", "outcome"))
    report["own identity"] = own_identity(namespace)
    return report


def impersonation(namespace: str) -> dict[str, Any]:
    """alice and bob are both console admins; the cluster lets console:alice write EMQX in the namespace
    (a RoleBinding the test made) and console:bob nothing."""
    report: dict[str, Any] = {}
    for name in ("alice", "bob"):
        user = User.objects.create_user(name, f"{name}@example.com", "unused-password-0451")
        RoleGrant.objects.create(user=user, role=Role.ADMIN, cluster=ALL, namespace=ALL)
        report[name] = add(browser(user), namespace, f"by-{name}")
    report["audit"] = sorted(AuditEntry.objects.values_list("username", "outcome"))
    report["own identity"] = own_identity(namespace)
    return report


def main() -> None:
    mode, namespace = sys.argv[1], sys.argv[2]
    call_command("migrate", "--noinput", verbosity=0)
    report = writes(namespace) if mode == "writes" else impersonation(namespace)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
