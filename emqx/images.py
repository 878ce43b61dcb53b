"""What an EMQX image reference tells about the EMQX in it: its tag (the version) and its edition.

One place for the rule, read by the console (which instances a Rebalance may target) and by the
operator simulator (the ``edition`` its nodes report, and the Rebalance controller's check).

The edition: EMQX's Enterprise images are ``emqx/emqx-enterprise`` (5.x) and ``emqx/emqx-ee``
(4.x). From 5.9.0 on, EMQX ships one edition, the former Enterprise one under the Business Source
License 1.1, also as ``emqx/emqx`` (github.com/emqx/emqx README, "Starting from v5.9.0, EMQX has
unified all features from the previous Open Source and Enterprise editions"; the 5.9 packages are
``emqx-enterprise``): a node of ``emqx/emqx:5.9.0`` or later reports the Enterprise edition.
"""

from __future__ import annotations

from typing import Literal

Edition = Literal["Enterprise", "Opensource"]

ENTERPRISE_REPOSITORIES = frozenset({"emqx-enterprise", "emqx-ee"})
UNIFIED_FROM = (5, 9)
"""The first EMQX release with one edition (the Enterprise one) in every image."""


def tag_of(image: str) -> str:
    """The tag of an image reference (``emqx/emqx:5.8.6`` -> ``5.8.6``; a digest is ignored), or ''
    when it has none (``registry:5000/emqx/emqx``)."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def repository_of(image: str) -> str:
    """The last part of the image's repository (``docker.io/emqx/emqx-enterprise:5.8.6`` ->
    ``emqx-enterprise``)."""
    return image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


def release_of(image: str) -> tuple[int, int] | None:
    """(major, minor) of the image's tag (``5.8.6`` and ``v5.8.6`` -> (5, 8)); None for a tag that is
    not a version (``latest``, none)."""
    parts = tag_of(image).lstrip("ve").split(".")
    if len(parts) < 2 or not (parts[0].isdigit() and parts[1].isdigit()):
        return None
    return int(parts[0]), int(parts[1])


def edition_of(image: str) -> Edition:
    """The edition a node of ``image`` reports (module docstring): Enterprise for an Enterprise
    repository or a release from UNIFIED_FROM on; Opensource otherwise, also for a tag that is not a
    version (nothing says which release it is)."""
    if repository_of(image) in ENTERPRISE_REPOSITORIES:
        return "Enterprise"
    release = release_of(image)
    return "Enterprise" if release is not None and release >= UNIFIED_FROM else "Opensource"
