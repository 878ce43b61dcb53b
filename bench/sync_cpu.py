"""The shared cache's writer: CPU per object of a first LIST and of a watch event, by step (issue 18, /readyz).

    .venv/bin/python -m bench.sync_cpu                  # --sizes 1000 10000 --events 1000
    .venv/bin/python -m bench.sync_cpu --sizes 1000 --profile /tmp/sync.html   # pyinstrument of the whole LIST

The writer's own code paths, without a sandbox (the API server's part is not the writer's CPU): bench/
store_alternatives.py's fleet of the operator's example EMQX (as a LIST returns them: defaults, server metadata,
status; ``--fleet``, written there on first use), each cluster's EMQX cut into LIST pages of 500 as the API server's
JSON bodies. For each size (the first ``size`` EMQX, one store per cluster of 1,000, as console/sharedcache.py's
writer keeps them), in a fresh process:

* **parse**: ``ResourceClient._decode_list_lenient`` of every page (what ``list_pages(on_invalid=...)`` does with
  a body: json.loads, compact managedFields, ``Resource.read``), by a client ``with_compact_managed_fields()``
  as the Informer's;
* **store**: ``SqliteStore.replace`` of those models (no columns, no digest): the document written again, the row,
  labels and counts, in one transaction per cluster;
* **summarize+pickle**: ``console.sharedcache.encode_summary(admin.summarize(obj))`` of each model;
* **whole LIST**: the writer as it runs (console/sharedcache.py: ``SqliteStore(digest=...)``, a page parsed as it
  is stored), in a new file: what ``/readyz`` waits for;
* **watch event**: ``--events`` MODIFIED events (a new status and resourceVersion) as JSON lines, each decoded as
  emqx.client.watch.Watch does (``_decode_object``) and applied in its own transaction (``SqliteStore.apply``).

Numbers: process CPU (``time.process_time``) per object in microseconds, and the total in seconds; each size is
run ``--repeats`` times (default 2) and the lower total kept (the machine is shared: the load average is printed).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PAGE_SIZE = 500


def _pages(fleet: Path, size: int) -> dict[str, list[bytes]]:
    """The first ``size`` EMQX of the fleet file as LIST bodies of PAGE_SIZE, per cluster."""
    from bench.store_alternatives import read_fleet

    docs: dict[str, list[bytes]] = {}
    taken = 0
    for cluster, kind, raw in read_fleet(fleet):
        if kind != "EMQX":
            continue
        docs.setdefault(cluster, []).append(raw)
        taken += 1
        if taken == size:
            break
    pages: dict[str, list[bytes]] = {}
    for cluster, items in docs.items():
        chunks = [items[i : i + PAGE_SIZE] for i in range(0, len(items), PAGE_SIZE)]
        pages[cluster] = [
            b'{"apiVersion":"apps.emqx.io/v2beta1","kind":"EMQXList","metadata":{"resourceVersion":"999",'
            + (b'"continue":"next"' if n < len(chunks) - 1 else b'"continue":""')
            + b'},"items":['
            + b",".join(chunk)
            + b"]}"
            for n, chunk in enumerate(chunks)
        ]
    return pages


def _cpu(function: Callable[[], object]) -> float:
    gc.collect()
    start = time.process_time()
    function()
    return time.process_time() - start


def child(fleet: Path, size: int, events: int, profile: str | None) -> dict[str, Any]:
    from bench.store_alternatives import changed_document, django_setup

    django_setup()
    from console.registry import site
    from console.sharedcache import encode_summary
    from emqx.client.resource import ResourceClient
    from emqx.client.watch import EventType
    from emqx.models.apps_v2beta1 import EMQX
    from emqx.store import SqliteStore, SyncState

    pages = _pages(fleet, size)
    n = sum(len(body) for body in pages.values())  # bodies; objects below
    # The Informer's client for a store of its own (emqx/cache.py): compact managedFields, and the decoded documents
    # kept for the store where the client can (getattr: this script also measures the commits before that).
    client = ResourceClient(None, EMQX, None).with_compact_managed_fields()  # type: ignore[arg-type]
    client = getattr(client, "with_source_documents", lambda: client)()
    admin = site.for_kind("EMQX")
    state = SyncState(synced=True, healthy=True, generation=1, resource_version="999")

    def ignore(raw: Any, error: Any) -> None:
        pass

    def decode(cluster: str) -> Iterator[Any]:
        for body in pages[cluster]:
            yield from client._decode_list_lenient(body, ignore).items

    out: dict[str, Any] = {"size": size}
    with tempfile.TemporaryDirectory(prefix="sync-cpu-") as tmp:
        models: dict[str, list[Any]] = {}
        out["parse"] = _cpu(lambda: models.update({c: list(decode(c)) for c in pages}))
        n = sum(len(m) for m in models.values())
        out["objects"] = n

        def store_all(path: Path, digest: Any) -> None:
            for cluster, items in models.items():
                store = SqliteStore(path, cluster=cluster, kind="EMQX", model=EMQX, digest=digest, lru_size=0)
                store.replace(items, state)
                store.close()

        out["store"] = _cpu(lambda: store_all(Path(tmp) / "store.sqlite3", None))
        out["summarize_pickle"] = _cpu(lambda: [encode_summary(admin.summarize(o)) for m in models.values() for o in m])
        kept = next(iter(models.values()))[: max(1, events)]
        models.clear()

        def writer() -> None:  # console/sharedcache.py's writer, page by page
            for cluster in pages:
                store = SqliteStore(
                    Path(tmp) / "writer.sqlite3",
                    cluster=cluster,
                    kind="EMQX",
                    model=EMQX,
                    digest=lambda obj: encode_summary(admin.summarize(obj)),
                    lru_size=0,
                )
                store.replace(decode(cluster), state)
                store.close()

        if profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.001)
            profiler.start()
            out["whole_list"] = _cpu(writer)
            profiler.stop()
            Path(profile).write_text(
                profiler.output_html() if profile.endswith(".html") else profiler.output_text(show_all=False)
            )
        else:
            out["whole_list"] = _cpu(writer)

        lines = [
            json.dumps(
                {"type": "MODIFIED", "object": changed_document(obj.to_dict(), i)}, separators=(",", ":")
            ).encode()
            for i, obj in enumerate(itertools.islice(itertools.cycle(kept), events))
        ]
        store = SqliteStore(
            Path(tmp) / "writer.sqlite3",
            cluster=next(iter(pages)),
            kind="EMQX",
            model=EMQX,
            digest=lambda obj: encode_summary(admin.summarize(obj)),
            lru_size=0,
        )

        def watch() -> None:
            for line in lines:
                event = json.loads(line)
                obj = client._decode_object(event["object"])
                store.apply(EventType.MODIFIED, obj, state)

        out["events"] = len(lines)
        out["watch_event"] = _cpu(watch)
        store.close()
    return out


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bench.store_alternatives import fleet_file

    fleet = fleet_file(Path(args.fleet), 10000 if max(args.sizes) > 2000 else 2000)
    results = []
    for size in args.sizes:
        best: dict[str, Any] | None = None
        for repeat in range(args.repeats):
            command = [sys.executable, "-m", "bench.sync_cpu", "--child", str(fleet), str(size), str(args.events)]
            if args.profile and repeat == 0:
                command += ["--profile-to", args.profile]
            reply = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            reply["load"] = os.getloadavg()
            print(f"  size {size}, run {repeat + 1}: {_line(reply)}", file=sys.stderr)
            if best is None or reply["whole_list"] < best["whole_list"]:
                best = reply
        assert best is not None
        results.append(best)
    return results


def _line(r: dict[str, Any]) -> str:
    per = 1e6 / r["objects"]
    return (
        f"parse {r['parse'] * per:.0f} µs, store {r['store'] * per:.0f} µs, summarize+pickle "
        f"{r['summarize_pickle'] * per:.0f} µs, whole LIST {r['whole_list'] * per:.0f} µs = {r['whole_list']:.2f} s "
        f"CPU for {r['objects']}; watch event {r['watch_event'] * 1e6 / r['events']:.0f} µs "
        f"(load {' '.join(f'{x:.2f}' for x in r['load'])})"
    )


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| EMQX | parse | store | summarize+pickle | whole LIST (per object; total) | watch event | load average |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        per = 1e6 / r["objects"]
        rows.append(
            f"| {r['objects']:,} | {r['parse'] * per:.0f} µs | {r['store'] * per:.0f} µs | "
            f"{r['summarize_pickle'] * per:.0f} µs | {r['whole_list'] * per:.0f} µs; {r['whole_list']:.2f} s | "
            f"{r['watch_event'] * 1e6 / r['events']:.0f} µs | {' '.join(f'{x:.2f}' for x in r['load'])} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--fleet", default="/tmp/bench-store", help="where the fleet files are (or are written)")
    parser.add_argument("--profile", help="write pyinstrument's HTML of the first whole LIST of each size here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fleet, size, events = args.child
        print(json.dumps(child(Path(fleet), int(size), int(events), args.profile_to)))
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()}", file=sys.stderr)
    print(table(run(args)))


if __name__ == "__main__":
    main()
