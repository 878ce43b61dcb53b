"""`manage.py demo` starts a sandbox, seeds it, simulates the operator and serves the console;
SIGINT stops all of it and leaves no process behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from emqx.client import Clientset
from sandbox.cluster import free_port
from tests.factories import emqx
from tests.operator import head, wait_for

ROOT = Path(__file__).resolve().parents[2]


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


def test_the_demo_serves_the_login_page_and_leaves_nothing_behind_on_sigint(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CONSOLE_SQLITE_PATH": str(tmp_path / "demo.sqlite3"), "PYTHONUNBUFFERED": "1"}
    env.pop("KUBECONFIG", None)
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--addr", f"127.0.0.1:{port}", "--pace", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(iter(demo.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        pids_line = wait_for(
            lambda: next((line for line in output if line.startswith("Sandbox pids:")), None),
            timeout=120,
            what="the demo to print the sandbox's pids",
        )
        sandbox_pids = {int(pid) for pid in re.findall(r"=(\d+)", pids_line)}
        assert len(sandbox_pids) == 2 and all(_alive(pid) for pid in sandbox_pids)

        login = f"http://127.0.0.1:{port}/login/"
        assert wait_for(lambda: _status(login) == 200, timeout=120, what="the login page") is True
        assert any(line.startswith("Demo data: ") and " created" in line for line in output), output
        assert any("admin / emqx-demo" in line for line in output), output
        tree = _descendants(demo.pid)
        assert sandbox_pids <= tree

        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0, "".join(output)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    reader.join(5)

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in tree):
        time.sleep(0.1)
    assert [pid for pid in tree if _alive(pid)] == []
    assert any("Stopped the console, the simulator and the sandbox." in line for line in output), output


def test_simulate_operator_writes_status_until_interrupted(sandbox, namespace: str) -> None:
    argv = ["simulate_operator", "--kubeconfig", str(sandbox.kubeconfig), "--namespace", namespace, "--pace", "0.05"]
    command = subprocess.Popen(
        [sys.executable, "manage.py", *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with Clientset.from_kubeconfig(sandbox.kubeconfig) as cs:
            client = cs.apps_v2beta1.emqxes(namespace)
            client.create(emqx("by-command", core_replicas=1))
            wait_for(lambda: head(client.get("by-command")) == ("Ready", "Ready"), what="Ready via the command")
        command.send_signal(signal.SIGINT)
        out, _ = command.communicate(timeout=30)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    assert command.returncode == 0, out
    assert f"(namespace {namespace}, 0.05 s per pod)" in out
    assert "Simulator stopped." in out
