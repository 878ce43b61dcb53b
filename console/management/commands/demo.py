"""`python manage.py demo`: a throwaway sandbox cluster with demo data, the operator's status
simulator, a demo login, and the console on :8000.

Everything it starts stops with it: on Ctrl-C (or SIGTERM) the server, the simulator and
the cluster (etcd, kube-apiserver) go away and no process is left behind. The sandbox's
processes also die with this one if it is killed outright (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from emqx.client import Clientset
from sandbox import Sandbox
from sandbox.demo_data import seed, seed_rebalance_when_ready
from sandbox.operator import Simulator

DEMO_USER = "admin"
DEMO_PASSWORD = "emqx-demo"


def _interrupt_on_sigterm() -> None:
    # SIGTERM (a service manager, `kill`) stops the demo the way Ctrl-C does, cleanups included.
    def raise_interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, raise_interrupt)


class Command(BaseCommand):
    help = "Run the console against an embedded sandbox cluster with demo data and a simulated operator."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="where to serve the console")
        parser.add_argument("--pace", type=float, default=2.0, help="seconds per simulated pod (default 2)")

    def handle(self, *args: Any, addr: str, pace: float, **options: Any) -> None:
        _interrupt_on_sigterm()
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.stdout.write("Starting the sandbox cluster (kube-apiserver + etcd)...")
        # Started from this (the main) thread: the cluster's processes die with it.
        sb = Sandbox.create(crds="2.2", prefix="emqx-demo-")
        sim: Simulator | None = None
        cs: Clientset | None = None
        stop = threading.Event()
        try:
            sb.start()
            state = json.loads(sb.state_file.read_text())  # what `sandbox down` would stop
            self.stdout.write(f"Sandbox at {sb.server}; kubeconfig {sb.kubeconfig}")
            self.stdout.write(f"Sandbox pids: etcd={state['etcd_pid']} kube-apiserver={state['apiserver_pid']}")
            self._use_sandbox(str(sb.kubeconfig))

            cs = Clientset.from_kubeconfig(sb.kubeconfig, field_manager="emqx-operator")
            report = seed(cs)
            self.stdout.write(f"Demo data: {report}")
            sim = Simulator(cs, pace=pace).start()
            self.stdout.write(f"Simulated emqx-operator running ({pace:g} s per pod)")
            threading.Thread(
                target=seed_rebalance_when_ready, args=(cs,), kwargs={"stop": stop}, name="demo-rebalance", daemon=True
            ).start()

            call_command("migrate", interactive=False, verbosity=0)
            self._ensure_demo_admin()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Console at http://{addr}/  login: {DEMO_USER} / {DEMO_PASSWORD}  (Ctrl-C stops all)"
                )
            )
            self.stdout.flush()
            call_command("runserver", addr, use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            if sim is not None:
                sim.stop()
            if cs is not None:
                cs.close()
            sb.destroy()
            self.stdout.write("Stopped the console, the simulator and the sandbox.")

    @staticmethod
    def _use_sandbox(kubeconfig: str) -> None:
        """Point the console at the sandbox, whatever KUBECONFIG said when it started."""
        os.environ["KUBECONFIG"] = kubeconfig
        os.environ.pop("CONSOLE_KUBE_CONTEXT", None)
        settings.CONSOLE_KUBECONFIG = kubeconfig
        settings.CONSOLE_KUBE_CONTEXT = None
        settings.CONSOLE_IN_CLUSTER = False

    def _ensure_demo_admin(self) -> None:
        users = get_user_model()
        user, _ = users.objects.get_or_create(username=DEMO_USER, defaults={"is_staff": True, "is_superuser": True})
        user.set_password(DEMO_PASSWORD)
        user.save()
