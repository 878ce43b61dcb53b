"""The shortest journey: log in and see the instances."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from emqx.client.clientset import Clientset
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_user_logs_in_and_sees_the_instances(
    page: Page, live_server: object, settings: object, sandbox: object, namespace: str
) -> None:
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.kubeconfig)}]  # type: ignore[attr-defined]
    cs = Clientset.from_kubeconfig(sandbox.kubeconfig)  # type: ignore[attr-defined]
    cs.apps_v2beta1.emqxes(namespace).create(factories.emqx("browser-seen", namespace=namespace))
    User.objects.create_superuser("root", password="pw-root-123456")

    page.goto(f"{live_server.url}/")  # type: ignore[attr-defined]
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("pw-root-123456")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="EMQX instances")).to_be_visible()
    expect(page.get_by_role("link", name="browser-seen")).to_be_visible()
