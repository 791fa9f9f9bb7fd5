"""`python -m bench export --triples 1m`: `kg export` of the whole benchmark store to N-Quads and JSON-LD (also
Turtle), each in its own process: wall time and peak RSS; `oxigraph dump` of the same data as a reference.

Writes bench/results/export-<size>.json and prints a table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.machine import ROOT, command_line, machine_info
from bench.procs import BIN, timed_run
from bench.servedata import dataset_dir, ensure_dataset

RESULTS = ROOT / "bench" / "results"
SUFFIX = {"nquads": "nq", "jsonld": "jsonld", "turtle": "ttl", "trig": "trig"}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("export", help="kg export of the whole benchmark store: time and peak RSS")
    parser.add_argument("--triples", choices=("100k", "1m"), default="1m")
    parser.add_argument("--formats", default="nquads,jsonld,turtle")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results", type=Path, default=RESULTS)


def run(args: Any) -> int:
    manifest = ensure_dataset(args.triples, args.seed)
    data = dataset_dir(args.triples, args.seed)
    scratch = data / "exports"
    scratch.mkdir(exist_ok=True)
    rows = [export(data, fmt, scratch) for fmt in args.formats.split(",")]
    reference = scratch / "oxigraph-dump.nq"
    reference.unlink(missing_ok=True)
    dump = timed_run([str(BIN / "oxigraph"), "dump", "--location", str(data / "oxigraph"), "--file", str(reference)],
                     data / "logs" / "export.log")
    rows.append({"format": "nquads", "tool": "oxigraph dump (reference; holds the merge too)", **dump.json(),
                 "bytes": reference.stat().st_size if reference.exists() else None})
    report = {"command": command_line(), "machine": machine_info(),
              "dataset": {k: manifest[k] for k in ("size", "triples", "quads", "named_graphs")}, "exports": rows}
    for path in scratch.iterdir():
        path.unlink()
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"export-{args.triples}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(report))
    print(f"results: {out.relative_to(ROOT)}")
    return 0


def export(data: Path, fmt: str, scratch: Path) -> dict[str, Any]:
    target = scratch / f"export.{SUFFIX[fmt]}"
    command = [str(BIN / "kg"), "export", "--format", fmt, "--store", str(data / "store"), "--output", str(target)]
    print(f"kg export --format {fmt} …", flush=True)
    result = timed_run(command, data / "logs" / "export.log")
    return {"format": fmt, "tool": "kg export", **result.json(),
            "bytes": target.stat().st_size if target.exists() else None}


def table(report: dict[str, Any]) -> str:
    quads, triples = report["dataset"]["quads"], report["dataset"]["triples"]
    lines = [f"| export ({quads:,} quads; merge {triples:,} triples) | tool | seconds | peak RSS MiB | MiB written |",
             "|---|---|---:|---:|---:|"]
    for r in report["exports"]:
        size = f"{r['bytes'] / 2**20:,.0f}" if r.get("bytes") else "—"
        status = "" if r["returncode"] == 0 else f" (exit {r['returncode']})"
        lines.append(f"| {r['format']}{status} | {r['tool']} | {r['seconds']:.1f} | {r['peak_rss_mib']:,.0f} | "
                     f"{size} |")
    return "\n".join(lines)
