"""Two replicas side by side, as the chart runs them: two gunicorn processes (one worker each, the image's
deploy/gunicorn.conf.py), production settings, one PostgreSQL database, one cluster (a sandbox of this
module's own, so that an outage disturbs no other test)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from emqx.client.clientset import Clientset
from sandbox import Sandbox
from sandbox.cluster import _die_with_parent, free_port
from tests import factories
from tests.deploy.conftest import ROOT, new_database
from tests.postgres import PostgresServer
from tests.support import IMAGE, NAME, NAMESPACE, emqx_add_values, emqx_form_data, eventually, write_emqx_status

HOST = "console.example.com"
PASSWORD = "a-production-password-0451"
TOKEN = "a-metrics-token-for-prometheus-only"


@dataclass
class Replica:
    name: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM, as the kubelet sends it
            self.process.wait(30)


@dataclass
class Deployment:
    sandbox: Sandbox
    database_url: str
    replicas: dict[str, Replica]
    namespace: str
    viewer_id: str
    work: Path
    env: dict[str, str]

    def extra_replica(self, name: str) -> Replica:
        """Another replica on the same database, of one test's own (a fresh process: no cache loaded yet;
        stopped with the others at the end)."""
        self.replicas[name] = _start(name, self.work, self.env)
        return self.replicas[name]


class Browser(requests.Session):
    """A browser behind the TLS proxy (plain HTTP to gunicorn, X-Forwarded-Proto: https); Secure cookies,
    which requests keeps for https only, are sent by hand as the browser would."""

    def __init__(self) -> None:
        super().__init__()
        self.headers.update({"Host": HOST, "X-Forwarded-Proto": "https"})

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.cookies)
        if cookies:
            kwargs["headers"] = {**dict(kwargs.get("headers") or {}), "Cookie": cookies}
        kwargs.setdefault("timeout", 30)
        kwargs["allow_redirects"] = False  # every answer as it is (Session.get would follow redirects)
        return super().request(method, url, *args, **kwargs)

    def post_form(self, base: str, path: str, data: dict[str, str]) -> requests.Response:
        """GET the page's form, then POST ``data`` with its CSRF token, as the browser would."""
        page = self.get(f"{base}{path}")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token is not None, page.text[-2000:]
        headers = {"Referer": f"https://{HOST}{path}", "Origin": f"https://{HOST}"}
        return self.post(f"{base}{path}", data={**data, "csrfmiddlewaretoken": token[1]}, headers=headers)

    def log_in(self, base: str, username: str) -> None:
        done = self.post_form(base, "/login/", {"username": username, "password": PASSWORD})
        assert done.status_code == 302, done.text[-2000:]


