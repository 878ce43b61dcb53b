"""A status poll reads its session, its user (Django's database sessions and ModelBackend) and the user's grants
(console/permissions.py) from the database on every request: whatever ends a session or withdraws a right applies on the
next poll. Changes "made elsewhere" are written here as another worker process makes them: straight to
the database, with no signal reaching this process (``QuerySet.update()``, SQL). Two real processes:
tests/deploy/test_replicas.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from console import clusters
from console.models import RoleGrant
from emqx.client.clientset import Clientset
from emqx.models import apps_v2beta1
from sandbox import Sandbox
from tests.support import eventually

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

pytestmark = pytest.mark.django_db

PASSWORD = "pw-session-ends-4821"


@pytest.fixture
def status(settings: Any, sandbox: Sandbox, namespace: str) -> Iterator[str]:
    """The status partial's URL of an EMQX in the test's namespace, once the console's cache has it."""
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.kubeconfig)}]
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        cs.resource(apps_v2beta1.EMQX, namespace).create(
            apps_v2beta1.EMQX.from_dict(
                {"metadata": {"name": "watched", "namespace": namespace}, "spec": {"image": "emqx/emqx:5.8.6"}}
            )
        )
    url = f"/clusters/default/emqx/{namespace}/watched/_status"
    admin = Client()
    admin.force_login(User.objects.create_superuser("session-admin", password=PASSWORD))
    eventually(lambda: admin.get(url, HTTP_HX_REQUEST="true").status_code == 200)
    yield url
    clusters.reset()


@pytest.fixture
def viewer(namespace: str) -> User:
    """A Viewer of the test's namespace through a group, as most people get their role."""
    user = User.objects.create_user("session-viewer", password=PASSWORD)
    group = Group.objects.create(name="session-viewers")
    user.groups.add(group)
    RoleGrant.objects.create(group=group, role="viewer", namespace=namespace)
    return user


def _browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _poll(client: Client, url: str) -> Response:
    response: Response = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/the-page/")
    return response


def _shows_panel(response: Response) -> bool:
    content = response.content.decode()
    return response.status_code == 200 and 'id="current-state"' in content and 'id="status-gone"' not in content


def _sent_to_log_in(response: Response) -> bool:
    """The poll's answer to an ended session: the whole page goes to the log-in page (HX-Redirect)."""
    return response.get("HX-Redirect", "").startswith("/login/?next=%2Fthe-page%2F")


def test_a_log_out_in_one_tab_ends_the_session_for_the_next_poll_of_another(status: str, viewer: User) -> None:
    tab = _browser(viewer)
    other_tab = Client()  # the same browser: the same session cookie, its requests served by any worker
    other_tab.cookies[django_settings.SESSION_COOKIE_NAME] = tab.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert _shows_panel(_poll(other_tab, status))
    assert tab.post("/logout/").status_code == 302
    assert _sent_to_log_in(_poll(other_tab, status))


def test_a_session_ended_by_another_process_ends_on_the_next_poll(status: str, viewer: User) -> None:
    browser = _browser(viewer)
    assert _shows_panel(_poll(browser, status))
    Session.objects.filter(pk=browser.session.session_key).delete()  # another worker's log-out: its row goes
    assert _sent_to_log_in(_poll(browser, status))


def _deactivate(user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)


def _delete(user: User) -> None:
    with connection.cursor() as cursor:  # no signal, no ORM cascade: as another process's delete looks here
        cursor.execute("DELETE FROM auth_user_groups WHERE user_id = %s", [user.pk])
        cursor.execute("DELETE FROM auth_user WHERE id = %s", [user.pk])


def _change_password(user: User) -> None:
    # As the Django admin's password form or `manage.py changepassword` in another process: a new hash.
    fresh = User.objects.get(pk=user.pk)
    fresh.set_password("pw-changed-elsewhere-9913")
    User.objects.filter(pk=user.pk).update(password=fresh.password)


@pytest.mark.parametrize(
    "end", [_deactivate, _delete, _change_password], ids=["deactivated", "deleted", "password-changed"]
)
def test_every_session_of_a_user_deactivated_deleted_or_given_a_new_password_ends_on_its_next_poll(
    status: str, viewer: User, end: Callable[[User], None]
) -> None:
    browsers = [_browser(viewer), _browser(viewer)]  # two sessions: a laptop and a phone
    assert all(_shows_panel(_poll(b, status)) for b in browsers)
    end(viewer)
    assert [_sent_to_log_in(_poll(b, status)) for b in browsers] == [True, True]


def test_a_password_changed_by_its_owner_keeps_that_session_and_ends_the_others(status: str, viewer: User) -> None:
    mine, elsewhere = _browser(viewer), _browser(viewer)
    viewer.is_staff = True  # Django's own password change form is in the admin
    viewer.save()
    page = mine.get("/admin/password_change/")
    assert page.status_code == 200
    changed = mine.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": "pw-a-new-one-7731", "new_password2": "pw-a-new-one-7731"},
    )
    assert changed.status_code == 302, changed.content.decode()[-2000:]
    assert _shows_panel(_poll(mine, status))  # update_session_auth_hash: the changing session goes on
    assert _sent_to_log_in(_poll(elsewhere, status))


def _withdraw_role(viewer: User) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM console_rolegrant WHERE group_id IN (SELECT id FROM auth_group)")


def _leave_group(viewer: User) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM auth_user_groups WHERE user_id = %s", [viewer.pk])


@pytest.mark.parametrize("withdraw", [_withdraw_role, _leave_group], ids=["role-removed", "group-left"])
def test_a_removed_role_hides_the_panel_on_the_next_poll(
    status: str, viewer: User, withdraw: Callable[[User], None]
) -> None:
    browser = _browser(viewer)
    assert _shows_panel(_poll(browser, status))
    withdraw(viewer)
    gone = _poll(browser, status)
    assert gone.status_code == 286  # htmx stops polling
    assert "your access was withdrawn" in gone.content.decode() and not _shows_panel(gone)


def test_a_poll_reads_the_session_the_user_and_the_grants_in_one_query_each(status: str, viewer: User) -> None:
    browser = _browser(viewer)
    assert _shows_panel(_poll(browser, status))
    with CaptureQueriesContext(connection) as queries:
        assert _shows_panel(_poll(browser, status))
    tables = [re.search(r'FROM "?(\w+)', q["sql"])[1] for q in queries]  # type: ignore[index]
    assert tables == ["django_session", "auth_user", "console_rolegrant"]
