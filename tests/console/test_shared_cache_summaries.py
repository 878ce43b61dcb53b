"""The list summaries a shared cache's writer stores beside each object (console/sharedcache.py: pickled
:class:`console.summaries.Summary`), read back by the other workers, for every kind and version (CASES)."""

from __future__ import annotations

import copyreg
import io
import pickle
from typing import Any

import pytest

from console.sharedcache import decode_summary, encode_summary
from console.summaries import ConditionRow, Counts, NodeRow, Summary
from tests.console.kind_cases import CASES, SETTLED_AT, Case


def _settled_summary(case: Case) -> Summary:
    """The summary of a settled object of ``case``'s kind: conditions, counts and (EMQX) nodes filled in."""
    document: dict[str, Any] = {
        "apiVersion": case.model.api_version,
        "kind": case.model.kind,
        "metadata": {
            "name": "one",
            "namespace": "ns",
            "uid": "0b6c1c55-4fd4-4a4c-0000-000000000001",
            "resourceVersion": "42",
            "generation": 1,
            "creationTimestamp": SETTLED_AT,
            "labels": {"tier": "gold"},
        },
        "spec": case.spec("target"),
    }
    settled = case.model.read({**document, "status": case.settled(case.model.read(document))})
    assert not settled.problems
    return case.admin.summarize(settled)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_stored_summary_reads_back_as_the_writer_summarized_it(case: Case) -> None:
    summary = _settled_summary(case)
    assert summary.conditions  # a settled object: the nested rows are there to be pickled
    assert decode_summary(encode_summary(summary)) == summary


class _PreviousPickler(pickle.Pickler):
    """Pickles summaries as the console did before they were pickled by fields: through dataclasses'
    ``__getstate__`` (``copyreg.__newobj__``, then ``__setstate__`` on load)."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) in (Summary, NodeRow, ConditionRow, Counts):
            return (copyreg.__newobj__, (type(obj),), obj.__getstate__())
        return NotImplemented


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_summary_stored_by_the_previous_image_still_reads_back(case: Case) -> None:
    """A file written by the previous image's writer (a rolling update: old writer, new readers) holds summaries
    pickled the previous way; the readers still load them."""
    summary = _settled_summary(case)
    previous = io.BytesIO()
    _PreviousPickler(previous, protocol=5).dump(summary)
    assert previous.getvalue() != encode_summary(summary)  # the other form indeed
    assert decode_summary(previous.getvalue()) == summary
