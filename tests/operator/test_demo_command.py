"""`manage.py demo` starts its sandbox clusters (operator 2.3 and 2.2; with --with-3.0 also 3.0),
seeds each, simulates the operator on each and serves the console; Ctrl-C (SIGINT) or SIGTERM stops
all of it and leaves no process behind, and so does killing it outright."""

from __future__ import annotations

import ctypes
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from emqx.client import Clientset
from sandbox.cluster import free_port
from tests.factories import emqx
from tests.operator import head, wait_for

ROOT = Path(__file__).resolve().parents[2]
SYS_TGKILL = {"x86_64": 234, "aarch64": 131}[platform.machine()]
"""tgkill's system call number (Linux's unistd tables)."""


def _ctrl_c_reaches_it() -> None:
    """In the child before it runs: SIGINT at its default and not blocked, as a shell gives a command
    run from a terminal (an ignored or blocked SIGINT would be inherited, and Python then raises no
    KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _to_another_thread(pid: int, sig: int) -> None:
    """Send ``sig`` to one of process ``pid``'s threads other than its main thread (tgkill(2)).

    A terminal's Ctrl-C is directed at the process, and the kernel may hand it to any thread that does not
    block it (signal(7)): usually the main thread, but not when that one already has a signal pending. Python
    runs its handlers only in the main thread, so a main thread asleep in a lock never learns of it unless it
    wakes by itself (the random-order run with seed 3512474671 hung so)."""
    tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid)
    assert tids, "the command runs no thread but its main one"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(SYS_TGKILL, pid, tids[0], sig) != 0:
        raise OSError(ctypes.get_errno(), "tgkill failed")


def _interrupt(command: subprocess.Popen[str], timeout: float = 60, *, to_another_thread: bool = False) -> str:
    """Ctrl-C to ``command`` (started with ``-X faulthandler``) and its output once it has ended; with
    ``to_another_thread``, the signal lands on one of its other threads (:func:`_to_another_thread`). When it
    has not ended within ``timeout`` s, SIGABRT makes faulthandler print every thread's stack, and the
    AssertionError shows them: where it hangs, not only that it does."""
    if to_another_thread:
        _to_another_thread(command.pid, signal.SIGINT)
    else:
        command.send_signal(signal.SIGINT)
    try:
        out, _ = command.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        command.send_signal(signal.SIGABRT)
        out, _ = command.communicate(timeout=30)
        raise AssertionError(f"still running {timeout:.0f} s after Ctrl-C; its threads then:\n{out[-8000:]}") from None
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(") ", 1)[1][0] != "Z"


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc), children first found through their ppid."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


@pytest.mark.parametrize(
    ("args", "stop_signal", "clusters"),
    [
        pytest.param([], signal.SIGINT, {"prod-2-3": "2.3", "legacy-2-2": "2.2"}, id="default-ctrl-c"),
        pytest.param(
            ["--with-3.0"],
            signal.SIGTERM,
            {"prod-2-3": "2.3", "legacy-2-2": "2.2", "next-3-0": "3.0"},
            id="with-3.0-sigterm",
        ),
        pytest.param([], signal.SIGKILL, {"prod-2-3": "2.3", "legacy-2-2": "2.2"}, id="default-killed"),
    ],
)
def test_the_demo_serves_its_clusters_and_leaves_nothing_behind(
    tmp_path: Path, args: list[str], stop_signal: signal.Signals, clusters: dict[str, str]
) -> None:
    port = free_port()
    env = {**os.environ, "CONSOLE_SQLITE_PATH": str(tmp_path / "demo.sqlite3"), "PYTHONUNBUFFERED": "1"}
    for name in ("KUBECONFIG", "CONSOLE_CLUSTERS_JSON", "CONSOLE_KUBE_CONTEXTS"):
        env.pop(name, None)
    demo = subprocess.Popen(
        [
            sys.executable,
            "-X",
            "faulthandler",
            "manage.py",
            "demo",
            "--addr",
            f"127.0.0.1:{port}",
            "--pace",
            "0.2",
            *args,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_ctrl_c_reaches_it,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(iter(demo.stdout.readline, "")), daemon=True)
    reader.start()
    state_dirs: list[Path] = []
    try:
        try:
            wait_for(
                lambda: any("Console at " in line for line in output) or demo.poll() is not None,
                timeout=180,
                what="the demo",
            )
        except AssertionError as error:
            raise AssertionError(f"{error}; the demo said:\n{''.join(output)}") from None
        assert demo.poll() is None, f"the demo exited:\n{''.join(output)}"
        login = f"http://127.0.0.1:{port}/login/"
        assert wait_for(lambda: _status(login) == 200, timeout=60, what="the login page") is True
        pids: dict[str, set[int]] = {}
        for line in output:
            if match := re.match(r"Sandbox pids \(([-\w]+)\): (.*)", line):
                pids[match[1]] = {int(pid) for pid in re.findall(r"=(\d+)", match[2])}
            if match := re.match(r"Cluster ([-\w]+) at \S+; kubeconfig (\S+)", line):
                state_dirs.append(Path(match[2]).parent)
        assert list(pids) == list(clusters), output  # in this order: the first is the console's first
        sandbox_pids = set().union(*pids.values())
        assert len(sandbox_pids) == 2 * len(clusters) and all(_alive(pid) for pid in sandbox_pids)
        for name, line in clusters.items():
            assert any(
                entry.startswith(f"Demo data ({name}, operator {line}): ") and " created" in entry for entry in output
            ), output
        assert any("admin / emqx-demo" in line and ", ".join(clusters) in line for line in output), output
        tree = _descendants(demo.pid)
        assert sandbox_pids <= tree

        demo.send_signal(stop_signal)
        try:
            code = demo.wait(timeout=90)
        except subprocess.TimeoutExpired:
            demo.send_signal(signal.SIGABRT)  # faulthandler: every thread's stack, to its output
            demo.wait(30)
            reader.join(5)
            raise AssertionError(f"still running 90 s after {stop_signal.name}:\n{''.join(output)[-8000:]}") from None
        assert code == (-signal.SIGKILL if stop_signal == signal.SIGKILL else 0), "".join(output)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    reader.join(5)

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in tree):
        time.sleep(0.1)
    assert [pid for pid in tree if _alive(pid)] == []
    if stop_signal == signal.SIGKILL:
        # Killed outright: the sandboxes die with it (PR_SET_PDEATHSIG); their folders stay behind.
        for folder in state_dirs:
            shutil.rmtree(folder, ignore_errors=True)
    else:
        assert any("Stopped the console, the simulators and the sandboxes." in line for line in output), output
        assert state_dirs and not any(folder.exists() for folder in state_dirs)


def test_simulate_operator_writes_status_until_interrupted_even_when_a_watch_thread_takes_the_ctrl_c(
    sandbox, namespace: str
) -> None:
    argv = ["simulate_operator", "--kubeconfig", str(sandbox.kubeconfig), "--namespace", namespace, "--pace", "0.05"]
    command = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "manage.py", *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_ctrl_c_reaches_it,
    )
    try:
        with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
            client = cs.apps_v2beta1.emqxes(namespace)
            client.create(emqx("by-command", core_replicas=1))
            wait_for(lambda: head(client.get("by-command")) == ("Ready", "Ready"), what="Ready via the command")
        out = _interrupt(command, to_another_thread=True)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    assert command.returncode == 0, out
    assert f"(namespace {namespace}, 0.05 s per pod)" in out
    assert "Simulator stopped." in out


def test_simulate_operator_writes_operator_2_3_status_in_the_model_asked_for(sandbox_23, namespace_23: str) -> None:
    from emqx.models import apps_v2

    argv = ["simulate_operator", "--kubeconfig", str(sandbox_23.kubeconfig), "--namespace", namespace_23]
    command = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "manage.py", *argv, "--pace", "0.05", "--status-model", "B"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_ctrl_c_reaches_it,
    )
    try:
        with Clientset.from_kubeconfig(sandbox_23.kubeconfig) as cs:
            client = cs.apps_v2.emqxes(namespace_23)
            doc = {"metadata": {"name": "model-b", "namespace": namespace_23}, "spec": {"image": "emqx/emqx:5.8.6"}}
            client.create(apps_v2.EMQX.from_dict(doc))

            def types() -> dict[str, str]:
                obj = client.get("model-b")
                return {c.type: c.status for c in (obj.status.conditions if obj.status else None) or []}

            wait_for(lambda: types().get("Ready") == "True", what="Ready via the command")
            # Model B: only the four independent conditions; the state machine's Initialized never appears.
            assert set(types()) <= {"CoreNodesProgressing", "ReplicantNodesProgressing", "Available", "Ready"}
        _interrupt(command)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    assert command.returncode == 0
