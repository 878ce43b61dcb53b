"""A real Kubernetes control plane on loopback: etcd + kube-apiserver, RBAC on, EMQX CRDs installed.

    sb = Sandbox.create()          # fresh temporary state folder
    sb.start()                     # ~5 s once the binaries are built
    sb.kubeconfig                  # admin kubeconfig (system:masters)
    sb.user_kubeconfig("alice")    # an identity with no rights until RBAC grants some
    sb.stop()

No kube-controller-manager runs: nothing here needs pods, garbage collection or namespace
finalization. Tests use a fresh namespace each and never wait for a namespace to go away
(a deleted namespace stays Terminating without the controller, which no test relies on).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jsonpatch
import yaml

from sandbox import pki
from sandbox.build import ensure_binaries

CRD_DIR = Path(__file__).resolve().parent.parent / "emqx" / "crds"

# The CRDs each emqx-operator line installs (emqx/crds/SOURCES.md). An entry is a CRD file, or a CRD file and
# the kustomize JSON 6902 patches the operator's bundle applies to it.
CRD_BUNDLES: dict[str, tuple[str | tuple[str, ...], ...]] = {
    # Operator 1.0 (December 2021): EmqxBroker/EmqxEnterprise v1beta1 only.
    "2021": (
        "apps.emqx.io_emqxbrokers.v1beta1-2021-12-03.tag-1.0.0.yaml",
        "apps.emqx.io_emqxenterprises.v1beta1-2021-12-03.tag-1.0.0.yaml",
    ),
    # Operator 2.2 (chart 2.2.30): EMQX v2beta1 (+ deprecated v2alpha1), the 4.x brokers v1beta4, Rebalance.
    "2.2": (
        "apps.emqx.io_emqxes.latest.yaml",
        "apps.emqx.io_emqxbrokers.latest.yaml",
        "apps.emqx.io_emqxenterprises.latest.yaml",
        "apps.emqx.io_rebalances.latest.yaml",
        "apps.emqx.io_emqxplugins.latest.yaml",
    ),
    # Operator 2.3 (main-2.3 @ b5155578): EMQX v2 stored, v2beta1 still served (no conversion), Rebalance v2beta1.
    "2.3": (
        (
            "apps.emqx.io_emqxes.v2.main-2.3-b515557.yaml",
            "apps.emqx.io_emqxes.v2beta1-compat-patch.main-2.3-b515557.yaml",
        ),
        "apps.emqx.io_rebalances.v2beta1.main-2.3-b515557.yaml",
    ),
    # Operator 3.0: EMQX v3beta1 only and EMQXAPIKey. Its chart ships no Rebalance CRD, and its kustomization
    # comments the Rebalance line out, so this bundle has none either.
    "3.0": (
        "apps.emqx.io_emqxes.v3beta1.main-1dfa10a.yaml",
        "apps.emqx.io_emqxapikeys.v3beta1.pr1194-2811aed.yaml",
    ),
}
CRD_BUNDLES["current"] = CRD_BUNDLES["2.2"]  # the name used before the 2.3 and 3.0 bundles existed
Bundle = Literal["2021", "2.2", "2.3", "3.0", "current"]  # or None at start(): no CRDs at all
DEFAULT_BUNDLE: Bundle = "2.3"  # what a new user installs today (2.3.0 released January 2026)
BUNDLE_CHOICES: tuple[str, ...] = ("2.3", "2.2", "3.0", "2021")


def bundle_crds(bundle: str) -> list[dict[str, Any]]:
    """The CustomResourceDefinition documents of ``bundle`` (a key of CRD_BUNDLES), patches applied.

    Raises KeyError for an unknown bundle."""
    crds: list[dict[str, Any]] = []
    for entry in CRD_BUNDLES[bundle]:
        files = (entry,) if isinstance(entry, str) else entry
        crd = _load_yaml(CRD_DIR / files[0])
        for patch_file in files[1:]:
            crd = jsonpatch.apply_patch(crd, _load_yaml(CRD_DIR / patch_file))
        crds.append(crd)
    return crds


_PR_SET_PDEATHSIG = 1
_STOP_GRACE_S = 10.0
# kube-apiserver holds open watches for up to their timeout after SIGTERM; it keeps no state
# of its own (etcd does, and gets the full grace), so it is killed after a short one.
_APISERVER_GRACE_S = 2.0


class SandboxError(RuntimeError):
    """The sandbox could not be started or reached; the message says which part and why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # runs in the child between fork and exec
    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    # SIGKILL, not SIGTERM: kube-apiserver's graceful shutdown waits on an etcd that is
    # going away at the same moment, and an orphaned throwaway cluster has nothing to save.
    libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))


