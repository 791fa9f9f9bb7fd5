"""`python -m bench ingest`: the project pipeline vs the naive one on generated profiles, each run in its own
process (so peak RSS is per run), with a check that both give the same validation findings.

Writes bench/results/ingest-<size>.json (machine, exact command, every run) and prints a table.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.findings import compare, from_json
from bench.generate import Options, ensure_generated, options_json
from bench.machine import ROOT, command_line, machine_info

NAIVE_SIZES = (100, 300, 1000, 3000, 10000)
WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("ingest", help="ingest throughput, peak RSS and stage times vs the naive pipeline")
    parser.add_argument("--profiles", type=int, required=True, help="profiles for the project pipeline")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--naive-max", type=int, default=1000,
                        help=f"largest naive size to try among {NAIVE_SIZES} (0: no naive run)")
    parser.add_argument("--budget", type=float, default=1800.0, help="seconds allowed per naive run")
    parser.add_argument("--timeout", type=float, default=4 * 3600.0, help="seconds allowed per pipeline run")
    parser.add_argument("--profile", action="store_true", help="also profile the pipeline run (pyinstrument)")
    parser.add_argument("--work", type=Path, default=WORK, help="generated data and scratch stores")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--keep-stores", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="take each run's result from bench/work/runs when a "
                        "previous invocation left it there (e.g. it failed while writing its report)")
    parser.add_argument("--runs", default="pipeline", help="pipeline (kg ingest), bulk (kg ingest --bulk), or "
                        "both separated by a comma")
    parser.add_argument("--ingest-workers", type=int, default=0,
                        help="pipeline/bulk runs: the setting ingest_workers (0: automatic, 1: in one process)")


def run(args: Any) -> int:
    options = Options(args.profiles, args.seed)
    data = ensure_generated(args.work / f"p{label(args.profiles)}-s{args.seed}", options)
    report: dict[str, Any] = {"command": command_line(), "machine": machine_info(), "data": options_json(options)}
    bench = _Runner(data, args.work / "runs", args.keep_stores, args.ingest_workers, args.reuse)
    runs = args.runs.split(",")
    if "bulk" in runs:
        report["bulk"] = bench.spawn("bulk", args.profiles, args.timeout)
    if "pipeline" in runs:
        profile = args.results / f"profile-pipeline-{label(args.profiles)}.txt" if args.profile else None
        report["pipeline"] = bench.spawn("pipeline", args.profiles, args.timeout, profile)
        if report.get("bulk", {}).get("status") == "ok" and report["pipeline"].get("status") == "ok":
            report["bulk"]["findings_vs_pipeline"] = compare(
                _pipeline_findings(report["pipeline"], args.profiles, data),
                _pipeline_findings(report["bulk"], args.profiles, data))
        report["comparisons"] = _compare_sizes(bench, args, report["pipeline"])
    args.results.mkdir(parents=True, exist_ok=True)
    if "bulk" in runs:
        report["bulk"].pop("findings", None)
    extra = "".join(f"{r}-" for r in runs if r != "pipeline")
    out = args.results / f"ingest-{extra}{label(args.profiles)}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(report))
    print(f"results: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


def _compare_sizes(bench: _Runner, args: Any, full: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for size in (s for s in NAIVE_SIZES if s <= min(args.naive_max, args.profiles)):
        pipeline = full if size == args.profiles else bench.spawn("pipeline", size, args.timeout)
        naive = bench.spawn("naive", size, args.budget)
        row: dict[str, Any] = {"profiles": size, "pipeline": pipeline, "naive": naive}
        if naive.get("status") == "ok" and pipeline.get("status") == "ok":
            row["speedup"] = round(naive["seconds"] / pipeline["seconds"], 1)
            row["findings"] = compare(_pipeline_findings(pipeline, size, bench.data), from_json(naive["findings"]))
        rows.append(row)
        if naive.get("status") != "ok":
            break  # a bigger naive run would not fit either
    for row in rows:
        for run in (row["pipeline"], row["naive"]):
            run.pop("findings", None)
    full.pop("findings", None)
    return rows


def _pipeline_findings(result: dict[str, Any], size: int, data: Path) -> set[tuple[str, str, str, str]]:
    sources = {str(p) for p in sorted(data.glob("*.txt"))[:size]}
    keys: set[tuple[str, str, str, str]] = set()
    for source, rows in result["findings"].items():
        if source in sources:
            keys |= from_json(rows)
    return keys


class _Runner:
    """Spawns `python -m bench.worker` runs on the first N profiles of one data folder."""

    def __init__(self, data: Path, scratch: Path, keep_stores: bool, ingest_workers: int = 0,
                 reuse: bool = False) -> None:
        self.data, self.scratch, self.keep_stores = data, scratch, keep_stores
        self.ingest_workers, self.reuse = ingest_workers, reuse

    def spawn(self, kind: str, size: int, timeout: float, profile: Path | None = None) -> dict[str, Any]:
        name = f"{kind}-{label(size)}"
        store, out = self.scratch / f"{name}.store", self.scratch / f"{name}.json"
        findings = self.scratch / f"{name}.findings.json"
        if self.reuse and out.is_file() and findings.is_file():
            return self._reused(out, findings)
        shutil.rmtree(store, ignore_errors=True)
        self.scratch.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "bench.worker", kind, "--data", str(self.data), "--limit", str(size),
                   "--store", str(store), "--out", str(out), "--findings", str(findings)]
        command += ["--profile", str(profile)] if profile else []
        command += ["--ingest-workers", str(self.ingest_workers)] if kind in ("pipeline", "bulk") else []
        print(f"[{time.strftime('%H:%M:%S')}] {name} …", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=ROOT, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"status": "timeout", "budget_seconds": timeout, "profiles": size}
        finally:
            if not self.keep_stores:
                shutil.rmtree(store, ignore_errors=True)
        if done.returncode != 0:
            return {"status": f"failed (exit {done.returncode})", "profiles": size}
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        result["findings"] = json.loads(findings.read_text(encoding="utf-8"))
        result["status"] = "ok"
        result["wall_seconds_with_start"] = round(time.perf_counter() - started, 3)
        return result


    @staticmethod
    def _reused(out: Path, findings: Path) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        result["findings"] = json.loads(findings.read_text(encoding="utf-8"))
        result["status"] = "ok"
        result["reused_from"] = str(out.relative_to(ROOT) if out.is_relative_to(ROOT) else out)
        return result


def label(size: int) -> str:
    """100, 300, 1k, 10k, 100k."""
    return f"{size // 1000}k" if size >= 1000 and size % 1000 == 0 else str(size)


def table(report: dict[str, Any]) -> str:
    """A Markdown table of the runs in one report."""
    lines = ["| run | profiles | wall s | CPU s | profiles/s | asserted triples/s | peak RSS (MiB) | findings equal |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    runs: list[tuple[str, dict[str, Any], bool | None]] = []
    if "bulk" in report:
        bulk = report["bulk"]
        runs.append(("pipeline --bulk", bulk, bulk.get("findings_vs_pipeline", {}).get("equal")))
    if "pipeline" in report:
        runs.append(("pipeline", report["pipeline"], None))
    for row in report.get("comparisons", []):
        if row["profiles"] != report["pipeline"].get("profiles"):
            runs.append(("pipeline", row["pipeline"], None))
        runs.append(("naive", row["naive"], row.get("findings", {}).get("equal")))
    for kind, result, equal in runs:
        lines.append(_row(kind, result, equal))
    return "\n".join(lines)


def _row(kind: str, result: dict[str, Any], equal: bool | None) -> str:
    if result.get("status") != "ok":
        return f"| {kind} | {result.get('profiles')} | {result.get('status')} | | | | | |"
    shown = "" if equal is None else ("yes" if equal else "NO")
    cpu = result.get("cpu_seconds", 0.0) + max(result.get("children_cpu_seconds", 0.0),
                                               result.get("descendants_cpu_seconds", 0.0))
    return (f"| {kind} | {result['profiles']} | {result['seconds']:.1f} | {cpu:.1f} | "
            f"{result['profiles_per_second']:.2f} | {result['asserted_triples_per_second']:,} | "
            f"{peak_rss(result) / 2**20:,.0f} | {shown} |")


def peak_rss(result: dict[str, Any]) -> int:
    """Peak RSS of a run: the sampled peak of its process tree (process and workers at one moment) when recorded;
    else its process plus each worker process at the largest worker's peak (an upper bound)."""
    if "peak_tree_rss_bytes" in result:
        return int(max(result["peak_tree_rss_bytes"], result["peak_rss_bytes"]))
    return int(result["peak_rss_bytes"] + result.get("workers", 0) * result.get("children_peak_rss_bytes", 0))
