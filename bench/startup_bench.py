"""`python -m bench startup --triples 1m`: how long `kg serve` takes until it listens and until /healthz answers
200, on the benchmark store; the first start after `kg ingest` is taken from the dataset build.

Writes bench/results/startup-<size>.json and prints a table.
"""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path
from typing import Any

from bench.machine import ROOT, command_line, machine_info
from bench.procs import BIN, Server, timed_run
from bench.servedata import dataset_dir, ensure_dataset, first_start, kg_server

RESULTS = ROOT / "bench" / "results"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("startup", help="time until kg serve is ready on the benchmark store")
    parser.add_argument("--triples", choices=("100k", "1m"), default="1m")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cold", action="store_true",
                        help="also ingest the profiles again into a fresh store and time the first start on it")
    parser.add_argument("--results", type=Path, default=RESULTS)


def run(args: Any) -> int:
    manifest = ensure_dataset(args.triples, args.seed)
    data = dataset_dir(args.triples, args.seed)
    cold = cold_start(data, manifest["steps"]["generate"]["folder"]) if args.cold else None
    runs = [one_start(data, i) for i in range(args.runs)]
    report: dict[str, Any] = {
        "command": command_line(), "machine": machine_info(),
        "dataset": {k: manifest[k] for k in ("size", "triples", "quads", "named_graphs")},
        "first_start_after_ingest": cold or manifest["steps"]["first_start"],
        "runs": runs, "parts": parts(data),
    }
    for key in ("listening_seconds", "ready_seconds"):
        values = [r[key] for r in runs]
        report[f"median_{key}"] = round(statistics.median(values), 3)
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"startup-{args.triples}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(report))
    print(f"results: {out.relative_to(ROOT)}")
    return 0


def one_start(data: Path, index: int) -> dict[str, Any]:
    """Seconds from spawning `kg serve` to its first HTTP answer (a route that reads no data: /openapi.json is
    built at start-up) and to /healthz 200 (which counts the quads once)."""
    server = kg_server(data / "store", data / "logs" / "startup.log")
    listening = Server(server.name, server.command, server.port, "/sparql", "/openapi.json", server.log)
    listening.start()
    try:
        heard = listening.wait_ready(600.0)
        listening.ready_path = "/healthz"
        ready = listening.wait_ready(600.0)
        memory = listening.rss()
    finally:
        listening.stop()
    print(f"start {index + 1}: listening {heard:.2f} s, ready {ready:.2f} s", flush=True)
    return {"listening_seconds": round(heard, 3), "ready_seconds": round(ready, 3), **memory}


def cold_start(data: Path, profiles: str) -> dict[str, Any]:
    """`kg ingest` into a fresh store, then the first `kg serve` on it (RocksDB replays its write-ahead log)."""
    store = data / "store-cold"
    shutil.rmtree(store, ignore_errors=True)
    ingest = timed_run([str(BIN / "kg"), "ingest", str(ROOT / profiles), "--store", str(store)],
                       data / "logs" / "startup-cold-ingest.log")
    try:
        return {"ingest": ingest.json(), **first_start(store, data / "logs" / "startup-cold.log")}
    finally:
        shutil.rmtree(store, ignore_errors=True)


def parts(data: Path) -> dict[str, Any]:
    """Where start-up time goes: importing the CLI, opening the store, counting quads (the first /healthz)."""
    log = data / "logs" / "startup-parts.log"
    python = str(BIN / "python")
    steps = {
        "import_kg_cli": [python, "-c", "import kg.cli, kg.server.app"],
        "open_store": [python, "-c", f"from kg.store import open_store; open_store({str(data / 'store')!r}).close()"],
        "open_store_and_count_quads": [python, "-c", "from kg.store import open_store; "
                                       f"s = open_store({str(data / 'store')!r}); s.quad_count(); s.close()"],
        "python_startup": [python, "-c", "pass"],
    }
    return {name: timed_run(command, log).json() for name, command in steps.items()}


def table(report: dict[str, Any]) -> str:
    lines = ["| start | listening s | ready (/healthz 200) s |", "|---|---:|---:|"]
    first = report["first_start_after_ingest"]
    if first.get("ready_seconds") is not None:
        lines.append(f"| first after `kg ingest` (write-ahead log {first['wal_bytes_before'] / 2**20:,.0f} MiB) | — | "
                     f"{first['ready_seconds']:.2f} |")
    for i, r in enumerate(report["runs"], 1):
        lines.append(f"| {i} | {r['listening_seconds']:.2f} | {r['ready_seconds']:.2f} |")
    lines.append(f"| median | {report['median_listening_seconds']:.2f} | {report['median_ready_seconds']:.2f} |")
    lines += ["", "| part | seconds |", "|---|---:|"]
    lines += [f"| {name} | {p['seconds']:.2f} |" for name, p in report["parts"].items()]
    return "\n".join(lines)
