"""emqx.store.SqliteStore (the store issue 18 chose) measured as bench/store_alternatives.py measured its prototype (c).

    .venv/bin/python -m bench.store_real                        # --small 2000 --large 10000 --repeats 50
    .venv/bin/python -m bench.store_real --small 1000 --large 3000

The same synthetic fleet (bench/store_alternatives.py's fleet files in ``--fleet``, written there on first use): for
each size a fresh writer process puts every kind of every cluster into one SqliteStore per (cluster, kind), one
``replace()`` (one transaction) each, with the console's summary columns (state, version, kind_version, from the
kind's admin); then a fresh reader process (``SqliteStore.reader``) reads cluster c00's EMQX. Memory is RSS and USS
after gc and malloc_trim, above the process with Django, the console and the models imported; per 1,000 EMQX is the
difference between the sizes divided by their difference in thousands. The list page is the first 50 rows of all
namespaces plus the counts of namespace, state, version and kind_version (from the counts table); the poll is
``get()`` of one object, from the LRU (hit) and parsed (miss). Times: p50 / p99 wall and the p50 of thread CPU, ms.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.store_alternatives import KINDS, POLLED, django_setup, fleet_file, memory, model_of, read_fleet, timed

PAGE = 50
COLUMNS = ("state", "version", "kind_version")


def columns_of(kind: str) -> Any:
    """The console's summary columns of ``kind`` (what the next change will pass from console/)."""
    from console.registry import site

    admin = site.for_kind(kind)

    def columns(obj: Any) -> dict[str, str]:
        s = admin.summarize(obj)
        return {c: str(getattr(s, c) or "") for c in COLUMNS}

    return columns


def model_class(kind: str) -> Any:
    import importlib

    return getattr(importlib.import_module(f"emqx.models.{KINDS[kind]}"), kind)


def child_writer(data: Path, db: Path) -> dict[str, Any]:
    from emqx.client.resource import _compact_managed_fields
    from emqx.store import SqliteStore, SyncState

    django_setup()
    model_of("EMQX", json.loads(next(read_fleet(data))[2]))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    base = memory()
    stores: dict[tuple[str, str], Any] = {}
    wall, cpu = time.perf_counter(), time.process_time()
    for kind in KINDS:  # one pass per kind: in the fleet file a cluster's brokers and rebalances alternate
        lines = ((c, raw) for c, k, raw in read_fleet(data) if k == kind)
        for cluster, group in itertools.groupby(lines, key=lambda line: line[0]):  # a kind's clusters are in order
            store = stores[(cluster, kind)] = SqliteStore(
                db, cluster=cluster, kind=kind, model=model_class(kind), columns=columns_of(kind), lru_size=0
            )
            # As the Informer's client decodes them for a store of its own: compact managedFields, the decoded
            # document kept for the store (emqx.client.resource.ResourceClient.with_source_documents).
            model = model_class(kind)
            items = (model.read(_compact_managed_fields(json.loads(raw)), keep_source=True) for _, raw in group)
            store.replace(items, SyncState(synced=True, healthy=True, generation=1))
    load = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    return {"base": base, "loaded": memory(), "load": load, "db_mib": db.stat().st_size / 2**20}


def child_reader(db: Path, repeats: int) -> dict[str, Any]:
    from emqx.models.apps_v2beta1 import EMQX
    from emqx.store import SqliteStore

    django_setup()
    base = memory()
    reader = SqliteStore.reader(db, POLLED[0], "EMQX", EMQX)

    def page() -> None:
        reader.page(limit=PAGE)
        for column in ("namespace", *COLUMNS):
            reader.counts(column)

    result = {
        "page": timed(page, repeats),
        "prefix": timed(lambda: reader.page(name_prefix="emqx-012", limit=PAGE), repeats),
        "label": timed(lambda: reader.page(labels={"tier": "gold"}, limit=PAGE), repeats),
        "poll_hit": timed(lambda: reader.get(*POLLED[1:]), repeats * 10),
        "generation": timed(reader.generation, repeats * 10),
    }
    miss = SqliteStore.reader(db, POLLED[0], "EMQX", EMQX, lru_size=0)
    result["poll_miss"] = timed(lambda: miss.get(*POLLED[1:]), repeats * 2)
    return {**result, "base": base, "loaded": memory()}


def _child(*argv: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "bench.store_real", *argv], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--fleet", type=Path, default=Path("/tmp/bench-store"), help="where the fleet files are")
    parser.add_argument("--db", type=Path, default=Path("/tmp/bench-store-real/store.sqlite3"))
    parser.add_argument("--child", choices=("writer", "reader"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "writer":
        print(json.dumps(child_writer(args.data, args.db)))
        return
    if args.child == "reader":
        print(json.dumps(child_reader(args.db, args.repeats)))
        return
    args.fleet.mkdir(parents=True, exist_ok=True)
    args.db.parent.mkdir(parents=True, exist_ok=True)
    results = {}
    for size in (args.small, args.large):
        print(f"{size:,} EMQX ...", file=sys.stderr, flush=True)
        data = fleet_file(args.fleet, size)
        writer = _child("--child", "writer", "--data", str(data), "--db", str(args.db))
        reader = _child("--child", "reader", "--db", str(args.db), "--repeats", str(args.repeats))
        results[size] = (writer, reader)
    per = (args.large - args.small) / 1000

    def grown(role: int, key: str) -> float:
        (a, b) = (results[s][role]["loaded"][key] - results[s][role]["base"][key] for s in (args.small, args.large))
        return (b - a) / per

    def ms(t: dict[str, float]) -> str:
        return f"{t['p50']:.2f} / {t['p99']:.2f} (CPU {t['cpu']:.2f})"

    w, r = results[args.large]
    print(f"emqx.store.SqliteStore, {args.small:,} and {args.large:,} EMQX (+ a tenth brokers and rebalances each):")
    load = w["load"]
    print(f"  writer: initial sync {load['wall_s']:.1f} s ({load['cpu_s']:.1f} s CPU); file {w['db_mib']:.1f} MiB")
    print(
        f"  writer above its base at {args.large:,}: RSS {w['loaded']['rss'] - w['base']['rss']:.1f} MiB;"
        f" per extra 1,000 EMQX: RSS {grown(0, 'rss'):.1f}, USS {grown(0, 'uss'):.1f} MiB"
    )
    print(
        f"  reader above its base at {args.large:,}: RSS {r['loaded']['rss'] - r['base']['rss']:.1f} MiB;"
        f" per extra 1,000 EMQX: RSS {grown(1, 'rss'):.1f}, USS {grown(1, 'uss'):.1f} MiB"
    )
    print(f"  list page (first {PAGE} of all namespaces + 4 counts) ms: {ms(r['page'])}")
    print(f"  name prefix page: {ms(r['prefix'])}; label page: {ms(r['label'])}")
    print(f"  poll get(): LRU hit {ms(r['poll_hit'])}; parsed {ms(r['poll_miss'])}; generation() {ms(r['generation'])}")


if __name__ == "__main__":
    main()
