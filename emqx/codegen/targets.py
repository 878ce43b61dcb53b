"""What `python -m emqx.codegen` generates: one module per group-version, from the vendored CRDs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = PACKAGE_ROOT / "emqx" / "crds"


@dataclass(frozen=True)
class KindSource:
    """One served version of one CRD."""

    crd_file: str  # file name in emqx/crds/
    version: str


@dataclass(frozen=True)
class ModuleTarget:
    """One generated module, `emqx/models/<module>.py`, holding the kinds of one group-version."""

    module: str
    kinds: tuple[KindSource, ...]


_EMQXES = "apps.emqx.io_emqxes.latest.yaml"
_REBALANCES = "apps.emqx.io_rebalances.latest.yaml"

_EMQXES_V2 = "apps.emqx.io_emqxes.v2.main-2.3-b515557.yaml"
_EMQXES_V3 = "apps.emqx.io_emqxes.v3beta1.main-1dfa10a.yaml"
_APIKEYS = "apps.emqx.io_emqxapikeys.v3beta1.pr1194-2811aed.yaml"

TARGETS: tuple[ModuleTarget, ...] = (
    # Operator 3.0 (main after PR #1187): EMQX v3beta1 only, and EMQXAPIKey (PR #1194).
    ModuleTarget("apps_v3beta1", (KindSource(_EMQXES_V3, "v3beta1"), KindSource(_APIKEYS, "v3beta1"))),
    # Operator 2.3 (main-2.3 @ b5155578): EMQX v2 is the storage version.
    ModuleTarget("apps_v2", (KindSource(_EMQXES_V2, "v2"),)),
    ModuleTarget("apps_v2beta1", (KindSource(_EMQXES, "v2beta1"), KindSource(_REBALANCES, "v2beta1"))),
    ModuleTarget("apps_v2alpha1", (KindSource(_EMQXES, "v2alpha1"),)),
    ModuleTarget(
        "apps_v1beta4",
        (
            KindSource("apps.emqx.io_emqxbrokers.latest.yaml", "v1beta4"),
            KindSource("apps.emqx.io_emqxenterprises.latest.yaml", "v1beta4"),
            KindSource(_REBALANCES, "v1beta4"),
        ),
    ),
    # The 2021 bundle (operator 1.0.x): a cluster holds it or the latest EmqxBroker/EmqxEnterprise CRDs.
    ModuleTarget(
        "apps_v1beta1",
        (
            KindSource("apps.emqx.io_emqxbrokers.v1beta1-2021-12-03.tag-1.0.0.yaml", "v1beta1"),
            KindSource("apps.emqx.io_emqxenterprises.v1beta1-2021-12-03.tag-1.0.0.yaml", "v1beta1"),
        ),
    ),
)
