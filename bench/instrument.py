"""Runs the project pipeline (kg.ingest.Pipeline) over profile files with a stopwatch on each stage.

The stopwatch wraps the functions the Pipeline calls (module globals of kg.prepare, methods of its validator,
reasoner, N-Triples writer and store) for the duration of one run; nothing in kg/ is edited. Stages that run in
worker processes (settings ingest_workers > 1) are not seen: run with ingest_workers=1 for the breakdown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import kg.prepare
from bench.findings import FindingKey, report_keys
from kg.config import Settings
from kg.ingest import IngestSummary, Pipeline
from kg.prepare import worker_count
from kg.store import open_store

F = TypeVar("F", bound=Callable[..., Any])
STAGES = ("read", "parse", "map", "validate", "reason", "serialize", "commit")
# kg.prepare globals that are one stage each (looked up at call time, so replacing them times every call)
_MODULE_STAGES = {"read_document": "read", "parse_profile": "parse", "map_profile": "map",
                  "ntriples": "serialize"}
_STORE_WRITES = ("replace_graphs", "bulk_add_graphs")
_PREPARE_STAGES = ("read", "parse", "map", "validate", "reason", "serialize")


class StageClock:
    """Seconds spent per stage, and the number of quads handed to the store."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self.cpu_seconds = dict.fromkeys(STAGES, 0.0)  # process CPU time: robust when other jobs share the cores
        self.quads_written = 0

    def wrap(self, stage: str, function: F) -> F:
        seconds, cpu_seconds = self.seconds, self.cpu_seconds

        def timed(*args: Any, **kwargs: Any) -> Any:
            started, cpu_started = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[stage] += time.perf_counter() - started
                cpu_seconds[stage] += time.process_time() - cpu_started

        return timed  # type: ignore[return-value]

    def counting(self, write: Callable[..., None]) -> Callable[..., None]:
        """Counts the quads of a store write: replace_graphs(drop, add) or bulk_add_graphs(add)."""
        def counted(*args: Any) -> None:
            blobs = list(args[-1])
            self.quads_written += sum(blob.count(b"\n") for _, blob in blobs)
            write(*args[:-1], blobs)

        return counted


@contextmanager
def instrumented(pipeline: Pipeline, store: Any, clock: StageClock) -> Iterator[None]:
    """Time every stage of `pipeline` writing to `store` while the block runs."""
    saved = {name: getattr(kg.prepare, name) for name in _MODULE_STAGES}
    for name, stage in _MODULE_STAGES.items():
        setattr(kg.prepare, name, clock.wrap(stage, saved[name]))
    preparer = pipeline.preparer
    wrapped = ((preparer.validator, "validate", "validate"), (preparer.reasoner, "infer_triples", "reason"))
    for target, attribute, stage in wrapped:
        setattr(target, attribute, clock.wrap(stage, getattr(target, attribute)))
    for attribute in _STORE_WRITES:
        setattr(store, attribute, clock.counting(clock.wrap("commit", getattr(store, attribute))))
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(kg.prepare, name, function)
        for target, attribute, _ in wrapped:
            delattr(target, attribute)
        for attribute in _STORE_WRITES:
            delattr(store, attribute)


def run_pipeline(paths: Sequence[Path], store_dir: Path, *, batch_size: int | None = None,
                 settings: Settings | None = None) -> tuple[dict[str, Any], dict[str, set[FindingKey]]]:
    """Ingest `paths` into a fresh store at `store_dir`; the timings, counts and finding keys by document source."""
    started = time.perf_counter()
    pipeline = Pipeline(settings or Settings(store=str(store_dir)))
    setup = time.perf_counter() - started
    clock = StageClock()
    with open_store(str(store_dir)) as store:
        with instrumented(pipeline, store, clock):
            started = time.perf_counter()
            summary = pipeline.ingest_paths(store, list(paths), batch_size=batch_size)
            store.flush()
            wall = time.perf_counter() - started
        quads = store.quad_count()
    result = _result(summary, clock, wall, setup, quads)
    result["workers"] = worker_count(pipeline.settings.ingest_workers, len(paths))
    if result["workers"] > 1:  # preparing ran in worker processes, out of this clock's sight: not measured
        for timings in (result["stages"], result["stages_cpu"]):
            timings.update({stage: None for stage in _PREPARE_STAGES})
        result["stages"]["waiting_or_other"] = result["stages"].pop("other")
    result["bulk"] = pipeline.settings.ingest_bulk
    result["store_bytes"] = sum(f.stat().st_size for f in store_dir.rglob("*") if f.is_file())
    findings = {o.source: report_keys(o.report) if o.report is not None else set() for o in summary.outcomes}
    return result, findings


def _result(summary: IngestSummary, clock: StageClock, wall: float, setup: float, quads: int) -> dict[str, Any]:
    profiles = len(summary.outcomes)
    stages = {name: round(seconds, 3) for name, seconds in clock.seconds.items()}
    stages["other"] = round(wall - sum(clock.seconds.values()), 3)
    return {
        "profiles": profiles,
        "statuses": {status: summary.count(status) for status in ("ingested", "refused", "error")},
        "papers": summary.papers,
        "asserted_triples": summary.triples,
        "quads_written": clock.quads_written,
        "store_quads": quads,
        "warnings": summary.warnings,
        "seconds": round(wall, 3),
        "setup_seconds": round(setup, 3),
        "profiles_per_second": round(profiles / wall, 2) if wall else None,
        "asserted_triples_per_second": round(summary.triples / wall) if wall else None,
        "quads_per_second": round(clock.quads_written / wall) if wall else None,
        "stages": stages,
        "stages_cpu": {name: round(seconds, 3) for name, seconds in clock.cpu_seconds.items()},
    }
