"""A cache's first sync (issue 18): paged LISTs against the API server's streaming list, for N EMQX.

    .venv/bin/python bench/first_sync.py                   # 10,000 EMQX in one sandbox, 3 runs of each way
    .venv/bin/python bench/first_sync.py --count 2000 --runs 5

Three ways to read every EMQX once, each run in a fresh child process so that its peak memory is its own:

    paged LIST     GET .../emqxes?limit=500, then each page's continue token: what the console's
                   Informer does today (ResourceClient.list_all, page_size=500)
    one LIST       GET .../emqxes, no limit: the whole collection in one answer
    streaming list a WATCH with sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true
                   (KEP-3157, "WatchList"), read event by event until the BOOKMARK annotated
                   k8s.io/initial-events-end: the state as ADDED events, then the watch goes on from there

Each child keeps every object decoded (json.loads: dicts, as the cache would hold them before its models), and
reports the wall time, the bytes read (identity encoding: no Accept-Encoding), and its peak RSS (ru_maxrss)
above the RSS it had before the first request. The parent samples the kube-apiserver's RSS every 20 ms
during each child and reports its peak above the level before (Go frees lazily: read it as a bound). The
feature gate is read from the API server's own metrics (kubernetes_feature_enabled{name="WatchList"}).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import child_result

ROOT = Path(__file__).resolve().parent.parent
COLLECTION = "/apis/apps.emqx.io/v2beta1/emqxes"
WAYS = ("paged LIST", "one LIST", "streaming list")


def _rss_kib(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# ----- the child: one way, once --------------------------------------------------------------


def child(way: str, server: str, token: str, ca: str) -> dict[str, Any]:
    import urllib3

    http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca, retries=False)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    base_kib = _rss_kib()
    items: list[dict[str, Any]] = []
    received = 0
    requests = 0
    started = time.perf_counter()
    if way in ("paged LIST", "one LIST"):
        token_ = ""
        while True:
            query = {"limit": "500"} if way == "paged LIST" else {}
            if token_:
                query["continue"] = token_
            response = http.request("GET", f"{server}{COLLECTION}?{urlencode(query)}", headers=headers, timeout=120.0)
            requests += 1
            assert response.status == 200, (response.status, response.data[:300])
            received += len(response.data)
            page = json.loads(response.data)
            items.extend(page["items"])
            token_ = page["metadata"].get("continue", "")
            if not token_:
                break
    elif way == "streaming list":
        query = {
            "watch": "1",
            "sendInitialEvents": "true",
            "resourceVersionMatch": "NotOlderThan",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": "300",
        }
        response = http.request(
            "GET", f"{server}{COLLECTION}?{urlencode(query)}", headers=headers, preload_content=False, timeout=120.0
        )
        requests += 1
        assert response.status == 200, (response.status, response.read()[:300])
        buffer = b""
        done = False
        for chunk in response.stream(64 * 1024):
            received += len(chunk)
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if not line:
                    continue
                event = json.loads(line)
                if event["type"] == "ADDED":
                    items.append(event["object"])
                elif event["type"] == "BOOKMARK":
                    annotations = event["object"]["metadata"].get("annotations") or {}
                    if annotations.get("k8s.io/initial-events-end") == "true":
                        done = True
                        break
                else:
                    raise RuntimeError(f"unexpected event {event['type']}: {line[:300]!r}")
            if done:
                break
        response.release_conn()
        if not done:
            raise RuntimeError("the watch ended before the initial-events-end bookmark (is WatchList on?)")
    else:
        raise SystemExit(f"unknown way {way!r}")
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "way": way,
        "seconds": seconds,
        "items": len(items),
        "bytes": received,
        "requests": requests,
        "peak_mib": (peak_kib - base_kib) / 1024,
        "held_mib": (_rss_kib() - base_kib) / 1024,
    }


# ----- the parent ----------------------------------------------------------------------------


class Sampler:
    """The peak VmRSS of a process while the block runs, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_kib(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> Sampler:
        self.before = _rss_kib(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def feature_gate(metrics: str, name: str) -> str:
    for line in metrics.splitlines():
        if line.startswith("kubernetes_feature_enabled{") and f'name="{name}"' in line:
            return line
    return f"(no kubernetes_feature_enabled line for {name})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="EMQX instances")
    parser.add_argument("--runs", type=int, default=3, help="runs of each way (interleaved)")
    parser.add_argument("--child", choices=WAYS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(
            json.dumps(child(args.child, os.environ["BENCH_SERVER"], os.environ["BENCH_TOKEN"], os.environ["BENCH_CA"]))
        )
        return

    from bench.fixtures import Api, create_instances
    from bench.run import load_average, machine, sandbox_cluster
    from sandbox.build import ensure_binaries

    info = machine()
    ensure_binaries()
    began = time.monotonic()
    results: dict[str, list[dict[str, Any]]] = {way: [] for way in WAYS}
    with sandbox_cluster() as sandbox:
        gate = feature_gate(sandbox.metrics(), "WatchList")
        print(f"feature gate: {gate}", flush=True)
        api = Api(sandbox)
        create_instances(sandbox, api, range(args.count), progress=lambda n: None)
        api.close()
        print(f"{args.count:,} EMQX created in {time.monotonic() - began:.0f} s", flush=True)
        apiserver = json.loads(sandbox.state_file.read_text())["apiserver_pid"]
        env = {
            **os.environ,
            "BENCH_SERVER": sandbox.server,
            "BENCH_TOKEN": sandbox.admin_token,
            "BENCH_CA": str(sandbox.ca_file),
            "PYTHONPATH": str(ROOT),
        }
        for _ in range(args.runs + 1):  # the first round warms the API server's paths; not kept
            for way in WAYS:
                with Sampler(apiserver) as sampled:
                    result = child_result(["bench.first_sync", "--child", way], cwd=ROOT, env=env, timeout=600)
                assert result["items"] == args.count, result
                result["server_mib"] = (sampled.peak - sampled.before) / 1024
                results[way].append(result)
            print(f"round done, load {load_average()}", flush=True)
    for way in WAYS:
        results[way] = results[way][1:]
    print()
    print(f"machine: {info}; load at the end {load_average()}; took {time.monotonic() - began:.0f} s")
    print(f"API server: kube-apiserver v1.37.2 (the sandbox); {gate}")
    print(f"first sync of {args.count:,} EMQX (full operator example with status), median of {args.runs} (min-max)")
    print("| way | requests | wall time | bytes read | client peak RSS above start | API server RSS peak rise |")
    print("|---|---:|---:|---:|---:|---:|")
    for way in WAYS:
        rs = results[way]

        def cell(key: str, unit: str, scale: float = 1.0, digits: int = 0, rs: list[dict[str, Any]] = rs) -> str:
            values = [r[key] * scale for r in rs]
            return f"{statistics.median(values):.{digits}f} {unit} ({min(values):.{digits}f}-{max(values):.{digits}f})"

        print(
            f"| {way} | {rs[0]['requests']} | {cell('seconds', 's', digits=2)} | {rs[0]['bytes'] / 2**20:.1f} MiB "
            f"| {cell('peak_mib', 'MiB')} | {cell('server_mib', 'MiB')} |"
        )


if __name__ == "__main__":
    main()
