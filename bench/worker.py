"""One measured run in its own process, so that peak RSS belongs to that run alone.

`python -m bench.worker pipeline|bulk|naive --data DIR --limit N --store DIR --out RESULT.json [--findings F.json]
[--profile PROFILE.txt]`: writes the run's result (with `peak_rss_bytes`) and finding keys as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from bench.findings import to_json
from bench.treewatch import TreeWatch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("kind", choices=("pipeline", "bulk", "naive"))
    parser.add_argument("--ingest-workers", type=int, default=0,
                        help="pipeline/bulk: the setting ingest_workers (0: automatic, 1: no worker processes)")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--limit", type=int, required=True, help="the first N profiles of --data, in name order")
    parser.add_argument("--store", type=Path, required=True, help="a new directory for the store")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--findings", type=Path, help="write the finding keys here")
    parser.add_argument("--profile", type=Path, help="profile the run with pyinstrument, text report here")
    args = parser.parse_args(argv)
    paths = sorted(args.data.glob("*.txt"))[: args.limit]
    profiler = _start_profiler() if args.profile else None
    started = time.perf_counter()
    with TreeWatch() as watch:
        result, findings = _run(args.kind, paths, args.store, args.ingest_workers)
    result["process_seconds"] = round(time.perf_counter() - started, 3)
    result["peak_tree_rss_bytes"] = watch.peak_tree_rss_bytes  # this process and its workers, at once
    result["descendants_cpu_seconds"] = round(watch.descendant_cpu_seconds, 3)
    usage, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result["peak_rss_bytes"] = usage.ru_maxrss * 1024  # KiB on Linux
    result["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 3)
    if children.ru_maxrss:  # child processes that were waited for
        result["children_peak_rss_bytes"] = children.ru_maxrss * 1024
        result["children_cpu_seconds"] = round(children.ru_utime + children.ru_stime, 3)
    if profiler is not None:
        profiler.stop()
        args.profile.write_text(profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8")
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.findings:
        args.findings.write_text(json.dumps(findings) + "\n", encoding="utf-8")
    return 0


def _run(kind: str, paths: list[Path], store: Path, ingest_workers: int) -> tuple[dict[str, Any], Any]:
    if kind in ("pipeline", "bulk"):
        from bench.instrument import run_pipeline
        from kg.config import Settings

        settings = Settings(store=str(store), ingest_workers=ingest_workers, ingest_bulk=kind == "bulk")
        result, per_document = run_pipeline(paths, store, settings=settings)
        return result, {source: to_json(keys) for source, keys in per_document.items()}
    from bench.naive import run_naive

    naive_result, keys = run_naive(paths, store)
    return naive_result, to_json(keys)


def _start_profiler() -> Any:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.005)
    profiler.start()
    return profiler


if __name__ == "__main__":
    sys.exit(main())
