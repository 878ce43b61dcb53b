"""EMQXAPIKey ``apps.emqx.io/v3beta1`` (operator 3.0): a minimal controller, the simulator's own.

Source: ``OPERATOR-STATUS.md``, "EMQXAPIKey v3beta1" (PR #1194 at ``2811aed2``). Upstream's
controller is a scaffold: it gets the object and writes nothing, and the CRD defines no
condition type. What the finished controller will write is unknown, so the simulator decides a
small behaviour that follows the CRD's own descriptions ("SecretRef references the Secret where
the generated API key and secret are stored. The referenced Secret is created in the same
namespace as this API key") and the usual ``metav1.Condition`` conventions:

* The EMQX ``spec.emqxRef.name`` (same namespace, ``v3beta1``) must exist and be Ready
  (its ``Ready`` condition True), since a key is registered through EMQX's API. Otherwise
  ``Ready`` False ``EMQXNotFound`` / ``EMQXNotReady``, and no Secret is created yet.
* Then the Secret ``spec.secretRef.name`` is created if missing: type Opaque, data ``key`` and
  ``secret`` (random), labels ``apps.emqx.io/instance`` / ``apps.emqx.io/managed-by``, an
  ownerReference to the EMQXAPIKey (controller, blockOwnerDeletion), and a Normal Event
  ``SecretCreated``. An existing Secret is never changed: if this key created it (its
  ownerReference), ``Ready`` True ``SecretCreated``; a Secret the key does not own is taken as
  the user's own key and secret: ``Ready`` True ``SecretExists``.
* ``Ready`` goes through the standard setter (in place, ``lastTransitionTime`` on a status flip,
  ``observedGeneration`` = ``metadata.generation``). The key is looked at again after the pace
  until it is Ready, then every resync (the EMQX it waits for is not watched by this controller).

``spec.role``, ``spec.expiresAt`` and ``spec.description`` change nothing that can be seen.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from emqx.discovery import GROUP
from emqx.errors import AlreadyExists, NotFound
from emqx.models.apps_v3beta1 import EMQXAPIKey
from emqx.rest import api_path
from sandbox.operator.base import Controller, EventSpec, Outcome, StatusChange
from sandbox.operator.emqx_world import set_standard
from sandbox.operator.recorder import COMPONENT

if TYPE_CHECKING:
    from sandbox.operator.simulator import Simulator

__all__ = ["READY", "SECRET_KEYS", "ApiKeyController"]

log = logging.getLogger(__name__)

READY = "Ready"
"""The one condition type the simulated controller writes."""

SECRET_KEYS = ("key", "secret")
"""The data keys of the Secret the controller creates."""


class ApiKeyController(Controller):
    """EMQXAPIKey v3beta1, as the module docstring describes (a decision of the simulator:
    upstream's controller writes nothing yet)."""

    kind = "EMQXAPIKey"
    model = EMQXAPIKey

    def reconcile(self, sim: Simulator, raw: dict[str, Any], *, advance: bool) -> Outcome:
        """One reconcile of an EMQXAPIKey (the simulator's decided behaviour, module docstring)."""
        meta = raw.get("metadata") or {}
        namespace, name = str(meta.get("namespace")), str(meta.get("name"))
        spec = raw.get("spec")
        emqx_name = _ref(spec, "emqxRef")
        secret_name = _ref(spec, "secretRef")
        if emqx_name is None or secret_name is None:  # the schema requires both: not expected
            log.warning("skipping EMQXAPIKey %s/%s: no emqxRef or secretRef", namespace, name)
            return Outcome(settled=True)
        emqx = sim.get_optional(api_path(GROUP, "v3beta1", "emqxes", namespace=namespace), namespace, emqx_name)
        events: list[EventSpec] = []
        if emqx is None:
            verdict = ("False", "EMQXNotFound", f"EMQX {emqx_name} does not exist in namespace {namespace}")
        elif not _is_ready(emqx):
            verdict = ("False", "EMQXNotReady", f"EMQX {emqx_name} is not ready")
        else:
            secrets_path = f"/api/v1/namespaces/{namespace}/secrets"
            secret = sim.get_optional(secrets_path, namespace, secret_name)
            if secret is None:
                created = self._create_secret(sim, raw, secrets_path, secret_name, emqx_name)
                if created:
                    events.append(("Normal", "SecretCreated", f"Created Secret {secret_name} with the API key"))
                owned = True
            else:
                owned = _owned_by(secret, str(meta.get("uid")))
            if owned:
                verdict = ("True", "SecretCreated", f"The API key and its secret are in Secret {secret_name}")
            else:
                verdict = ("True", "SecretExists", f"Secret {secret_name} already exists; its key and secret are used")

        def compute(current: dict[str, Any]) -> StatusChange:
            generation = int((current.get("metadata") or {}).get("generation") or 0)
            conditions = [dict(c) for c in (current.get("status") or {}).get("conditions") or []]
            set_standard(conditions, READY, *verdict, generation)
            status = dict(current.get("status") or {})
            status["conditions"] = conditions
            return StatusChange(status)

        sim.write_status(self, raw, compute)
        for event in events:
            sim.recorder.event(raw, *event)
        return Outcome(settled=verdict[0] == "True")

    @staticmethod
    def _create_secret(sim: Simulator, key: Mapping[str, Any], path: str, secret_name: str, emqx_name: str) -> bool:
        """Create the Secret (random key and secret); False if someone else just did."""
        meta = key.get("metadata") or {}
        data = {"key": secrets.token_hex(8), "secret": secrets.token_urlsafe(32)}
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": secret_name,
                "namespace": meta.get("namespace"),
                "labels": {"apps.emqx.io/instance": emqx_name, "apps.emqx.io/managed-by": "emqx-operator"},
                "ownerReferences": [
                    {
                        "apiVersion": f"{GROUP}/v3beta1",
                        "kind": "EMQXAPIKey",
                        "name": meta.get("name"),
                        "uid": meta.get("uid"),
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "type": "Opaque",
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        }
        try:
            sim.clientset.transport.request("POST", path, query=[("fieldManager", COMPONENT)], body=body)
        except AlreadyExists:
            return False
        except NotFound:  # the namespace is going away
            return False
        return True


def _ref(spec: Any, key: str) -> str | None:
    ref = spec.get(key) if isinstance(spec, Mapping) else None
    name = ref.get("name") if isinstance(ref, Mapping) else None
    return str(name) if name else None


def _is_ready(emqx: Mapping[str, Any]) -> bool:
    conditions = (emqx.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _owned_by(secret: Mapping[str, Any], uid: str) -> bool:
    refs = (secret.get("metadata") or {}).get("ownerReferences") or []
    return any(isinstance(r, Mapping) and r.get("uid") == uid for r in refs)
