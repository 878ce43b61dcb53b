"""Helpers the test packages share (fixtures are in the conftest.py files).

Plain functions, imported where they are used: waiting on state with a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable


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
