"""A prototype of the faster ingest the benchmarks recommend, built from kg's own parser, mapping, validator and
reasoner: documents prepared in worker processes, inferred triples and N-Quads written without building rdflib
graphs, reports kept as finding keys only, and each batch committed with one `Store.extend` transaction (named
graphs plus the merged default graph that kg.store's embedded store maintains).

It exists to measure the proposals of docs/benchmarks.md; kg/ is not changed.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyoxigraph

from bench.fastpaths import NTriplesWriter
from bench.findings import FindingKey, report_keys
from kg.config import Settings
from kg.errors import KGError
from kg.ingest import Pipeline, read_document
from kg.mapping import map_profile
from kg.parse import parse_profile

_STATE: dict[str, Any] = {}
STAGES = ("read", "parse", "map", "validate", "reason", "serialize")


def _init_worker() -> None:
    _STATE["pipeline"] = Pipeline(Settings())
    _STATE["writer"] = NTriplesWriter()


def prepare(path: str) -> tuple[str, str, bytes, set[FindingKey], int, dict[str, float]]:
    """(source, status, N-Quads of the document's three graphs, finding keys, asserted triples, stage seconds)."""
    pipeline: Pipeline = _STATE["pipeline"]
    writer: NTriplesWriter = _STATE["writer"]
    seconds = dict.fromkeys(STAGES, 0.0)
    clock = time.process_time()  # CPU seconds per stage: wall time on a shared machine also counts waits
    try:
        data = read_document(Path(path), pipeline.settings.max_document_bytes)
        clock = _lap(seconds, "read", clock)
        profile = parse_profile(data, path)
        clock = _lap(seconds, "parse", clock)
        mapped = map_profile(profile, pipeline.iris, ingested_at=pipeline._now(),
                             file_sha256=hashlib.sha256(data).hexdigest())
        clock = _lap(seconds, "map", clock)
        report = pipeline.validator.validate(mapped.asserted)
        clock = _lap(seconds, "validate", clock)
        if not report.conforms:
            return path, "refused", b"", report_keys(report), 0, seconds
        inferred = pipeline.reasoner.infer_triples(mapped.asserted)
        clock = _lap(seconds, "reason", clock)
        doc = mapped.document_id
        text = (writer.lines(mapped.asserted, str(pipeline.iris.graph(doc)))
                + writer.lines(inferred, str(pipeline.iris.inferred_graph(doc)))
                + writer.lines(mapped.provenance, str(pipeline.iris.provenance_graph(doc))))
        _lap(seconds, "serialize", clock)
        return path, "ingested", text.encode("utf-8"), report_keys(report), len(mapped.asserted), seconds
    except KGError:
        return path, "error", b"", set(), 0, seconds


def _lap(seconds: dict[str, float], stage: str, started: float) -> float:
    now = time.process_time()
    seconds[stage] += now - started
    return now


def run_fast(paths: Sequence[Path], store_dir: Path, *, workers: int = 2,
             batch_size: int = 50) -> tuple[dict[str, Any], dict[str, set[FindingKey]]]:
    """Ingest `paths` into a new pyoxigraph store at `store_dir`; timings, counts, finding keys by source."""
    started = time.perf_counter()
    store = pyoxigraph.Store(str(store_dir))
    totals = dict.fromkeys((*STAGES, "commit"), 0.0)
    findings: dict[str, set[FindingKey]] = {}
    statuses: dict[str, int] = {"ingested": 0, "refused": 0, "error": 0}
    counts = {"asserted_triples": 0, "quads_written": 0}
    batch: list[bytes] = []
    for source, status, nquads, keys, triples, seconds in _prepared(paths, workers):
        findings[source] = keys
        statuses[status] += 1
        counts["asserted_triples"] += triples
        for stage, value in seconds.items():
            totals[stage] += value
        if nquads:
            batch.append(nquads)
        if len(batch) >= batch_size:
            counts["quads_written"] += _commit(store, batch, totals)
    counts["quads_written"] += _commit(store, batch, totals)
    store.flush()
    wall = time.perf_counter() - started
    result: dict[str, Any] = {
        "profiles": len(paths), "workers": workers, "statuses": statuses, **counts,
        "store_quads_with_merged_default": len(store),
        "seconds": round(wall, 3), "profiles_per_second": round(len(paths) / wall, 2),
        "asserted_triples_per_second": round(counts["asserted_triples"] / wall),
        "quads_per_second": round(counts["quads_written"] / wall),
        "stages_cpu_summed_over_processes": {k: round(v, 3) for k, v in totals.items()},
    }
    return result, findings


def _prepared(paths: Sequence[Path], workers: int) -> Iterator[tuple[str, str, bytes, set[FindingKey], int,
                                                                      dict[str, float]]]:
    if workers <= 1:
        _init_worker()
        yield from (prepare(str(p)) for p in paths)
        return
    with multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker) as pool:
        yield from pool.imap(prepare, [str(p) for p in paths], chunksize=4)


def _commit(store: pyoxigraph.Store, batch: list[bytes], totals: dict[str, float]) -> int:
    """One transaction for the batch (the documents' graphs are new: nothing to drop). Like kg.store's embedded
    store, every triple is also written to the default graph, which holds the merge of all named graphs."""
    if not batch:
        return 0
    started = time.process_time()
    quads = list(pyoxigraph.parse(b"".join(batch), pyoxigraph.RdfFormat.N_QUADS))
    store.extend([*quads, *(pyoxigraph.Quad(q.subject, q.predicate, q.object) for q in quads)])
    totals["commit"] += time.process_time() - started
    batch.clear()
    return len(quads)
