"""Field case 07 (tests/fieldcases/07-stale-ready-flapping): after a spec edit (generation 2) the
only True condition is a Ready observed for generation 1, with timestamps spelled as a non-Go
writer sends them (nanoseconds, a +02:00 offset, lower-case ``t``/``z``); then the first condition
flips between CoreNodesProgressing and Ready, as the flapping readiness gate of
emqx/emqx-operator#1036 did (also #998, kubernetes-client/python-base#149).

The status poll goes on while only a stale Ready exists and the page says it waits for the
operator; the dashboards do not count a stale Ready as ready; during the flapping every page
answers, the poll stops (286) on each Ready for the current spec and only then, and the timeline
lists the flips in the order they happened; every timestamp spelling is read."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client

from console import clusters
from console.models import ConditionTransition
from console.registry import PROGRESSING, READY, site
from console.summaries import parse_time
from console.timeline import RECORDER
from emqx.client.clientset import Clientset
from sandbox import Sandbox
from tests.support import eventually

# The timeline's recorder writes from its own thread: the test's transaction must not hold the database.
pytestmark = pytest.mark.django_db(transaction=True)

CASE = Path(__file__).resolve().parents[1] / "fieldcases" / "07-stale-ready-flapping"
NAME = "emqx5"
FLIPS = 12  # as flap.sh: 12 writes, CoreNodesProgressing first, Ready last
PLUS_TWO = dt.timezone(dt.timedelta(hours=2))


@pytest.fixture
def console(settings: Any, sandbox: Sandbox, admin_client: Client) -> Iterator[Client]:
    """The console on the sandbox, recording the timeline, logged in as an admin."""
    settings.CONSOLE_TIMELINE_RECORDING = True
    settings.CONSOLE_CLUSTERS = [{"name": "default", "kubeconfig": str(sandbox.kubeconfig)}]
    RECORDER.forget_all()
    yield admin_client
    clusters.reset()
    assert RECORDER.flush()


def _put_status(sandbox: Sandbox, namespace: str, status: dict[str, Any]) -> None:
    """Replace the status through the status subresource, as the operator does, with the
    timestamps spelled exactly as given (no client model in between to rewrite them)."""
    path = f"/apis/apps.emqx.io/v2beta1/namespaces/{namespace}/emqxes/{NAME}"
    code, doc = sandbox.request("GET", path)
    assert code == 200, doc
    code, answer = sandbox.request("PUT", f"{path}/status", {**doc, "status": status})
    assert code == 200, answer


@pytest.fixture
def stale(kubectl: Any, sandbox: Sandbox, namespace: str, console: Client) -> int:
    """The case's step 1: applied, edited once (generation 2), then the stale Ready written.
    Returns the generation."""
    for args in (
        ("apply", "-n", namespace, "-f", str(CASE / "input.yaml")),
        (
            "patch",
            "emqx",
            NAME,
            "-n",
            namespace,
            "--type=merge",
            "-p",
            '{"spec":{"coreTemplate":{"spec":{"replicas":2}}}}',
        ),
    ):
        result = kubectl(*args)
        assert result.returncode == 0, result.stderr
    _put_status(sandbox, namespace, yaml.safe_load((CASE / "status-ready-stale.yaml").read_text())["status"])
    _, doc = sandbox.request("GET", f"/apis/apps.emqx.io/v2beta1/namespaces/{namespace}/emqxes/{NAME}")
    generation: int = doc["metadata"]["generation"]
    assert generation == 2
    # The API server keeps the spellings: the console reads them as written.
    assert doc["status"]["conditions"][1]["lastTransitionTime"] == "2024-04-09t08:14:40.5z"
    return generation


def _url(namespace: str, page: str = "") -> str:
    return f"/clusters/default/emqx/{namespace}/{NAME}/{page}"


def _poll(client: Client, namespace: str) -> Any:
    return client.get(_url(namespace, "_status"), HTTP_HX_REQUEST="true")


def test_a_stale_ready_keeps_the_poll_going_and_says_it_waits_for_the_operator(
    console: Client, stale: int, namespace: str, clientset: Clientset
) -> None:
    eventually(lambda: b"ClusterReady" in _poll(console, namespace).content)
    poll = _poll(console, namespace)
    assert poll.status_code == 200  # not 286: that Ready is about generation 1
    for page in (poll.content.decode(), console.get(_url(namespace)).content.decode()):
        assert "Waiting for the operator to act on the latest change (generation 2)" in page
        assert "last observed at generation 1; the spec is at 2" in page
        # Both odd spellings are read: each condition has its age and exact time.
        since = dict(re.findall(r'<tr class="condition" data-type="(\w+)">.*?<span title="([^"]+)">', page, re.S))
        # The same instants, shown in the console's time zone (UTC).
        assert since == {
            "Ready": "2024-04-09T08:15:02.123456+00:00",
            "CoreNodesProgressing": "2024-04-09T08:14:40.500000+00:00",
        }
        ages = re.findall(r'<span title="[^"]+">([^<]*) ago</span>', page)
        assert len(ages) == 2 and all("year" in age for age in ages), ages  # none negative, none "0 minutes"
    emqx = site.for_kind("EMQX")
    health = emqx.health(emqx.summarize(clientset.apps_v2beta1.emqxes(namespace).get(NAME)), seen_ready=False)
    assert health.state == PROGRESSING and health.why == "waiting for the operator to act on generation 2"
    dashboard = console.get("/clusters/default/").content.decode()
    assert f'data-instance="default/{namespace}/{NAME}" data-state="{PROGRESSING}"' in dashboard


def _recorded(namespace: str, message: str) -> bool:
    """The timeline's recorder has written the change that made the condition with ``message`` current."""
    assert RECORDER.flush()
    found = ConditionTransition.objects.filter(namespace=namespace, name=NAME, message=message, current=True)
    return found.exists()


