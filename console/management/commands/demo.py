"""`python manage.py demo`: throwaway sandbox clusters with demo data, the operator's status
simulator on each, a demo login, and the console on :8000.

The field as it is: two clusters by default, ``prod-2-3`` on emqx-operator 2.3's CRDs (EMQX
``apps.emqx.io/v2``) and ``legacy-2-2`` still on 2.2 (EMQX v2beta1 and the 4.x brokers);
``--with-3.0`` adds ``next-3-0`` on 3.0's (EMQX v3beta1, EMQXAPIKey). Each cluster is seeded
with its line's data (``sandbox.demo_data``) and gets a simulator of its own.

Everything it starts stops with it: on Ctrl-C (or SIGTERM) the server, the simulators and
every cluster (etcd, kube-apiserver) go away and no process is left behind. The sandboxes'
processes also die with this one if it is killed outright (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from console import clusters
from emqx.client import Clientset
from sandbox import Sandbox
from sandbox.cluster import Bundle
from sandbox.demo_data import seed, seed_when_ready
from sandbox.operator import Simulator

DEMO_USER = "admin"
DEMO_PASSWORD = "emqx-demo"


@dataclass(frozen=True)
class DemoCluster:
    """A cluster of the demo: its name in the console (/clusters/<name>/) and its CRD bundle."""

    name: str
    line: Bundle


# The console's first cluster is the one its navigation starts on.
DEFAULT_CLUSTERS = (DemoCluster("prod-2-3", "2.3"), DemoCluster("legacy-2-2", "2.2"))
NEXT_CLUSTER = DemoCluster("next-3-0", "3.0")


@dataclass
class _Running:
    cluster: DemoCluster
    sandbox: Sandbox
    clientset: Clientset | None = None
    simulator: Simulator | None = None


def _interrupt_on_sigterm() -> None:
    # SIGTERM (a service manager, `kill`) stops the demo the way Ctrl-C does, cleanups included.
    def raise_interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, raise_interrupt)


def _no_more_interrupts() -> None:
    # Cleaning up: a second Ctrl-C must not cut the sandboxes' shutdown short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class _OncePerMessage(logging.Filter):
    """Lets each distinct message through once: the simulator repeats the API server's
    deprecation warnings on every request it makes in a deprecated version."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        with self._lock:
            if message in self._seen:
                return False
            self._seen.add(message)
            return True


class Command(BaseCommand):
    help = (
        "Run the console against embedded sandbox clusters (operator 2.3 and 2.2; --with-3.0 adds 3.0) "
        "with demo data and a simulated operator."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="where to serve the console")
        parser.add_argument("--pace", type=float, default=2.0, help="seconds per simulated pod (default 2)")
        parser.add_argument(
            "--with-3.0",
            dest="with_3_0",
            action="store_true",
            help=f"also run a cluster on operator 3.0's CRDs ({NEXT_CLUSTER.name}: EMQX v3beta1, EMQXAPIKey)",
        )

    def handle(self, *args: Any, addr: str, pace: float, with_3_0: bool, **options: Any) -> None:
        _interrupt_on_sigterm()
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("emqx.rest").addFilter(_OncePerMessage())
        wanted = [*DEFAULT_CLUSTERS, *([NEXT_CLUSTER] if with_3_0 else [])]
        running: list[_Running] = []
        stop = threading.Event()
        try:
            for cluster in wanted:
                self.stdout.write(
                    f"Starting cluster {cluster.name} (kube-apiserver + etcd, operator {cluster.line} CRDs)..."
                )
                sb = Sandbox.create(crds=cluster.line, prefix=f"emqx-demo-{cluster.name}-")
                running.append(_Running(cluster, sb))
                # Started from this (the main) thread: the cluster's processes die with it.
                sb.start()
                state = json.loads(sb.state_file.read_text())  # what `sandbox down` would stop
                self.stdout.write(f"Cluster {cluster.name} at {sb.server}; kubeconfig {sb.kubeconfig}")
                self.stdout.write(
                    f"Sandbox pids ({cluster.name}): etcd={state['etcd_pid']} kube-apiserver={state['apiserver_pid']}"
                )
            self._use_sandboxes(running)

            for run in running:
                run.clientset = cs = Clientset.from_kubeconfig(run.sandbox.kubeconfig, field_manager="emqx-operator")
                report = seed(cs, line=run.cluster.line)
                self.stdout.write(f"Demo data ({run.cluster.name}, operator {report.line}): {report}")
                run.simulator = Simulator(cs, pace=pace).start()
                threading.Thread(
                    target=seed_when_ready,
                    args=(cs,),
                    kwargs={"line": run.cluster.line, "stop": stop},
                    name=f"demo-later-{run.cluster.name}",
                    daemon=True,
                ).start()
            self.stdout.write(f"Simulated emqx-operator running on each cluster ({pace:g} s per pod)")

            call_command("migrate", interactive=False, verbosity=0)
            self._ensure_demo_admin()
            names = ", ".join(run.cluster.name for run in running)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Console at http://{addr}/ (clusters {names})  login: {DEMO_USER} / {DEMO_PASSWORD}"
                    "  (Ctrl-C stops all)"
                )
            )
            self.stdout.flush()
            call_command("runserver", addr, use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            _no_more_interrupts()
            stop.set()
            for run in running:
                if run.simulator is not None:
                    run.simulator.stop()
                if run.clientset is not None:
                    run.clientset.close()
            clusters.reset()
            for run in reversed(running):
                run.sandbox.destroy()
            self.stdout.write("Stopped the console, the simulators and the sandboxes.")

    @staticmethod
    def _use_sandboxes(running: list[_Running]) -> None:
        """Point the console at the sandboxes, whatever the environment said when it started:
        one cluster each (CONSOLE_CLUSTERS), the first also as KUBECONFIG for anything else."""
        first = str(running[0].sandbox.kubeconfig)
        os.environ["KUBECONFIG"] = first
        for name in ("CONSOLE_KUBE_CONTEXT", "CONSOLE_CLUSTERS_JSON", "CONSOLE_KUBE_CONTEXTS"):
            os.environ.pop(name, None)
        settings.CONSOLE_KUBECONFIG = first
        settings.CONSOLE_KUBE_CONTEXT = None
        settings.CONSOLE_IN_CLUSTER = False
        settings.CONSOLE_CLUSTERS = [
            {"name": run.cluster.name, "kubeconfig": str(run.sandbox.kubeconfig)} for run in running
        ]
        clusters.reset()

    def _ensure_demo_admin(self) -> None:
        users = get_user_model()
        user, _ = users.objects.get_or_create(username=DEMO_USER, defaults={"is_staff": True, "is_superuser": True})
        user.set_password(DEMO_PASSWORD)
        user.save()
