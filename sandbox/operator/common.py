"""Helpers shared by the simulated controllers: time stamps, hashes, fault annotations,
and the few facts about EMQX releases the simulated nodes report."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from emqx import images

__all__ = [
    "FAULTS",
    "FAULT_ANNOTATION",
    "PACE_ANNOTATION",
    "STATUS_MODELS",
    "STATUS_MODEL_ANNOTATION",
    "ImageInfo",
    "drop_empty",
    "faults_of",
    "image_info",
    "now_rfc3339",
    "pace_of",
    "stable_int",
    "stable_uid",
    "template_hash",
]

FAULT_ANNOTATION = "sim.emqx.io/fault"
"""Comma-separated faults to simulate on an object; remove the annotation to recover."""

PACE_ANNOTATION = "sim.emqx.io/pace"
"""Seconds per simulated pod step for this object (overrides the simulator's pace)."""

STATUS_MODEL_ANNOTATION = "sim.emqx.io/status-model"
"""Which of operator 2.3's two status models an EMQX ``v2`` gets (``A`` or ``B``; OPERATOR-STATUS.md,
"EMQX v2 status (operator 2.3)"), overriding the simulator's ``emqx_v2_model``."""

STATUS_MODELS = ("A", "B")
"""2.3's status models: ``A`` the state machine (``main-2.3``), ``B`` the independent conditions (late ``api/v2``)."""

FAULTS: dict[str, str] = {
    "core-node-down": "one running core node stops (for EmqxBroker/EmqxEnterprise: one node)",
    "replicant-node-down": "one running replicant node stops",
    "stuck-progressing": "new pods never become ready, so a rollout never finishes",
    "api-unavailable": "every EMQX API call fails (EMQX v3beta1, operator 3.0: EMQXAPIAvailable False RequestFailed)",
}

# k8s.io/apimachinery/pkg/util/rand.SafeEncodeString's alphabet: no vowels, no 0/1/3, so a
# hash never spells a word. Pod template hashes in real clusters look like this.
_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def now_rfc3339() -> str:
    """metav1.Time as the API server stores it: RFC 3339, whole seconds, UTC."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def template_hash(document: Any, length: int = 10) -> str:
    """A pod-template-hash-like string for a JSON document (same document, same hash)."""
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).digest()
    return "".join(_SAFE[b % len(_SAFE)] for b in digest[:length])


def stable_uid(*parts: str) -> str:
    """A UUID derived from ``parts``: the same simulated pod keeps the same uid."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "sim.emqx.io/" + "/".join(parts)))


def stable_int(text: str, low: int, high: int) -> int:
    """A number in [low, high] derived from ``text`` (simulated connection counts)."""
    digest = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
    return low + digest % (high - low + 1)


def drop_empty(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Go's ``omitempty``: the operator's status structs drop zero numbers and empty strings."""
    return {k: v for k, v in mapping.items() if v not in (None, "", 0, [], {})}


def faults_of(metadata: Mapping[str, Any]) -> frozenset[str]:
    """The faults an object's annotation asks for (unknown names are ignored)."""
    raw = ((metadata.get("annotations") or {}).get(FAULT_ANNOTATION)) or ""
    return frozenset(part.strip() for part in raw.split(",") if part.strip() in FAULTS)


def pace_of(metadata: Mapping[str, Any], default: float) -> float:
    """The object's own pace (annotation), else ``default``."""
    raw = (metadata.get("annotations") or {}).get(PACE_ANNOTATION)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What an EMQX node built from an image reports about itself."""

    image: str
    version: str
    edition: str  # "Enterprise" or "Opensource", as EMQX 5's /api/v5/nodes says
    otp_release: str


# The Erlang/OTP each EMQX line ships with (as /api/v5/nodes and /api/v4/nodes report it).
_OTP = {
    "4.3": "23.3.4.9-3/11.2.2.8",
    "4.4": "24.3.4.2-3/12.3.2.2",
    "5.6": "26.2.1-2/14.2.1",
    "5.7": "26.2.5-1/14.2.5",
    "5.8": "26.2.5-3/14.2.5",
}
_DEFAULT_VERSION = {5: "5.8.6", 4: "4.4.19"}


def image_info(image: str, *, major: int = 5, enterprise: bool | None = None) -> ImageInfo:
    """Version and edition of an EMQX image: ``emqx/emqx-enterprise:5.8.6``, ``emqx/emqx:5.7.2``,
    ``emqx/emqx-ee:4.4.19``. A tag that is not a version (``latest``) reports the newest
    release of the line."""
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:  # no tag at all ("registry:5000/emqx/emqx")
        repository, tag = image, ""
    version = tag.lstrip("ve")
    parts = version.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        version = _DEFAULT_VERSION[major]
        parts = version.split(".")
    if enterprise is None:
        enterprise = images.edition_of(image) == "Enterprise"
    otp = _OTP.get(".".join(parts[:2]), _OTP["5.8"] if major >= 5 else _OTP["4.4"])
    return ImageInfo(
        image=image, version=version, edition="Enterprise" if enterprise else "Opensource", otp_release=otp
    )
