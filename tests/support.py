"""Helpers the test packages share (fixtures are in the conftest.py files).

Plain functions, imported where they are used: waiting on state with a deadline, reading a
page's form as a browser would submit it, the EMQX form's field names and POST data, writing an
EMQX status as the operator does.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterable, Mapping
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from emqx.client.resource import ResourceClient
from emqx.models.apps_v2beta1 import EMQX

if TYPE_CHECKING:
    from console.forms.schema import FormSpec


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
    """The named inputs of one <form id=...> in a page and their values; with ``browser``, every
    control as a browser submits it: inputs (checkboxes and radios only when checked, no
    buttons), textareas (their text, line breaks as LF) and selects (the selected option, else
    the first), disabled controls left out."""

    _NOT_SENT = frozenset({"submit", "button", "reset", "image", "file"})

    def __init__(self, form_id: str, *, browser: bool) -> None:
        super().__init__()
        self.form_id, self.inside, self.browser = form_id, False, browser
        self.fields: dict[str, str] = {}
        self.textarea: str | None = None
        self.text: list[str] = []
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []
        self.option: tuple[str, bool] | None = None
        self.option_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
            return
        if not self.inside:
            return
        name, disabled = a.get("name") or "", "disabled" in a
        kind = (a.get("type") or "text").lower()
        if not self.browser:
            if tag == "input" and name:
                self.fields[name] = a.get("value") or ""
        elif tag == "input" and name and not disabled and kind not in self._NOT_SENT:
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[name] = a.get("value") or "on"
            else:
                self.fields[name] = a.get("value") or ""
        elif tag == "textarea":
            self.textarea, self.text = (name if name and not disabled else ""), []
        elif tag == "select":
            self.select, self.options = (name if name and not disabled else ""), []
        elif tag == "option" and self.select is not None:
            self._end_option()
            self.option, self.option_text = (a.get("value"), "selected" in a), []  # type: ignore[assignment]

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text.append(data)
        elif self.option is not None:
            self.option_text.append(data)

    def _end_option(self) -> None:
        if self.option is not None:
            value, selected = self.option
            self.options.append((value if value is not None else "".join(self.option_text).strip(), selected))
            self.option = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self.textarea is not None:
            text = "".join(self.text)
            if self.textarea:
                self.fields[self.textarea] = text[1:] if text.startswith("\n") else text  # as HTML reads it
            self.textarea = None
        elif tag == "option":
            self._end_option()
        elif tag == "select" and self.select is not None:
            self._end_option()
            chosen = [value for value, selected in self.options if selected]
            if self.select and (chosen or self.options):
                self.fields[self.select] = chosen[-1] if chosen else self.options[0][0]
            self.select = None


def form_inputs(html: str, form_id: str) -> dict[str, str]:
    """The named inputs of the <form id=form_id> in ``html`` and their values (hidden ones
    included; no textareas or selects)."""
    parser = _FormInputs(form_id, browser=False)
    parser.feed(html)
    parser.close()
    return parser.fields


def form_data(html: str, form_id: str) -> dict[str, str]:
    """What a browser submits for the <form id=form_id> in ``html`` (no button pressed), line
    breaks as LF (a browser sends CRLF; the console reads both alike)."""
    parser = _FormInputs(form_id, browser=True)
    parser.feed(html)
    parser.close()
    return parser.fields


# ----- the EMQX form (console/kinds/emqx.py): its field names are JSON paths -----------------------

NAME = "metadata.name"
NAMESPACE = "metadata.namespace"
LABELS = "metadata.labels"
IMAGE = "spec.image"
CORE_REPLICAS = "spec.coreTemplate.spec.replicas"
REPLICANT_REPLICAS = "spec.replicantTemplate.spec.replicas"
CPU_REQUEST = "spec.coreTemplate.spec.resources.requests.cpu"
CPU_LIMIT = "spec.coreTemplate.spec.resources.limits.cpu"
MEMORY_REQUEST = "spec.coreTemplate.spec.resources.requests.memory"
MEMORY_LIMIT = "spec.coreTemplate.spec.resources.limits.memory"
CONFIG_DATA = "spec.config.data"
CONFIG_MODE = "spec.config.mode"
DASHBOARD_SERVICE_TYPE = "spec.dashboardServiceTemplate.spec.type"
LISTENERS_SERVICE_TYPE = "spec.listenersServiceTemplate.spec.type"


def emqx_form_spec() -> FormSpec:
    """The form of EMQX v2beta1, as the console builds it."""
    from console.kinds.emqx import _SPECS

    return _SPECS["v2beta1"]


def emqx_add_values(namespace: str = "") -> dict[str, Any]:
    """The add form's first values, by path: the schema's defaults, the suggested image."""
    from console.forms.schema import ResourceForm

    return dict(ResourceForm(spec=emqx_form_spec(), namespace=namespace).initial)


def emqx_form_data(values: Mapping[str, Any]) -> dict[str, str]:
    """EMQX form values (by path, in JSON types) as a browser posts the form showing them."""
    from console.forms.schema import values_as_data

    return values_as_data(emqx_form_spec(), values)


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


def emqx_reader_rbac(user: str) -> str:
    """A ClusterRole and its binding (YAML for ``kubectl apply -f -``) letting ``user`` get, list and
    watch every apps.emqx.io resource and nothing else: no CustomResourceDefinitions."""
    return f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {user}}}
rules:
- apiGroups: [apps.emqx.io]
  resources: ["*"]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: {user}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {user}}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}
"""


def row_cells(row: str) -> list[str]:
    """The text of each data cell of a table row's HTML (``<tr>…</tr>``), tags stripped, without the
    change list's checkbox cell (``td.action-checkbox``): the admin's columns, in order."""
    cells = re.findall(r'<td(?! class="action-checkbox")[^>]*>(.*?)</td>', row, re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]
