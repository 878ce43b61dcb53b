"""`python manage.py simulate_operator`: play the emqx-operator's part on the configured cluster.

Writes the status of EMQX, EmqxBroker, EmqxEnterprise and Rebalance objects as the operator
would, with simulated pods (see sandbox/operator/README.md), until Ctrl-C. For a sandbox or
a test cluster: against a cluster where the real operator runs, both would write status.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from emqx.client import Clientset
from emqx.errors import ConfigurationError
from sandbox.operator import FAULT_ANNOTATION, Simulator


class Command(BaseCommand):
    help = "Write the status of the EMQX custom resources as the emqx-operator would (a simulator)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--pace", type=float, default=2.0, help="seconds per simulated pod (default 2)")
        parser.add_argument("--namespace", default=None, help="only this namespace (default: all)")
        parser.add_argument("--kubeconfig", default=None, help="kubeconfig (default: the console's cluster)")
        parser.add_argument("--context", default=None, help="kubeconfig context")
        parser.add_argument(
            "--status-model",
            choices=("A", "B"),
            default="A",
            help="EMQX v2 (operator 2.3) status: A the state machine (default), B independent conditions",
        )

    def handle(self, *args: Any, pace: float, namespace: str | None, kubeconfig: str | None, **options: Any) -> None:
        if pace <= 0:
            raise CommandError("--pace must be positive")
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        try:
            if kubeconfig is None and settings.CONSOLE_IN_CLUSTER:
                cs = Clientset.in_cluster(field_manager="emqx-operator")
            else:
                cs = Clientset.from_kubeconfig(
                    kubeconfig or settings.CONSOLE_KUBECONFIG,
                    context=options.get("context") or settings.CONSOLE_KUBE_CONTEXT,
                    field_manager="emqx-operator",
                )
        except ConfigurationError as error:
            raise CommandError(str(error)) from error
        sim = Simulator(cs, pace=pace, namespace=namespace, emqx_v2_model=options.get("status_model") or "A")
        where = f"namespace {namespace}" if namespace else "all namespaces"
        self.stdout.write(f"Simulating the emqx-operator on {cs.server} ({where}, {pace:g} s per pod); Ctrl-C stops.")
        self.stdout.write(f"Faults: kubectl annotate emqx NAME {FAULT_ANNOTATION}=core-node-down (remove to recover)")
        sim.start()
        try:
            # Wake every half second: Python runs a signal's handler only in the main thread, and a Ctrl-C
            # the kernel hands to one of the simulator's threads (signal(7): any thread not blocking it)
            # would never reach a main thread asleep for good.
            idle = threading.Event()
            while not idle.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            sim.stop()
            cs.close()
            self.stdout.write("Simulator stopped.")