def _spelled(i: int, when: dt.datetime) -> str:
    """Valid RFC 3339 timestamps in turn: nanoseconds (flap.sh's `date +%N`), an offset, lower case."""
    if i % 3 == 0:
        return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
    if i % 3 == 1:
        return when.astimezone(PLUS_TWO).isoformat()
    return when.strftime("%Y-%m-%dt%H:%M:%S.%fz")


def _phases(page: str) -> list[tuple[str, str]]:
    """(condition, message) of each phase on the timeline page, oldest first."""
    rows = re.findall(r'<tr data-phase="(\w+)".*?</tr>', page, re.S)
    reasons = re.findall(
        r'<tr data-phase="\w+".*?(?:<td>.*?</td>\s*){4}<td>[^<]*<span class="muted">([^<]*)</span>', page, re.S
    )
    assert len(rows) == len(reasons)
    return [(phase, html_lib.unescape(message)) for phase, message in reversed(list(zip(rows, reasons, strict=True)))]


def test_flapping_conditions_are_followed_live_and_listed_in_order_on_the_timeline(
    console: Client, stale: int, namespace: str, sandbox: Sandbox, clientset: Clientset
) -> None:
    eventually(lambda: b"ClusterReady" in _poll(console, namespace).content)
    # The recorder has noted the status as the console found it (its first look runs on a thread of
    # its own), so the flips below are changes of it.
    RECORDER.scan_now()
    eventually(lambda: _recorded(namespace, "Cluster is ready"))
    answers = []
    for i in range(FLIPS):
        first = "CoreNodesProgressing" if i % 2 == 0 else "Ready"
        condition = {
            "type": first,
            "status": "True",
            "reason": first,
            "message": f"flap {i}",
            "observedGeneration": stale,
            "lastTransitionTime": _spelled(i, dt.datetime.now(dt.UTC)),
        }
        _put_status(sandbox, namespace, {"conditions": [condition]})  # a merge patch replaces the list: the same
        eventually(lambda i=i: f"flap {i}<".encode() in _poll(console, namespace).content)
        eventually(lambda i=i: _recorded(namespace, f"flap {i}"))  # the cache shows it before its listeners run
        answers.append(_poll(console, namespace).status_code)
        assert console.get(_url(namespace)).status_code == 200
        assert console.get(_url(namespace, "timeline/")).status_code == 200
    # Polling stops on a Ready for the current spec (generation 2), and goes on after each fall back.
    assert answers == [200, 286] * (FLIPS // 2)
    emqx = site.for_kind("EMQX")
    summary = emqx.summarize(clientset.apps_v2beta1.emqxes(namespace).get(NAME))
    assert summary.settled and emqx.health(summary, seen_ready=True).state == READY

    assert RECORDER.flush()
    phases = _phases(console.get(_url(namespace, "timeline/")).content.decode())
    flips = [("CoreNodesProgressing" if i % 2 == 0 else "Ready", f"flap {i}") for i in range(FLIPS)]
    assert phases == [("Ready", "Cluster is ready"), *flips]


@pytest.mark.parametrize(
    "text",
    [
        "2024-04-09T08:14:40.5Z",
        "2024-04-09t08:14:40.5z",
        "2024-04-09T10:14:40.500000000+02:00",
        "2024-04-09T08:14:40.500000123Z",
        "2024-04-09T03:44:40.5-04:30",
    ],
)
def test_the_console_time_parser_reads_every_rfc3339_spelling(text: str) -> None:
    # The one parser of status times the console has, for text that no model parsed first.
    assert parse_time(text) == dt.datetime(2024, 4, 9, 8, 14, 40, 500000, tzinfo=dt.UTC)
