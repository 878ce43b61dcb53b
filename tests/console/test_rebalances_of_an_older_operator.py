"""A Rebalance read in apps.emqx.io/v1beta4 (the version a cluster with an older emqx-operator serves; still
served, deprecated, by the current CRD) has no ``instanceKind``: the Rebalance list and detail pages summarized
it as if it had one, and failed with AttributeError. Found by type-checking console/ (mypy)."""

from __future__ import annotations

from console.registry import site
from emqx.models import apps_v1beta4, apps_v2beta1

REBALANCES = site.by_slug("rebalances")


def test_a_v1beta4_rebalance_is_summarized_as_acting_on_an_emqx_enterprise() -> None:
    obj = apps_v1beta4.Rebalance.from_dict(
        {
            "metadata": {"name": "rb", "namespace": "ns"},
            "spec": {"instanceName": "emqx-ee", "rebalanceStrategy": {"connEvictRate": 5}},
            "status": {"phase": "Processing"},
        }
    )
    summary = REBALANCES.summarize(obj)
    assert summary.version == "EmqxEnterprise emqx-ee"
    assert ("Instance", "EmqxEnterprise emqx-ee") in summary.details
    assert ("Connection evict rate", "5") in summary.details
    assert summary.state == "Processing"


def test_a_v2beta1_rebalance_still_names_its_own_kind() -> None:
    obj = apps_v2beta1.Rebalance.from_dict(
        {
            "metadata": {"name": "rb", "namespace": "ns"},
            "spec": {"instanceKind": "EMQX", "instanceName": "emqx", "rebalanceStrategy": {"connEvictRate": 5}},
        }
    )
    assert REBALANCES.summarize(obj).version == "EMQX emqx"


def test_a_v1beta4_rebalance_without_a_spec_is_summarized() -> None:
    summary = REBALANCES.summarize(apps_v1beta4.Rebalance.from_dict({"metadata": {"name": "rb", "namespace": "ns"}}))
    assert summary.version == "—"