def _environment(work: Path, sandbox: Sandbox, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CONSOLE_", "KUBE"))}
    return {
        **env,
        "CONSOLE_ENV": "production",
        "DJANGO_SECRET_KEY": "one-key-for-every-replica-" + "k3y" * 20,
        "DJANGO_ALLOWED_HOSTS": f"{HOST},127.0.0.1",
        "DJANGO_CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
        "DATABASE_URL": database_url,
        "CONSOLE_KUBECONFIG": str(sandbox.kubeconfig),
        "CONSOLE_METRICS_TOKEN": TOKEN,
        "CONSOLE_LOG_FORMAT": "json",
        "CONSOLE_TIMELINE_RECORDING": "true",
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
    }


def _start(name: str, work: Path, env: dict[str, str]) -> Replica:
    port = free_port()
    log = work / f"{name}.log"
    pod_tmp = work / f"{name}-tmp"
    pod_tmp.mkdir(exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py", "console.wsgi:application"],
        cwd=ROOT,
        # Each replica a pod of its own: its own temp folder, so its own shared watch cache (console/sharedcache.py).
        env={**env, "PORT": str(port), "TMPDIR": str(pod_tmp)},
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),  # noqa: SIM115 - gunicorn writes to it until it stops
        preexec_fn=_die_with_parent,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:  # up as the startup probe sees it
        try:
            if requests.get(f"{base}/healthz", timeout=10).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "gunicorn did not start"
        time.sleep(0.2)
    return Replica(name, base, process, log)


@pytest.fixture(scope="module")
def deployment(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Replicas a and b on one database, the users ops (superuser) and viewer (no role), a namespace."""
    work = tmp_path_factory.mktemp("replicas")
    sandbox = Sandbox.create(crds="2.2", prefix="emqx-sandbox-replicas-").start()
    replicas: dict[str, Replica] = {}
    try:
        url = new_database(postgres, "replicas")
        env = _environment(work, sandbox, url)
        users = (
            "from django.contrib.auth.models import User; print(User.objects.create_user('viewer', password='%s').pk)"
        )
        for command in (
            ["migrate", "--noinput"],  # the chart's migration Job
            ["createsuperuser", "--noinput", "--username=ops", "--email=ops@example.com"],
            ["shell", "-c", users % PASSWORD],
        ):
            done = subprocess.run(
                [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True
            )
            assert done.returncode == 0, done.stderr[-3000:]
        viewer_id = done.stdout.strip().splitlines()[-1]
        for name in ("a", "b"):
            replicas[name] = _start(name, work, env)
        sandbox.create_namespace("replicas")
        yield Deployment(sandbox, url, replicas, "replicas", viewer_id, work, env)
    finally:
        for replica in replicas.values():
            replica.stop()
        sandbox.destroy()


def test_readyz_answers_503_while_the_caches_load_then_200(deployment: Deployment) -> None:
    for replica in (deployment.extra_replica("fresh-1"), deployment.extra_replica("fresh-2")):
        first = requests.get(f"{replica.base}/readyz", timeout=10)  # no page has started a cache yet
        assert (first.status_code, first.text) == (503, "unavailable\n")
        eventually(lambda r=replica: requests.get(f"{r.base}/readyz", timeout=10).status_code == 200, 30)
        assert requests.get(f"{replica.base}/readyz", timeout=10).text == "ok\n"  # a status word, no more


def test_a_session_made_on_one_replica_is_valid_on_the_other(deployment: Deployment) -> None:
    a, b = deployment.replicas["a"], deployment.replicas["b"]
    browser = Browser()
    browser.log_in(a.base, "ops")
    assert browser.get(f"{b.base}/clusters/default/").status_code == 200
    assert Browser().get(f"{b.base}/clusters/default/").status_code == 302  # and it takes a session to get in


def test_a_grant_given_or_withdrawn_on_one_replica_applies_on_the_others_next_request(deployment: Deployment) -> None:
    a, b = deployment.replicas["a"], deployment.replicas["b"]
    viewer, admin = Browser(), Browser()
    viewer.log_in(b.base, "viewer")
    admin.log_in(a.base, "ops")
    with Clientset.from_kubeconfig(deployment.sandbox.kubeconfig) as cs:
        cs.apps_v2beta1.emqxes(deployment.namespace).create(factories.emqx("granted", namespace=deployment.namespace))
    page = f"{b.base}/clusters/default/emqx/{deployment.namespace}/granted/"
    assert viewer.get(page).status_code == 404  # no role there: what is in the namespace does not show
    grant = {"user": deployment.viewer_id, "role": "viewer", "cluster": "*", "namespace": deployment.namespace}
    saved = admin.post_form(a.base, "/admin/console/rolegrant/add/", {**grant, "_continue": "1"})
    assert saved.status_code == 302, saved.text[-2000:]
    assert viewer.get(page).status_code == 200  # console/permissions.py: grants are read on every request
    grant_id = re.search(r"/admin/console/rolegrant/(\d+)/change/", saved.headers["Location"])
    assert grant_id is not None, saved.headers["Location"]
    deleted = admin.post_form(a.base, f"/admin/console/rolegrant/{grant_id[1]}/delete/", {"post": "yes"})
    assert deleted.status_code == 302, deleted.text[-2000:]
    poll = viewer.get(page + "_status", headers={"HX-Request": "true"})
    assert poll.status_code == 286 and "your access was withdrawn" in poll.text


def test_a_log_out_on_one_replica_ends_the_session_at_the_next_poll_on_the_other(deployment: Deployment) -> None:
    a, b = deployment.replicas["a"], deployment.replicas["b"]
    browser = Browser()
    browser.log_in(a.base, "ops")
    assert browser.get(f"{b.base}/clusters/default/").status_code == 200
    page = browser.get(f"{a.base}/clusters/default/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None, page.text[-2000:]
    headers = {"Referer": f"https://{HOST}/clusters/default/", "Origin": f"https://{HOST}"}
    out = browser.post(f"{a.base}/logout/", data={"csrfmiddlewaretoken": token[1]}, headers=headers)
    assert out.status_code == 302, out.text[-2000:]
    poll = browser.get(f"{b.base}/dashboard/_dashboard", headers={"HX-Request": "true"})
    assert poll.headers.get("HX-Redirect", "").startswith("/login/"), (poll.status_code, poll.headers)


def _transitions(deployment: Deployment, uid: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(deployment.database_url.replace("postgres://", "postgresql://")) as conn:
        rows = conn.execute(
            "SELECT condition_type, change, reason FROM console_conditiontransition WHERE uid = %s ORDER BY id", [uid]
        ).fetchall()
    return [tuple(row) for row in rows]


def test_a_condition_change_seen_by_both_replicas_is_recorded_once(deployment: Deployment) -> None:
    import datetime as dt

    with Clientset.from_kubeconfig(deployment.sandbox.kubeconfig) as cs:
        client = cs.apps_v2beta1.emqxes(deployment.namespace)
        made = client.create(factories.emqx("seen-twice", namespace=deployment.namespace))
        admin = Browser()
        admin.log_in(deployment.replicas["a"].base, "ops")
        status = f"/clusters/default/emqx/{deployment.namespace}/seen-twice/_status"
        both = [deployment.replicas["a"], deployment.replicas["b"]]  # not the other tests' own replicas
        for replica in both:  # both replicas watch it
            eventually(lambda r=replica: admin.get(f"{r.base}{status}").status_code == 200, 15)
        write_emqx_status(client, "seen-twice", [("Ready", "SeenByBoth", dt.datetime.now(dt.UTC))])
    for replica in both:
        eventually(lambda r=replica: "SeenByBoth" in admin.get(f"{r.base}{status}").text, 15)
    uid = made.metadata.uid or ""
    eventually(lambda: ("Ready", "set", "SeenByBoth") in _transitions(deployment, uid), 15)
    time.sleep(1.0)  # both recorders have had their chance to write the row
    assert _transitions(deployment, uid).count(("Ready", "set", "SeenByBoth")) == 1


def _metric(replica: Replica, name: str, **labels: str) -> float:
    text = requests.get(f"{replica.base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if (
            line.startswith(f"{name}{{")
            and ",".join(sorted(line[line.index("{") + 1 : line.index("}")].split(","))) == wanted
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_a_watch_restart_caused_by_an_outage(deployment: Deployment) -> None:
    a = deployment.replicas["a"]
    assert requests.get(f"{a.base}/metrics", timeout=10).status_code == 401  # the bearer token is required
    admin = Browser()  # a page starts the cache, whichever test came first
    admin.log_in(a.base, "ops")
    assert admin.get(f"{a.base}/clusters/default/emqx/").status_code == 200
    eventually(lambda: _metric(a, "emqx_console_cache_synced", cluster="default", kind="EMQX") == 1.0, 30)
    before = _metric(a, "emqx_console_watch_restarts_total", cluster="default", kind="EMQX")

    def refused() -> float:  # requests with no answer (code 0): the watch's reconnect, or a re-list
        return sum(
            _metric(a, "emqx_console_api_requests_total", cluster="default", verb=verb, code="0")
            for verb in ("GET", "WATCH")
        )

    with deployment.sandbox.outage():
        eventually(lambda: _metric(a, "emqx_console_cache_healthy", cluster="default", kind="EMQX") == 0.0, 30)
        eventually(lambda: refused() >= 1, 30)  # the informer retries while the cluster is away
    assert _metric(a, "emqx_console_watch_restarts_total", cluster="default", kind="EMQX") > before
    eventually(lambda: _metric(a, "emqx_console_cache_healthy", cluster="default", kind="EMQX") == 1.0, 60)
    assert _metric(a, "emqx_console_api_requests_total", cluster="default", verb="WATCH", code="200") >= 1
    text = requests.get(f"{a.base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text
    assert "django_http_requests_latency_seconds_by_view_method_bucket{" in text  # request latency by view


def test_an_audited_write_on_one_replica_is_in_the_audit_of_the_other_and_its_log(deployment: Deployment) -> None:
    a, b = deployment.replicas["a"], deployment.replicas["b"]
    admin = Browser()
    admin.log_in(a.base, "ops")
    values = {**emqx_add_values(), NAME: "audited", NAMESPACE: deployment.namespace, IMAGE: "emqx/emqx:5.8.6"}
    added = admin.post_form(a.base, "/clusters/default/emqx/add/", emqx_form_data(values))
    assert added.status_code == 302, added.text[-2000:]
    request_id = added.headers["X-Request-ID"]
    audit = admin.get(f"{b.base}/audit/", params={"format": "json"})
    assert audit.status_code == 200 and "audited" in audit.text
    records = [json.loads(line) for line in a.log.read_text().splitlines() if line.startswith("{")]
    (request,) = [r for r in records if r.get("logger") == "console.requests" and r.get("request_id") == request_id]
    assert (request["user"], request["cluster"], request["status"], request["outcome"]) == ("ops", "default", 302, "ok")
    audited = [
        r["outcome"] for r in records if r.get("logger") == "console.audit" and r.get("request_id") == request_id
    ]
    assert audited == ["attempted", "success"]


def test_a_replica_stopping_breaks_no_session(deployment: Deployment) -> None:
    a, b = deployment.extra_replica("stopping"), deployment.replicas["b"]  # a and b stay up for the other tests
    browser = Browser()
    browser.log_in(a.base, "ops")
    a.stop()
    assert browser.get(f"{b.base}/clusters/default/").status_code == 200
    eventually(lambda: requests.get(f"{b.base}/readyz", timeout=10).status_code == 200, 30)  # its caches loaded
