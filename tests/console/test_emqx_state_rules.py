"""What state an EMQX is in, per version and status model (../shared/crds/OPERATOR-STATUS.md, "How to
compute current state"), as the list, the detail page, the dashboards and the timeline all read it.

No cluster needed: these are the EMQX admin's rules applied to statuses as each operator line writes them.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from console.registry import DEGRADED, PROGRESSING, READY, UNKNOWN, site
from console.timeline import Cond, diff
from emqx.models import apps_v2, apps_v2beta1, apps_v3beta1

EMQX = site.for_kind("EMQX")
T0 = "2026-11-30T08:00:00Z"


def _c(
    type_: str, status: str = "True", reason: str = "", message: str = "", generation: int | None = None
) -> dict[str, Any]:
    cond = {"type": type_, "status": status, "reason": reason or type_, "message": message, "lastTransitionTime": T0}
    if generation is not None:
        cond["observedGeneration"] = generation
    return cond


def _emqx(model: Any, conditions: list[dict[str, Any]], *, generation: int = 1, **status: Any) -> Any:
    doc: dict[str, Any] = {
        "metadata": {"name": "mqtt", "namespace": "ns", "generation": generation, "uid": "u1"},
        "spec": {"image": "emqx/emqx:5.8.6"},
        "status": {"conditions": conditions, **status},
    }
    if model is apps_v3beta1.EMQX:
        doc["status"].setdefault("coreReplicas", 1)
        doc["status"].setdefault("replicantReplicas", 0)
    return model.from_dict(doc)


def _v3(*conditions: dict[str, Any], generation: int = 1, **status: Any) -> Any:
    return _emqx(apps_v3beta1.EMQX, list(conditions), generation=generation, **status)


def _settled_v3(generation: int = 1, **overrides: tuple[str, str, str]) -> list[dict[str, Any]]:
    """Operator 3.0's conditions of a converged core-only cluster, in first-set order."""
    rows = {
        "EMQXAPIAvailable": ("True", "RequestSucceeded", "EMQX API is available"),
        "CoreNodesProgressing": ("False", "Converged", "1 core pods up to date"),
        "Available": ("True", "CorePodsAvailable", "1/1 core pods available"),
        "Ready": ("True", "Ready", "Cluster is ready"),
        "ConfigApplied": ("True", "Applied", "Desired configuration is active"),
        "Paused": ("False", "AnnotationNotSet", "Reconciliation is active"),
        **overrides,
    }
    return [_c(t, s, r, m, generation) for t, (s, r, m) in rows.items()]


def _health(obj: Any) -> Any:
    return EMQX.health(EMQX.summarize(obj), seen_ready=False)


# ----- v2beta1 and v2 model A: the first True condition ------------------------------------------


def test_v2beta1_shows_its_first_true_condition_as_kubectl_does() -> None:
    obj = _emqx(apps_v2beta1.EMQX, [_c("Available"), _c("ReplicantNodesReady"), _c("Initialized")])
    summary = EMQX.summarize(obj)
    assert (summary.state, summary.badge) == ("Available", "Available")


def test_v2_model_a_after_a_core_node_went_down_is_progressing_not_its_false_ready() -> None:
    # Model A rewrites the True conditions False with one reason and puts them first; Initialized stays True.
    obj = _emqx(
        apps_v2.EMQX,
        [
            _c("CoreNodesProgressing", reason="CoreNodesProgressing"),
            _c("Ready", "False", "CoreNodesNotReady"),
            _c("Available", "False", "CoreNodesNotReady"),
            _c("CoreNodesReady", "False", "CoreNodesNotReady"),
            _c("Initialized"),
        ],
    )
    summary = EMQX.summarize(obj)
    assert (summary.state, summary.badge) == ("Progressing", "CoreNodesProgressing")
    assert ("Status model", "state machine (A)") in summary.details
    assert _health(obj).state == PROGRESSING


@pytest.mark.parametrize("seed", range(3))
def test_v2_model_b_reads_conditions_by_type_whatever_their_order(seed: int) -> None:
    conditions = [
        _c("CoreNodesProgressing", "True", "ScalingUp", "1/3 core pods"),
        _c("Available", "True", "CorePodsAvailable", "1/3 core pods available"),
        _c("Ready", "False", "CoreNodesProgressing", "Core nodes are progressing"),
    ]
    random.Random(seed).shuffle(conditions)
    summary = EMQX.summarize(_emqx(apps_v2.EMQX, conditions))
    assert (summary.state, summary.badge) == ("Progressing", "CoreNodesProgressing")
    assert summary.current is not None and summary.current.message == "1/3 core pods"
    assert ("Status model", "independent conditions (B)") in summary.details