def _own_session() -> None:
    os.setsid()


@dataclass
class _State:
    """What `down` and `status` need to find a detached sandbox again."""

    etcd_pid: int
    apiserver_pid: int
    etcd_port: int
    apiserver_port: int

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__))

    @classmethod
    def load(cls, path: Path) -> _State:
        return cls(**json.loads(path.read_text()))


class Sandbox:
    """One local cluster. The state folder holds certs, etcd data, logs and kubeconfigs."""

    def __init__(self, state_dir: Path, *, crds: Bundle | None = DEFAULT_BUNDLE) -> None:
        self.state_dir = state_dir
        self.crds = crds
        self.pki_dir = state_dir / "pki"
        self.kubeconfig = state_dir / "kubeconfig"
        self.ca_file = self.pki_dir / "ca.crt"
        self.state_file = state_dir / "state.json"
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.etcd_port = 0
        self.etcd_peer_port = 0
        self.apiserver_port = 0
        self._admin_token = ""
        self.timings: dict[str, float] = {}  # seconds per start-up phase of the last start()

    # ----- lifecycle -------------------------------------------------------------------

    @classmethod
    def create(cls, *, crds: Bundle | None = DEFAULT_BUNDLE, prefix: str = "emqx-sandbox-") -> Sandbox:
        return cls(Path(tempfile.mkdtemp(prefix=prefix)), crds=crds)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    @property
    def admin_token(self) -> str:
        return self._admin_token

    def start(self, *, detach: bool = False, timeout: float = 60.0) -> Sandbox:
        """Start etcd and kube-apiserver (or start them again after stop(), same data).

        Not detached, the processes die with the thread that started them (PR_SET_PDEATHSIG),
        so an interrupted or killed test run leaves nothing behind. Detached (`python -m
        sandbox up`), they outlive the command and `down` stops them.
        """
        bins = ensure_binaries()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.pki_dir.mkdir(exist_ok=True)
        first_start = not self.kubeconfig.exists()
        if first_start:
            self._prepare()
        self._admin_token = (self.pki_dir / "admin.token").read_text().strip()
        preexec = _own_session if detach else _die_with_parent
        t0 = time.monotonic()
        try:
            self._start_etcd(bins["etcd"], preexec, timeout)
            t1 = time.monotonic()
            self._start_apiserver(bins["kube-apiserver"], preexec, timeout)
            t2 = time.monotonic()
            self._write_kubeconfig()
            if first_start and self.crds is not None:
                self.install_crds(self.crds, timeout=timeout)
            t3 = time.monotonic()
        except BaseException:
            self.stop()
            raise
        _State(
            etcd_pid=self._procs["etcd"].pid,
            apiserver_pid=self._procs["kube-apiserver"].pid,
            etcd_port=self.etcd_port,
            apiserver_port=self.apiserver_port,
        ).dump(self.state_file)
        self.timings = {"etcd": t1 - t0, "kube-apiserver": t2 - t1, "crds": t3 - t2, "total": t3 - t0}
        return self

    def stop(self) -> None:
        """Stop every process this sandbox started and wait until they are gone."""
        procs = list(self._procs.items())
        # The API server first, so it does not log etcd errors while shutting down.
        for name in ("kube-apiserver", "etcd"):
            proc = self._procs.pop(name, None)
            if proc is not None:
                _terminate(proc.pid, proc, _APISERVER_GRACE_S if name == "kube-apiserver" else _STOP_GRACE_S)
        if not procs and self.state_file.exists():
            # A detached sandbox started by another process: stop it by its recorded pids.
            state = _State.load(self.state_file)
            _terminate(state.apiserver_pid, None, _APISERVER_GRACE_S)
            _terminate(state.etcd_pid, None)
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()

    def destroy(self) -> None:
        """Stop, then remove the state folder."""
        self.stop()
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def is_running(self) -> bool:
        if not self.state_file.exists():
            return False
        state = _State.load(self.state_file)
        return all(_alive(pid) for pid in (state.etcd_pid, state.apiserver_pid))

    @classmethod
    def attach(cls, state_dir: Path) -> Sandbox:
        """A handle on a sandbox started earlier (by `up`), for `down`, `status`, `env`."""
        sb = cls(state_dir)
        if sb.state_file.exists():
            state = _State.load(sb.state_file)
            sb.etcd_port, sb.apiserver_port = state.etcd_port, state.apiserver_port
        return sb

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """Stop the API server (etcd too) for the block, then bring it back on the same port."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- set-up ----------------------------------------------------------------------

    def _prepare(self) -> None:
        ca = pki.CertificateAuthority(self.pki_dir)
        ca.serving_cert()
        ca.client_cert("sandbox-admin", ("system:masters",))
        pki.service_account_keys(self.pki_dir)
        token = secrets.token_hex(24)
        (self.pki_dir / "admin.token").write_text(token + "\n")
        # kube-apiserver's static token file: token,user,uid,"group1,group2"
        (self.pki_dir / "tokens.csv").write_text(f'{token},sandbox-admin,sandbox-admin,"system:masters"\n')

    def _spawn(self, name: str, argv: list[str], preexec: Any) -> subprocess.Popen[bytes]:
        log = open(self.state_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        try:
            proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=preexec
            )
        finally:
            log.close()
        self._procs[name] = proc
        return proc

    def _start_etcd(self, binary: Path, preexec: Any, timeout: float) -> None:
        self.etcd_port = self.etcd_port or free_port()
        # Same ports on a restart: clients keep their kubeconfig, etcd keeps its member URL.
        self.etcd_peer_port = peer_port = self.etcd_peer_port or free_port()
        data = self.state_dir / "etcd"
        client_url = f"http://127.0.0.1:{self.etcd_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        argv = [
            str(binary),
            "--name=sandbox",
            f"--data-dir={data}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=sandbox={peer_url}",
            "--log-level=warn",
            # A throwaway store: skip fsync, keep it small.
            "--unsafe-no-fsync",
            "--quota-backend-bytes=2147483648",
        ]
        proc = self._spawn("etcd", argv, preexec)
        self._wait(lambda: _http_ok(f"{client_url}/health"), proc, "etcd", timeout)

    def _start_apiserver(self, binary: Path, preexec: Any, timeout: float) -> None:
        self.apiserver_port = self.apiserver_port or free_port()
        p = self.pki_dir
        argv = [
            str(binary),
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.apiserver_port}",
            f"--cert-dir={p}",
            f"--tls-cert-file={p / 'apiserver.crt'}",
            f"--tls-private-key-file={p / 'apiserver.key'}",
            f"--client-ca-file={p / 'ca.crt'}",
            f"--token-auth-file={p / 'tokens.csv'}",
            f"--service-account-key-file={p / 'sa.pub'}",
            f"--service-account-signing-key-file={p / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--authorization-mode=Node,RBAC",
            "--service-cluster-ip-range=10.96.0.0/24",
            # No kubelets, no controllers: keep only what custom resources need.
            "--endpoint-reconciler-type=none",
            "--enable-priority-and-fairness=true",
            "--profiling=false",
            "--event-ttl=1h",
            "--v=1",
        ]
        proc = self._spawn("kube-apiserver", argv, preexec)
        self._wait(lambda: self._get("/readyz") is not None, proc, "kube-apiserver", timeout)

    def _wait(self, ready: Any, proc: subprocess.Popen[bytes], name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = (self.state_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise SandboxError(f"{name} exited with code {proc.returncode} while starting:\n{tail}")
            if ready():
                return
            time.sleep(0.05)
        raise SandboxError(f"{name} was not ready after {timeout:.0f} s; see {self.state_dir / (name + '.log')}")

    def _write_kubeconfig(self) -> None:
        self.kubeconfig.write_text(self._kubeconfig_text({"token": self._admin_token}, user="sandbox-admin"))
        self.kubeconfig.chmod(0o600)

    def _kubeconfig_text(self, credentials: dict[str, str], *, user: str) -> str:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "sandbox", "cluster": {"server": self.server, "certificate-authority": str(self.ca_file)}}
            ],
            "users": [{"name": user, "user": credentials}],
            "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox", "user": user}}],
            "current-context": "sandbox",
        }
        return yaml.safe_dump(config, sort_keys=False)

    def user_kubeconfig(self, user: str, groups: Sequence[str] = ()) -> Path:
        """A kubeconfig for a client-certificate identity (CN=user, O=groups), with no rights of
        its own: bind Roles to it to give it some. Rewritten with the current port on each call."""
        pair = pki.CertificateAuthority(self.pki_dir).client_cert(user, tuple(groups))
        safe = "".join(c if c.isalnum() else "_" for c in user)
        path = self.state_dir / f"kubeconfig-{safe}"
        path.write_text(
            self._kubeconfig_text({"client-certificate": str(pair.cert), "client-key": str(pair.key)}, user=user)
        )
        path.chmod(0o600)
        return path

    # ----- talking to the API (admin) --------------------------------------------------

    def _ssl(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def request(self, method: str, path: str, body: Any = None, *, timeout: float = 10.0) -> tuple[int, Any]:
        """One admin request; returns (status, decoded JSON body). For set-up, not for the code under test."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self._admin_token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self._ssl(), timeout=timeout) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode()
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, json.loads(raw) if raw[:1] == b"{" else raw.decode(errors="replace")

    def _get(self, path: str) -> Any:
        try:
            status, body = self.request("GET", path, timeout=2.0)
        except (OSError, ssl.SSLError):
            return None
        return body if status == 200 else None

    def install_crds(self, bundle: Bundle = DEFAULT_BUNDLE, *, timeout: float = 60.0) -> list[str]:
        """Create (or replace) the bundle's CRDs and wait until each is Established and served.
        Raises SandboxError when the API server refuses one."""
        crds = bundle_crds(bundle)
        for crd in crds:
            name = crd["metadata"]["name"]
            status, body = self.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
            if status == 409:
                _, current = self.request("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
                crd["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                status, body = self.request(
                    "PUT", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}", crd
                )
            if status not in (200, 201):
                raise SandboxError(f"installing CRD {name} failed ({status}): {body}")
        deadline = time.monotonic() + timeout
        for crd in crds:
            self._wait_crd_served(crd, deadline)
        return [crd["metadata"]["name"] for crd in crds]

    def _wait_crd_served(self, crd: dict[str, Any], deadline: float) -> None:
        name = crd["metadata"]["name"]
        group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
        versions = [v["name"] for v in crd["spec"]["versions"] if v.get("served")]
        while time.monotonic() < deadline:
            body = self._get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            conditions = {c["type"]: c["status"] for c in ((body or {}).get("status") or {}).get("conditions") or []}
            # Established can precede the REST handler by a moment: also wait for each version to list.
            if conditions.get("NamesAccepted") == "False":
                reason = next(c["message"] for c in body["status"]["conditions"] if c["type"] == "NamesAccepted")
                raise SandboxError(f"CRD {name} was refused: {reason}")
            if conditions.get("Established") == "True" and all(
                self._get(f"/apis/{group}/{v}/{plural}?limit=1") is not None for v in versions
            ):
                return
            time.sleep(0.05)
        raise SandboxError(f"CRD {name} was not established in time")

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}
        status, resp = self.request("POST", "/api/v1/namespaces", body)
        if status not in (201, 409):
            raise SandboxError(f"creating namespace {name} failed ({status}): {resp}")

    def requests_served(self, *resources: str) -> int:
        """How many requests for these resources (plural names) the API server has served so
        far, by its own count (apiserver_request_total): to show that something made none."""
        count = 0
        for line in self.metrics().splitlines():
            if line.startswith("apiserver_request_total{") and any(f'resource="{r}"' in line for r in resources):
                count += int(float(line.rsplit(" ", 1)[1]))
        return count

    def metrics(self) -> str:
        """The API server's Prometheus metrics (for counting requests in benchmarks and tests)."""
        status, body = self.request("GET", "/metrics")
        if status != 200:
            raise SandboxError(f"/metrics answered {status}")
        return str(body)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours is not alive for our purposes.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


def _terminate(pid: int, proc: subprocess.Popen[bytes] | None, grace: float = _STOP_GRACE_S) -> None:
    """SIGTERM the process group, then SIGKILL after a grace period; reap our own children."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if proc is not None:
            if proc.poll() is not None:
                return
        elif not _alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if proc is not None:
        proc.wait()


def _load_yaml(path: Path) -> Any:
    # libyaml parses the 650 kB EMQX CRD in a tenth of the time of the pure-Python loader.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(), Loader=loader)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def running(*, crds: Bundle = DEFAULT_BUNDLE) -> Iterator[Sandbox]:
    """A sandbox for the duration of a with-block, removed afterwards."""
    sb = Sandbox.create(crds=crds)
    try:
        yield sb.start()
    finally:
        sb.destroy()
