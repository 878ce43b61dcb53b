"""Optimistic concurrency under contention: two writers, each with its own clientset, update
the same EMQX 50 times each through retry_on_conflict, and no update is lost."""

from __future__ import annotations

import threading

from emqx.client import Clientset
from emqx.errors import Conflict
from emqx.retry import Backoff, retry_on_conflict
from tests.factories import emqx

UPDATES = 50


def test_two_writers_with_retry_on_conflict_lose_no_update(sandbox, namespace: str) -> None:
    with Clientset.from_kubeconfig(sandbox.kubeconfig) as setup:
        setup.apps_v2beta1.emqxes(namespace).create(emqx(name="contended"))

    conflicts = {"alpha": 0, "beta": 0}
    failures: list[BaseException] = []
    barrier = threading.Barrier(2)
    # More steps than DefaultRetry: with only two writers each conflict means the other one
    # won, but 5 losses in a row are not impossible on a loaded 2-core machine.
    backoff = Backoff(duration=0.005, factor=1.5, jitter=0.5, steps=30)

    def writer(who: str) -> None:
        try:
            with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
                client = cs.apps_v2beta1.emqxes(namespace)
                barrier.wait()
                for _ in range(UPDATES):

                    def bump() -> None:
                        obj = client.get("contended")  # re-read on every attempt
                        annotations = dict(obj.metadata.annotations or {})
                        annotations[f"counter/{who}"] = str(int(annotations.get(f"counter/{who}", "0")) + 1)
                        obj.metadata.annotations = annotations
                        try:
                            client.update(obj)
                        except Conflict:
                            conflicts[who] += 1
                            raise

                    retry_on_conflict(bump, backoff=backoff)
        except BaseException as error:  # surfaced by the main thread below
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(who,)) for who in conflicts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not failures, failures

    with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
        final = cs.apps_v2beta1.emqxes(namespace).get("contended")
    assert final.metadata.annotations == {"counter/alpha": str(UPDATES), "counter/beta": str(UPDATES)}
    # The writers did collide, and retrying is what kept every update.
    assert sum(conflicts.values()) > 0, conflicts