def test_v2_model_b_ready_listed_last_is_ready() -> None:
    obj = _emqx(apps_v2.EMQX, [_c("CoreNodesProgressing", "False", "Converged"), _c("Available"), _c("Ready")])
    assert EMQX.summarize(obj).state == "Ready"
    assert _health(obj).state == READY


def test_v2_model_b_with_fewer_pods_available_than_desired_is_degraded() -> None:
    obj = _emqx(
        apps_v2.EMQX,
        [
            _c("CoreNodesProgressing", "False", "Converged", "3 core pods up to date"),
            _c("Available", "False", "CorePodsUnavailable", "1/3 core pods available"),
            _c("Ready", "False", "CoreNodesProgressing"),
        ],
    )
    summary = EMQX.summarize(obj)
    assert summary.state == "Not ready"
    health = _health(obj)
    assert health.state == DEGRADED and "1/3 core pods available" in health.why


# ----- v3beta1: by type, True/False, observedGeneration ---------------------------------------------


def test_v3beta1_ready_is_ready_although_another_true_condition_comes_first() -> None:
    # The CRD's Status printer column prints the first True type: EMQXAPIAvailable here.
    summary = EMQX.summarize(_v3(*_settled_v3()))
    assert (summary.state, summary.badge) == ("Ready", "Ready")
    assert summary.settled


def test_v3beta1_not_yet_ready_shows_what_progresses_not_the_first_true_condition() -> None:
    obj = _v3(
        *_settled_v3(
            CoreNodesProgressing=("True", "Create", "spinning up core set"),
            Available=("False", "CorePodsUnavailable", "0/1 core pods available"),
            Ready=("False", "CoreNodesProgressing", "Core nodes are progressing"),
        )
    )
    summary = EMQX.summarize(obj)
    assert (summary.state, summary.badge) == ("Progressing", "CoreNodesProgressing")
    assert summary.current is not None and summary.current.reason == "Create"
    assert _health(obj).state == PROGRESSING


def test_v3beta1_replicants_created_after_the_cores_converged_is_progressing_not_degraded() -> None:
    # Ready names the core role first (its nodes are not all running yet) while the replicant set is created.
    obj = _v3(
        *_settled_v3(
            ReplicantNodesProgressing=("True", "Create", "spinning up replicant set"),
            Available=("False", "ReplicantPodsUnavailable", "1/2 replicant pods available"),
            Ready=("False", "CoreNodesProgressing", "Core nodes are progressing"),
        )
    )
    summary = EMQX.summarize(obj)
    assert (summary.state, summary.badge) == ("Progressing", "ReplicantNodesProgressing")
    assert _health(obj).state == PROGRESSING


def test_ready_nodes_beyond_the_desired_count_during_a_rollout_are_shown_as_leaving() -> None:
    obj = _emqx(apps_v2.EMQX, [_c("CoreNodesProgressing")], coreNodesStatus={"readyReplicas": 4, "replicas": 2})
    obj.spec.core_template.spec.replicas = 2
    counts = EMQX.summarize(obj).count("Core nodes")
    assert counts is not None and (counts.ready, counts.desired, str(counts)) == (2, 2, "2/2 (+2 leaving)")


def test_v3beta1_durable_storage_settling_is_progressing() -> None:
    obj = _v3(*_settled_v3(Ready=("False", "DSReplicationProgressing", "Durable storage membership transitions")))
    assert EMQX.summarize(obj).state == "Progressing"


def test_v3beta1_converged_pods_whose_nodes_are_not_running_are_degraded() -> None:
    obj = _v3(
        *_settled_v3(
            Available=("False", "CorePodsUnavailable", "2/3 core pods available"),
            Ready=("False", "CoreNodesProgressing", "Core nodes are progressing"),
        )
    )
    assert EMQX.summarize(obj).state == "Not ready"
    assert _health(obj).state == DEGRADED


def test_v3beta1_an_unreachable_emqx_api_is_unknown_not_progressing() -> None:
    obj = _v3(
        *_settled_v3(
            EMQXAPIAvailable=("False", "RequestFailed", "connection refused"),
            Ready=("False", "CoreNodesProgressing", "Core nodes are progressing"),
        )
    )
    summary = EMQX.summarize(obj)
    assert summary.state == "API unavailable"
    health = _health(obj)
    assert health.state == UNKNOWN and "connection refused" in health.why


def test_v3beta1_no_core_pod_to_ask_while_the_core_set_is_created_is_progressing() -> None:
    obj = _v3(
        _c("EMQXAPIAvailable", "False", "NoRequester", "No eligible core pod", 1),
        _c("CoreNodesProgressing", "True", "Create", "spinning up core set", 1),
        _c("Available", "False", "CorePodsUnavailable", "0/1 core pods available", 1),
        _c("Ready", "False", "CoreNodesProgressing", "Core nodes are progressing", 1),
    )
    summary = EMQX.summarize(obj)
    assert (summary.state, summary.badge) == ("Progressing", "CoreNodesProgressing")
    assert _health(obj).state == PROGRESSING


