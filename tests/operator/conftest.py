"""Fixtures of the simulator tests (helpers are in tests/operator/__init__.py)."""

from __future__ import annotations

import pytest

from emqx.client import Clientset
from sandbox.operator import Simulator
from tests.operator import FAST


@pytest.fixture
def sim(cs: Clientset, namespace: str) -> Simulator:
    """The operator's simulator for the test's namespace, not started (tests reconcile one step
    at a time)."""
    return Simulator(cs, pace=FAST, namespace=namespace)
