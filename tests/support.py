"""Helpers the test packages share (fixtures are in the conftest.py files).

Plain functions, imported where they are used: waiting on state with a deadline, reading a
page's form as a browser would submit it, writing an EMQX status as the operator does.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from html.parser import HTMLParser
from typing import Any

from emqx.client.resource import ResourceClient
from emqx.models.apps_v2beta1 import EMQX


def eventually(
    check: Callable[[], object],
    timeout: float = 15.0,
    *,
    message: str = "the expected state did not appear in time",
) -> None:
    """Wait for what a user would eventually see; fails with the deadline, never sleeps blindly."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


class _FormInputs(HTMLParser):
    """The named inputs of one <form id=...> in a page: what a browser would submit."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        elif self.inside and tag == "input" and a.get("name"):
            self.fields[a["name"] or ""] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def form_inputs(html: str, form_id: str) -> dict[str, str]:
    """The named inputs of the <form id=form_id> in ``html`` and their values."""
    parser = _FormInputs(form_id)
    parser.feed(html)
    return parser.fields


def rfc3339(when: dt.datetime) -> str:
    """A timestamp as Kubernetes writes it: UTC, whole seconds."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_emqx_status(
    client: ResourceClient[EMQX], name: str, conditions: Iterable[tuple[str, str, dt.datetime]], **status: Any
) -> EMQX:
    """Write an EMQX status as the operator does: ``conditions`` as (type, reason,
    lastTransitionTime), newest first, all True, "<type> reached", at the object's generation;
    ``status`` adds other status fields as the API names them (coreNodes, coreNodesStatus)."""
    obj = client.get(name)
    doc = obj.to_dict()
    doc["status"] = {
        "conditions": [
            {
                "type": t,
                "status": "True",
                "reason": reason,
                "message": f"{t} reached",
                "lastTransitionTime": rfc3339(at),
                "observedGeneration": obj.metadata.generation,
            }
            for t, reason, at in conditions
        ],
        **status,
    }
    return client.update_status(EMQX.from_dict(doc))
