"""Fixtures for the deployment's tests: helm (built once into the sandbox's binary cache), the chart
rendered with a value set, and a throwaway PostgreSQL server shared by the modules that need one."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.build import ensure_helm
from tests.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "chart"
VALUE_SETS = {
    "default": None,
    "in-cluster-impersonation": CHART / "ci" / "in-cluster-impersonation-values.yaml",
    "two-kubeconfigs": CHART / "ci" / "two-kubeconfigs-values.yaml",
    "ingress-tls": CHART / "ci" / "ingress-tls-values.yaml",
}
"""The value sets the chart is shown to work with: its defaults and the three of deploy/chart/ci/."""

Helm = Callable[..., subprocess.CompletedProcess[str]]
Manifests = list[dict[str, Any]]


@pytest.fixture(scope="session")
def helm() -> Helm:
    """helm v3.22 (sandbox/build.py builds it once into the sandbox's binary cache); runs it with the
    arguments given and returns the CompletedProcess, never raising."""
    binary = ensure_helm(quiet=True)

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(binary), *args], input=input, capture_output=True, text=True, timeout=120)

    return run


def value_args(value_set: str | None = None, **sets: Any) -> list[str]:
    """helm's arguments for a value set of VALUE_SETS and ``--set-json`` overrides (dotted keys as
    keyword arguments written with ``__``: ``metrics__enabled=False``)."""
    args: list[str] = []
    path = VALUE_SETS[value_set] if value_set else None
    if path is not None:
        args += ["-f", str(path)]
    for key, value in sets.items():
        args += ["--set-json", f"{key.replace('__', '.')}={json.dumps(value)}"]
    return args


def render(helm: Helm, value_set: str | None = None, *, namespace: str = "emqx", **sets: Any) -> Manifests:
    """``helm template`` of the chart (release "console"), hooks included, as a list of manifests."""
    done = helm("template", "console", str(CHART), "--namespace", namespace, *value_args(value_set, **sets))
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def only(manifests: Manifests, kind: str, name: str | None = None) -> dict[str, Any]:
    """The one manifest of ``kind`` (and ``name``); fails when there is none or several."""
    found = [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]
    assert len(found) == 1, f"{len(found)} {kind} manifests: {[m['metadata']['name'] for m in found]}"
    return found[0]


def kinds(manifests: Manifests) -> list[str]:
    return sorted(m["kind"] for m in manifests)


def pod_environment(
    container: Mapping[str, Any], secrets: Mapping[str, Mapping[str, str]], pod_ip: str
) -> dict[str, str]:
    """A container's environment as the kubelet makes it: ``value`` with ``$(VAR)`` of earlier variables
    expanded, ``secretKeyRef`` read from ``secrets`` (name -> key -> value), ``fieldRef`` status.podIP."""
    env: dict[str, str] = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m[1], m[0]), item["value"])
        elif "secretKeyRef" in item["valueFrom"]:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secrets[ref["name"]][ref["key"]]
        else:
            assert item["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP", item
            env[item["name"]] = pod_ip
    return env


def secret_data(manifest: Mapping[str, Any]) -> dict[str, str]:
    """A Secret manifest's data, decoded."""
    return {k: base64.b64decode(v).decode() for k, v in (manifest.get("data") or {}).items()}


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the deployment's tests (each test makes its own database in it)."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def new_database(postgres: PostgresServer, name: str) -> str:
    """A new, empty database ``name`` in ``postgres``; returns its URL (DATABASE_URL)."""
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={postgres.port} user=postgres dbname=console", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@127.0.0.1:{postgres.port}/{name}"
