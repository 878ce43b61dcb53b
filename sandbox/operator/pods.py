"""Simulated pods and the sets that own them (StatefulSets, ReplicaSets).

No pod exists anywhere: a :class:`PodSet` is the simulator's memory of what the operator's
StatefulSet or ReplicaSet would hold. Each :meth:`PodSet.step`-style action in the
controllers moves one pod one step (created, ready, stopped, deleted), so a cluster grows at
the simulator's pace, the way pods start one after another in a real cluster.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sandbox.operator.common import ImageInfo, stable_int, stable_uid

__all__ = ["PodSet", "SimPod"]


@dataclass
class SimPod:
    name: str
    uid: str
    ordinal: int
    revision: str
    ready: bool = False
    """The container started and passed its readiness probe once."""
    down: bool = False
    """A simulated fault stopped the node (it stays in the cluster as 'stopped')."""
    ready_at: float = 0.0
    """Wall-clock time the pod became ready: the EMQX node's uptime starts there."""

    @property
    def running(self) -> bool:
        return self.ready and not self.down

    @property
    def ip(self) -> str:
        # 10.244.0.0/16, the pod network of kind/kubeadm clusters.
        n = stable_int(self.uid, 2, 65000)
        return f"10.244.{n // 256}.{n % 256}"


@dataclass
class PodSet:
    """A StatefulSet (ordinal pod names) or ReplicaSet (random suffixes) of one revision.
    ``revision`` is the pod-template-hash of its newest pods; a StatefulSet under a rolling
    update holds pods of two revisions (:attr:`SimPod.revision`)."""

    name: str
    revision: str
    uid: str
    image: ImageInfo
    ordinal_names: bool = True
    pods: list[SimPod] = field(default_factory=list)
    _serial: int = 0

    @classmethod
    def new(cls, name: str, revision: str, owner_uid: str, image: ImageInfo, *, ordinal_names: bool = True) -> PodSet:
        return cls(name, revision, stable_uid(owner_uid, name), image, ordinal_names)

    def _pod_name(self, ordinal: int) -> str:
        if self.ordinal_names:
            return f"{self.name}-{ordinal}"
        self._serial += 1
        suffix = stable_uid(self.uid, str(self._serial)).replace("-", "")
        alphabet = "bcdfghjklmnpqrstvwxz2456789"
        return f"{self.name}-" + "".join(alphabet[int(c, 16) % len(alphabet)] for c in suffix[:5])

    def scale_up_to(self, replicas: int) -> bool:
        """Create the missing pods (not ready yet), lowest free ordinals first."""
        created = False
        used = {p.ordinal for p in self.pods}
        ordinal = 0
        while len(self.pods) < replicas:
            while ordinal in used:
                ordinal += 1
            name = self._pod_name(ordinal)
            self.pods.append(SimPod(name, stable_uid(self.uid, name), ordinal, self.revision))
            used.add(ordinal)
            created = True
        self.pods.sort(key=lambda p: p.ordinal)
        return created

    def remove_one(self) -> SimPod | None:
        """Delete the pod with the highest ordinal (a StatefulSet scales down from the top)."""
        if not self.pods:
            return None
        return self.pods.pop()

    def ready_one(self) -> SimPod | None:
        """The next not-ready pod (lowest ordinal) becomes ready."""
        pod = next((p for p in self.pods if not p.ready and not p.down), None)
        if pod is not None:
            pod.ready = True
            pod.ready_at = time.time()
        return pod

    @property
    def ready_replicas(self) -> int:
        """What the set's ``status.readyReplicas`` would say."""
        return sum(1 for p in self.pods if p.running)

    def all_ready(self, replicas: int) -> bool:
        return len(self.pods) == replicas and all(p.running and p.revision == self.revision for p in self.pods)
