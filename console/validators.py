"""The console's own checks of field values, beyond the CRD schema: used by the admins' form
options (console/kinds/), so the form and the YAML editor judge a value the same way.

Each validator takes the cleaned value and raises ``django.forms.ValidationError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import forms

from emqx import hocon

__all__ = ["IMAGE_RE", "hocon_config", "image_reference", "max_bytes"]

# A container image reference as the distribution spec's grammar (and Kubernetes) accepts it:
# [registry[:port]/]repository[:tag][@digest].
IMAGE_RE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::\w[\w.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)


def image_reference(example: str) -> Callable[[Any], None]:
    """A validator of image references; ``example`` goes into the message."""

    def check(value: Any) -> None:
        if value and not IMAGE_RE.match(str(value)):
            raise forms.ValidationError(f"Not an image reference such as {example}.")

    return check


def max_bytes(limit: int, what: str) -> Callable[[Any], None]:
    """At most ``limit`` bytes of UTF-8 text."""

    def check(value: Any) -> None:
        if value and len(str(value).encode()) > limit:
            raise forms.ValidationError(f"{what} may be at most {limit // 1024} KiB.")

    return check


def hocon_config(value: Any) -> None:
    """EMQX's configuration text must parse as HOCON (emqx.hocon, the operator's parser's rules)."""
    if value and str(value).strip():
        problem = hocon.check(str(value))
        if problem is not None:
            raise forms.ValidationError(f"Not valid HOCON: {problem}.")
