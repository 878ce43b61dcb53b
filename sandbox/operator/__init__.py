"""A status simulator for the emqx-operator's custom resources, as kwok is for kubelets.

No operator and no pod runs in the sandbox. The :class:`Simulator` watches EMQX (v2beta1 as
operator 2.2, v2 as 2.3 with its status model A or B, v3beta1 as 3.0), EMQXAPIKey, EmqxBroker,
EmqxEnterprise and Rebalance objects, in the versions the cluster serves, and writes their status
through the status subresource as that operator line would, with simulated pods that start one per
``pace`` seconds, and records the Events the operator records (see README.md here)::

    from emqx.client import Clientset
    from sandbox.operator import Simulator

    sim = Simulator(Clientset.from_kubeconfig(path), pace=2.0).start()
    ...
    sim.stop()

Faults on demand, by annotation (remove it to recover)::

    kubectl annotate emqx my-emqx sim.emqx.io/fault=core-node-down

Pure Python: no Django here. ``python manage.py simulate_operator`` runs it from the console.
"""

from emqx.hocon import HoconSyntaxError
from sandbox.operator.common import FAULT_ANNOTATION, FAULTS, PACE_ANNOTATION
from sandbox.operator.recorder import COMPONENT
from sandbox.operator.simulator import Key, Simulator

__all__ = ["COMPONENT", "FAULTS", "FAULT_ANNOTATION", "PACE_ANNOTATION", "HoconSyntaxError", "Key", "Simulator"]
