"""The edition and version an EMQX image reference tells: one rule for the console's Rebalance
button and the simulated operator's nodes and Rebalance check (emqx/images.py)."""

from __future__ import annotations

import pytest

from emqx import images
from sandbox.operator.common import image_info


@pytest.mark.parametrize(
    ("image", "edition"),
    [
        ("emqx/emqx-enterprise:5.8.6", "Enterprise"),
        ("registry.example:5000/emqx/emqx-enterprise:5.7.2", "Enterprise"),
        ("emqx/emqx-ee:4.4.19", "Enterprise"),
        ("emqx/emqx:5.8.6", "Opensource"),
        ("emqx/emqx:4.4.19", "Opensource"),
        ("emqx/emqx:5.9.0", "Enterprise"),  # one edition from 5.9 on
        ("emqx/emqx:v5.10.1", "Enterprise"),
        ("emqx/emqx:6.0.0@sha256:" + "0" * 64, "Enterprise"),
        ("emqx/emqx:latest", "Opensource"),  # not a version: nothing says it is 5.9 or later
        ("registry:5000/emqx/emqx", "Opensource"),
    ],
)
def test_the_edition_follows_the_repository_and_from_5_9_the_release(image: str, edition: str) -> None:
    assert images.edition_of(image) == edition
    assert image_info(image).edition == edition  # what the simulated nodes report


def test_the_tag_ignores_a_registry_port_and_a_digest() -> None:
    assert images.tag_of("registry:5000/emqx/emqx") == ""
    assert images.tag_of("registry:5000/emqx/emqx:5.8.6@sha256:abc") == "5.8.6"
    assert images.release_of("emqx/emqx:v5.10.1") == (5, 10)
    assert images.release_of("emqx/emqx:latest") is None
