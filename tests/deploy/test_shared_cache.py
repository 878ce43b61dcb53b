"""One pod's gunicorn with three workers sharing one watch cache (console/sharedcache.py), as the image runs it
(deploy/gunicorn.conf.py), on a sandbox of this module's own (nothing else watches its EMQX objects).

Which worker answered comes from the console's JSON request log (``pid``); which one writes the cache from its
"is the writer" record."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from emqx.client.clientset import Clientset
from emqx.models.apps_v2beta1 import EMQX
from emqx.store import SqliteStore
from sandbox import Sandbox
from sandbox.cluster import _die_with_parent, free_port
from tests import factories
from tests.deploy.conftest import ROOT
from tests.support import eventually, write_emqx_status

WORKERS = 3
PASSWORD = "a-shared-cache-password-0451"
RESOURCES = ("emqxes", "rebalances", "emqxbrokers", "emqxenterprises")
FRESHNESS_S = 0.1
"""Issue 18's freshness target: a change shows on the first poll made this long after the write."""


@dataclass
class Pod:
    sandbox: Sandbox
    base: str
    process: subprocess.Popen[bytes]
    log: Path
    namespace: str
    env: dict[str, str]

    def restart(self) -> None:
        """Stop gunicorn (SIGTERM, as the kubelet) and start it again on the same directory: a restarted
        container of the same pod, whose emptyDir keeps the shared cache's file."""
        self.process.terminate()
        self.process.wait(30)
        self.process, self.base = _start_gunicorn(self.env, self.log)

    def records(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue
        return found

    def writers(self) -> list[int]:
        """The pids that became the writer, in order."""
        return [int(r["pid"]) for r in self.records() if "is the writer" in str(r.get("message", ""))]

    def workers(self) -> list[int]:
        """gunicorn's worker processes (the master's children) alive now."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def served_by(self, path: str) -> set[int]:
        return {int(r["pid"]) for r in self.records() if r.get("logger") == "console.requests" and r["path"] == path}


class Browser(requests.Session):
    """A browser that opens a connection per request (``Connection: close``), so that every worker gets some:
    gunicorn keeps a kept-alive connection with the worker that accepted it."""

    def __init__(self) -> None:
        super().__init__()
        self.headers["Connection"] = "close"

    def log_in(self, base: str) -> None:
        page = self.get(f"{base}/login/", timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token is not None
        done = self.post(
            f"{base}/login/",
            data={"username": "ops", "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
            headers={"Referer": f"{base}/login/"},
            allow_redirects=False,
            timeout=30,
        )
        assert done.status_code == 302, done.text[-2000:]


def _start_gunicorn(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn as the image runs it, on a free port, once /readyz answers 200; (the process, its base URL)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py", "console.wsgi:application"],
        cwd=ROOT,
        env={**env, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=open(log, "ab"),  # noqa: SIM115 - gunicorn writes to it until it stops
        preexec_fn=_die_with_parent,
    )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            return requests.get(f"{base}/readyz", timeout=10).status_code == 200
        except requests.RequestException:
            return False

    eventually(ready, 90, message="the pod never became ready")
    return process, base


@pytest.fixture(scope="module")
def pod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pod]:
    work = tmp_path_factory.mktemp("pod")
    sandbox = Sandbox.create(crds="2.2", prefix="emqx-sandbox-shared-").start()
    pod: Pod | None = None
    try:
        sandbox.create_namespace("shared")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CONSOLE_", "KUBE"))}
        env |= {
            "CONSOLE_SQLITE_PATH": str(work / "db.sqlite3"),
            "CONSOLE_KUBECONFIG": str(sandbox.kubeconfig),
            "CONSOLE_LOG_FORMAT": "json",
            "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
            "WEB_CONCURRENCY": str(WORKERS),
            "GUNICORN_THREADS": "2",
            "TMPDIR": str(work),
        }
        for command in (["migrate", "--noinput"], ["createsuperuser", "--noinput", "--username=ops", "--email=o@x.io"]):
            done = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True)
            assert done.returncode == 0, done.stderr[-3000:]
        log = work / "gunicorn.log"
        process, base = _start_gunicorn(env, log)
        pod = Pod(sandbox, base, process, log, "shared", env)
        yield pod
    finally:
        if pod is not None and pod.process.poll() is None:
            pod.process.terminate()
            pod.process.wait(30)
        sandbox.destroy()


def _open_watches(sandbox: Sandbox, resource: str) -> int:
    """How many WATCH requests of ``resource`` are open on the API server now, by its own gauge."""
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in sandbox.metrics().splitlines()
        if line.startswith("apiserver_longrunning_requests{")
        and f'resource="{resource}"' in line
        and 'verb="WATCH"' in line
    )


def _lists(sandbox: Sandbox, resource: str) -> int:
    """How many LIST requests of ``resource`` the API server has served so far, by its own count."""
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in sandbox.metrics().splitlines()
        if line.startswith("apiserver_request_total{") and f'resource="{resource}"' in line and 'verb="LIST"' in line
    )


def _relists(pod: Pod) -> int:
    """How many times the pod's writers listed the EMQX kind again after the first, as the shared file says."""
    reader = SqliteStore.reader(Path(pod.env["TMPDIR"]) / "console-cache" / "cache.sqlite3", "default", "EMQX", EMQX)
    try:
        state = reader.state()
        assert state is not None and state.synced
        return state.relists
    finally:
        reader.close()


def _spread(pod: Pod, browser: Browser, paths: list[str]) -> None:
    """Ask for every page of ``paths`` until each of the pod's workers has answered at least one of them."""
    workers = set(pod.workers())
    deadline = time.monotonic() + 60
    with ThreadPoolExecutor(6) as pool:
        while True:
            answers = list(pool.map(lambda p: browser.get(f"{pod.base}{p}", timeout=30), paths * 4))
            assert all(a.status_code == 200 for a in answers), [a.status_code for a in answers]
            served = set().union(*(pod.served_by(p) for p in paths))
            if workers <= served:
                return
            assert time.monotonic() < deadline, f"workers {workers - served} never answered"


def test_the_workers_of_a_pod_list_and_watch_each_kind_once(pod: Pod) -> None:
    browser = Browser()
    browser.log_in(pod.base)
    with Clientset.from_kubeconfig(pod.sandbox.kubeconfig) as cs:
        cs.apps_v2beta1.emqxes(pod.namespace).create(factories.emqx("counted", namespace=pod.namespace))
    paths = ["/clusters/default/emqx/", "/clusters/default/rebalances/", "/", "/clusters/default/"]
    lists = {resource: _lists(pod.sandbox, resource) for resource in RESOURCES}
    _spread(pod, browser, paths)
    assert len(pod.workers()) == WORKERS
    for resource in RESOURCES:
        assert _open_watches(pod.sandbox, resource) == 1, resource  # one writer's watch for three workers
        assert _lists(pod.sandbox, resource) == lists[resource], resource  # every page read the shared file
    page = browser.get(f"{pod.base}/clusters/default/emqx/?namespace={pod.namespace}", timeout=30)
    assert "counted" in page.text


def test_a_change_made_while_a_worker_is_busy_shows_on_every_workers_next_poll(pod: Pod) -> None:
    browser = Browser()
    browser.log_in(pod.base)
    path = f"/clusters/default/emqx/{pod.namespace}/fresh/"
    with Clientset.from_kubeconfig(pod.sandbox.kubeconfig) as cs:
        emqxes = cs.apps_v2beta1.emqxes(pod.namespace)
        emqxes.create(factories.emqx("fresh", namespace=pod.namespace, image="emqx/emqx:5.8.5"))
        eventually(lambda: "emqx/emqx:5.8.5" in browser.get(f"{pod.base}{path}", timeout=30).text)
        (writer,) = [pid for pid in pod.writers() if pid in pod.workers()]
        busy = next(pid for pid in pod.workers() if pid != writer)
        os.kill(busy, signal.SIGSTOP)  # busy: it answers nothing until it is let go
        try:
            obj = emqxes.get("fresh")
            assert obj.spec is not None
            obj.spec.image = "emqx/emqx:5.8.6"
            emqxes.update(obj)
            time.sleep(FRESHNESS_S)
        finally:
            os.kill(busy, signal.SIGCONT)
    before = {pid: len([r for r in pod.records() if r.get("path") == path and r.get("pid") == pid]) for pid in [busy]}
    seen: dict[int, int] = {}
    deadline = time.monotonic() + 60
    with ThreadPoolExecutor(6) as pool:
        while set(pod.workers()) - set(seen):
            answers = list(pool.map(lambda _: browser.get(f"{pod.base}{path}", timeout=30), range(12)))
            # Every answer from now on, from every worker, shows the change: none shows the old image.
            assert all("emqx/emqx:5.8.6" in a.text and "emqx/emqx:5.8.5" not in a.text for a in answers)
            for pid in pod.served_by(path):
                seen[pid] = seen.get(pid, 0) + 1
            assert time.monotonic() < deadline, "a worker never answered"
    served_after = len([r for r in pod.records() if r.get("path") == path and r.get("pid") == busy])
    assert served_after > before[busy]  # the worker that was busy answered, with the change


def test_when_the_writer_dies_another_worker_takes_over_and_changes_keep_showing(pod: Pod) -> None:
    browser = Browser()
    browser.log_in(pod.base)
    (writer,) = [pid for pid in pod.writers() if pid in pod.workers()]
    os.kill(writer, signal.SIGKILL)
    eventually(lambda: any(pid != writer and pid in pod.workers() for pid in pod.writers()), 30)
    with Clientset.from_kubeconfig(pod.sandbox.kubeconfig) as cs:
        cs.apps_v2beta1.emqxes(pod.namespace).create(factories.emqx("after", namespace=pod.namespace))
    page = f"{pod.base}/clusters/default/emqx/{pod.namespace}/after/"
    eventually(lambda: browser.get(page, timeout=30).status_code == 200, 30, message="the new writer never stored it")
    assert _open_watches(pod.sandbox, "emqxes") == 1  # the new writer's; gunicorn's new worker only reads


def test_a_restarted_pod_resumes_from_its_file_without_listing_again(pod: Pod) -> None:
    with Clientset.from_kubeconfig(pod.sandbox.kubeconfig) as cs:
        cs.apps_v2beta1.emqxes(pod.namespace).create(factories.emqx("kept", namespace=pod.namespace))
        browser = Browser()
        browser.log_in(pod.base)
        page = f"/clusters/default/emqx/{pod.namespace}/kept/"
        eventually(lambda: browser.get(f"{pod.base}{page}", timeout=30).status_code == 200)
        lists, relists = _lists(pod.sandbox, "emqxes"), _relists(pod)
        pod.restart()
        cs.apps_v2beta1.emqxes(pod.namespace).patch("kept", {"spec": {"image": "emqx/emqx:5.8.7"}})
    browser = Browser()
    browser.log_in(pod.base)
    eventually(lambda: "emqx/emqx:5.8.7" in browser.get(f"{pod.base}{page}", timeout=30).text, 30)
    # The new writer resumed the watch from the file's resourceVersion: no relist, only its one-object probe LIST.
    assert _relists(pod) == relists
    assert _lists(pod.sandbox, "emqxes") <= lists + 1
    assert _open_watches(pod.sandbox, "emqxes") == 1


def test_an_instance_that_fell_back_from_ready_is_degraded_on_every_worker(pod: Pod) -> None:
    """ "Seen Ready at this generation" is the writer's timeline's memory (the events are its own): the other
    workers learn it from the database it records to (console.timeline.RECORDED_READY_S)."""
    browser = Browser()
    browser.log_in(pod.base)
    path = f"/clusters/default/emqx/{pod.namespace}/falls/"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with Clientset.from_kubeconfig(pod.sandbox.kubeconfig) as cs:
        client = cs.apps_v2beta1.emqxes(pod.namespace)
        client.create(factories.emqx("falls", namespace=pod.namespace))
        write_emqx_status(client, "falls", [("Ready", "Ready", now), ("Initialized", "Initialized", now)])
        eventually(lambda: 'class="state state-ok"' in browser.get(f"{pod.base}{path}", timeout=30).text, 30)
        later = now + dt.timedelta(seconds=5)  # the same generation: nothing in the spec changed
        write_emqx_status(
            client,
            "falls",
            [("CoreNodesProgressing", "CoreNodesProgressing", later), ("Initialized", "Initialized", now)],
        )
    workers = set(pod.workers())
    deadline = time.monotonic() + 60
    with ThreadPoolExecutor(6) as pool:
        while True:
            start = len(pod.records())
            answers = list(pool.map(lambda _: browser.get(f"{pod.base}{path}", timeout=30).text, range(12)))
            served = {int(r["pid"]) for r in pod.records()[start:] if r.get("path") == path}
            if all("fell back from Ready" in a for a in answers) and workers <= served:
                return
            assert time.monotonic() < deadline, "a worker never showed the instance as fallen back from Ready"
