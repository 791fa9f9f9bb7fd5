"""How the cost of one bulk write grows with the store: prepared documents written batch by batch with
`EmbeddedStore.bulk_add_graphs` (the bulk load `kg ingest --bulk` makes for each batch, without its two small
transactions), CPU (RocksDB's threads included) and wall seconds of each write recorded.

`python -m bench bulkwrite --profiles 3000 --batch 100` -> bench/results/bulkwrite-3k-batch100.json
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.ingest_bench import RESULTS, WORK, label
from bench.machine import ROOT, command_line, machine_info
from kg.config import Settings
from kg.prepare import PreparedDocument, Preparer, prepared_in_order
from kg.store import EmbeddedStore


def _cpu() -> float:
    times = os.times()  # the whole process: RocksDB's background threads included
    return times.user + times.system


def _write(store: EmbeddedStore, batch: list[PreparedDocument]) -> dict[str, float]:
    graphs = [graph for document in batch for graph in document.graphs]
    cpu, wall = _cpu(), time.perf_counter()
    store.bulk_add_graphs(graphs)
    return {"documents": len(batch), "named_graph_quads": sum(blob.count(b"\n") for _, blob in graphs),
            "cpu_seconds": round(_cpu() - cpu, 3), "wall_seconds": round(time.perf_counter() - wall, 3)}


def _writes(data: Path, profiles: int, batch_size: int, scratch: Path) -> list[dict[str, float]]:
    paths = sorted(data.glob("*.txt"))[:profiles]
    if len(paths) < profiles:
        raise SystemExit(f"{data}: expected at least {profiles} profiles, found {len(paths)} "
                         "(python -m bench generate)")
    shutil.rmtree(scratch, ignore_errors=True)
    writes: list[dict[str, float]] = []
    batch: list[PreparedDocument] = []
    with EmbeddedStore(scratch) as store:
        # prepared in this process, between the writes: nothing else competes for the cores while one is timed
        for _, prepared in prepared_in_order(Preparer(Settings()), paths, workers=1, ahead=batch_size):
            if prepared is not None:
                batch.append(prepared)
            if len(batch) >= batch_size:
                writes.append(_write(store, batch))
                print(f"[{time.strftime('%H:%M:%S')}] {len(writes) * batch_size} documents: {writes[-1]}",
                      file=sys.stderr, flush=True)
                batch = []
        if batch:
            writes.append(_write(store, batch))
    shutil.rmtree(scratch, ignore_errors=True)
    return writes


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("bulkwrite", help="cost of each bulk write as the store grows")
    parser.add_argument("--data", type=Path, default=WORK / "p10k-s1",
                        help="generated profiles (python -m bench generate)")
    parser.add_argument("--profiles", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--results", type=Path, default=RESULTS)


def run(args: Any) -> int:
    writes = _writes(args.data, args.profiles, args.batch, WORK / "runs" / "bulkwrite.store")
    per_profile = [round(1000 * w["cpu_seconds"] / w["documents"], 1) for w in writes]
    documents = sum(w["documents"] for w in writes)
    total_cpu = sum(w["cpu_seconds"] for w in writes)
    report: dict[str, Any] = {"command": command_line(), "machine": machine_info(), "batch": args.batch,
                              "documents": documents, "write_cpu_seconds": round(total_cpu, 1),
                              "write_wall_seconds": round(sum(w["wall_seconds"] for w in writes), 1),
                              "cpu_ms_per_profile": round(1000 * total_cpu / max(documents, 1), 1),
                              "writes": writes, "cpu_ms_per_profile_by_write": per_profile}
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"bulkwrite-{label(args.profiles)}-batch{args.batch}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"CPU ms a profile, write by write: {per_profile}; overall {report['cpu_ms_per_profile']}\n"
          f"results: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0
