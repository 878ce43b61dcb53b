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

TARGETS: tuple[ModuleTarget, ...] = (
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
