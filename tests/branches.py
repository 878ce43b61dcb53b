"""Which branch of a property test each generated example reached, and a check that each ran often.

A property test that reaches its subject in one example out of forty checks it once per run while
reporting forty passes. So each property names its branches (the input it built: valid, one field
changed; or what the console did: created, refused), counts them with :class:`Branches` (also as a
``hypothesis.event``, shown by ``--hypothesis-show-statistics``) and ends with :meth:`Branches.check`,
which prints the counts (``pytest -s`` shows them) and fails when a branch ran fewer times than asked.
"""

from __future__ import annotations

import collections

from hypothesis import event


class Branches:
    """Counts of the branches one property test reached.

    ``at_least`` maps each branch that must be reached to the fewest examples it must get in one
    run; other branches are counted and printed, not required. Counts include every call of the
    property (generation, and shrinking when it fails), so a failing example fails first.
    """

    def __init__(self, test: str, at_least: dict[str, int]) -> None:
        self.test = test
        self.at_least = at_least
        self.counts: collections.Counter[str] = collections.Counter()

    def __call__(self, *branches: str) -> None:
        """Count one example in each of ``branches`` (e.g. its input and its outcome)."""
        for branch in branches:
            event(branch)
            self.counts[branch] += 1

    def check(self) -> None:
        """Print the counts; raise AssertionError naming each required branch that ran too rarely."""
        print(f"\nbranches of {self.test}: {dict(sorted(self.counts.items()))}")
        rare = {b: (self.counts[b], n) for b, n in self.at_least.items() if self.counts[b] < n}
        assert not rare, f"{self.test}: branches reached too rarely (count, needed): {rare}"
