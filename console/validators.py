"""The console's own checks of field values, beyond the CRD schema: used by the admins' form
options (console/kinds/), so the form and the YAML editor judge a value the same way.

Each validator takes the cleaned value and raises ``django.forms.ValidationError``, its message in the
request's language (gettext at validation time; issue 19).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext

from emqx import hocon

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

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
            raise forms.ValidationError(gettext("Not an image reference such as %(example)s.") % {"example": example})

    return check


def max_bytes(limit: int, what: StrOrPromise) -> Callable[[Any], None]:
    """At most ``limit`` bytes of UTF-8 text; ``what`` names the value in the message (a lazy translation,
    such as ``gettext_lazy("The configuration")``, is read in the request's language)."""

    def check(value: Any) -> None:
        if value and len(str(value).encode()) > limit:
            message = gettext("%(what)s may be at most %(size)s KiB.") % {"what": what, "size": limit // 1024}
            raise forms.ValidationError(message)

    return check


def hocon_config(value: Any) -> None:
    """EMQX's configuration text must parse as HOCON (emqx.hocon, the operator's parser's rules)."""
    if value and str(value).strip():
        problem = hocon.check(str(value))
        if problem is not None:
            # The parser's own words (emqx.hocon) stay as they are: they quote the text and name its syntax.
            raise forms.ValidationError(gettext("Not valid HOCON: %(problem)s.") % {"problem": problem})