def test_v3beta1_paused_and_ready_stays_ready_with_the_pause_shown() -> None:
    obj = _v3(*_settled_v3(Paused=("True", "AnnotationSet", "Reconciliation is paused")))
    summary = EMQX.summarize(obj)
    assert summary.state == "Ready" and summary.paused
    assert summary.badge == "Paused · Ready"
    assert any(label == "Reconciliation" for label, _ in summary.details)


def test_v3beta1_created_paused_is_paused_and_needs_attention() -> None:
    obj = _v3(
        _c("Paused", "True", "AnnotationSet", "Reconciliation is paused", 1),
        _c("EMQXAPIAvailable", "False", "NoRequester", "No eligible core pod", 1),
    )
    summary = EMQX.summarize(obj)
    assert summary.state == "Paused"
    assert _health(obj).state == DEGRADED


def test_v3beta1_a_status_about_an_older_generation_is_not_settled_and_says_so() -> None:
    obj = _v3(*_settled_v3(generation=1), generation=2)
    summary = EMQX.summarize(obj)
    assert summary.state == "Ready" and not summary.observed and not summary.settled
    assert ("Status", "last observed at generation 1; the spec is at 2") in summary.details


def test_v3beta1_paused_written_long_ago_does_not_make_a_current_status_stale() -> None:
    # Paused is written only when it changes, so its observedGeneration lags behind Ready's.
    conditions = _settled_v3(generation=3)
    conditions[-1]["observedGeneration"] = 1
    assert EMQX.summarize(_v3(*conditions, generation=3)).observed


def test_v3beta1_ready_with_a_startup_config_rolling_out_is_not_settled() -> None:
    obj = _v3(
        *_settled_v3(
            ConfigApplied=("False", "StartupConfigPending", "Configuration roots require rolling restart: [node]")
        )
    )
    summary = EMQX.summarize(obj)
    assert summary.state == "Ready" and not summary.settled
    assert (
        "Configuration",
        "StartupConfigPending: Configuration roots require rolling restart: [node]",
    ) in summary.details


def test_v3beta1_a_configuration_emqx_rejected_is_degraded_although_ready() -> None:
    obj = _v3(*_settled_v3(ConfigApplied=("False", "ConfigRejected", "Runtime configuration rejected by EMQX API")))
    assert EMQX.summarize(obj).state == "Ready"
    health = _health(obj)
    assert health.state == DEGRADED and "rejected" in health.why


def test_v3beta1_nodes_come_from_cluster_nodes() -> None:
    node = {
        "name": "emqx@mqtt-core-0",
        "podName": "mqtt-core-0",
        "status": "running",
        "role": "core",
        "sessions": 3,
        "connections": 2,
    }
    summary = EMQX.summarize(_v3(*_settled_v3(), clusterNodes=[node]))
    assert [(n.node, n.role, n.status, n.connections) for n in summary.nodes] == [
        ("emqx@mqtt-core-0", "core", "running", 2)
    ]


# ----- the timeline reads the same rules ------------------------------------------------------------


def _cond(type_: str, status: str, reason: str = "", at: int = 0) -> Cond:
    return Cond(type_, status, reason or type_, "", dt.datetime(2026, 11, 30, 8, 0, at, tzinfo=dt.UTC), 1)


def test_the_timeline_marks_v3beta1_ready_as_the_state_not_every_true_condition() -> None:
    before = [_cond("EMQXAPIAvailable", "True"), _cond("Ready", "False", "CoreNodesProgressing")]
    after = [_cond("EMQXAPIAvailable", "True"), _cond("Ready", "True", at=5)]
    now = dt.datetime(2026, 11, 30, 8, 1, tzinfo=dt.UTC)
    changes = diff(before, after, "EMQX", now, apps_v3beta1.EMQX.api_version)
    assert [(c.type, c.status, change, current) for c, change, current in changes] == [("Ready", "True", "set", True)]
    first_sight = diff(None, after, "EMQX", now, apps_v3beta1.EMQX.api_version)
    assert {c.type: current for c, _, current in first_sight} == {"EMQXAPIAvailable": False, "Ready": True}


def test_the_timeline_stacks_v2beta1_conditions_as_before() -> None:
    after = [_cond("Ready", "True", at=9), _cond("Available", "True", at=5)]
    now = dt.datetime(2026, 11, 30, 8, 1, tzinfo=dt.UTC)
    changes = diff(None, after, "EMQX", now, apps_v2beta1.EMQX.api_version)
    assert [(c.type, current) for c, _, current in changes] == [("Available", True), ("Ready", True)]
