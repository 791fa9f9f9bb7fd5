"""`python -m bench fastpaths`: times each prototype of bench/fastpaths.py against the project step it would
replace, on the same generated documents, and checks that both give the same output. Times are CPU seconds.

Writes bench/results/fastpaths-<size>.json.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pyoxigraph
from rdflib import Graph

from bench.fastpaths import NTriplesWriter, load_new_graphs, quads_from_ntriples, validate_batch
from bench.findings import FindingKey, report_keys
from bench.generate import Options, ensure_generated
from bench.ingest_bench import RESULTS, WORK, label
from bench.machine import command_line, machine_info
from kg.config import Settings
from kg.ingest import Pipeline, PreparedDocument
from kg.store import open_store
from kg.validate import Validator

T = TypeVar("T")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("fastpaths", help="time the prototypes of faster ingest steps against kg's")
    parser.add_argument("--profiles", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-sizes", default="10,50", help="documents per pyshacl call to try")
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--results", type=Path, default=RESULTS)


def run(args: Any) -> int:
    data = ensure_generated(args.work / f"p{label(args.profiles)}-s{args.seed}", Options(args.profiles, args.seed))
    paths = sorted(data.glob("*.txt"))
    pipeline = Pipeline(Settings())
    prepared, seconds = _timed(lambda: [pipeline.prepare(p.read_bytes(), str(p)) for p in paths])
    report: dict[str, Any] = {"command": command_line(), "machine": machine_info(), "profiles": len(paths),
                              "prepare_seconds": round(seconds, 3)}
    report["serialize"] = _serialize(prepared)
    report["reason"] = _reason(pipeline, prepared)
    report["commit"] = _commit(pipeline, prepared)
    report["validate"] = _validate(pipeline, prepared, [int(k) for k in args.batch_sizes.split(",")])
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"fastpaths-{label(args.profiles)}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "machine"}, indent=2))
    return 0


def _each(items: list[T], action: Callable[[T], object]) -> None:
    for item in items:
        action(item)


def _write_named(write: Callable[[list[pyoxigraph.Quad]], None], batches: list[list[tuple[str, bytes]]]) -> None:
    for batch in batches:
        write(quads_from_ntriples(batch, False))


def _batches(validator: Validator, graphs: list[Graph], size: int) -> list[tuple[list[set[FindingKey]], bool]]:
    return [validate_batch(validator, graphs[i:i + size]) for i in range(0, len(graphs), size)]


def _timed(function: Callable[[], T]) -> tuple[T, float]:
    """The value and the CPU seconds of this process (all threads) it took: on a shared machine, CPU time is
    what a step costs; wall time also counts the waits for a core."""
    started = time.process_time()
    value = function()
    return value, time.process_time() - started


def _serialize(prepared: list[PreparedDocument]) -> dict[str, Any]:
    graphs = [d.mapped.asserted for d in prepared]
    reference, rdflib_seconds = _timed(lambda: [g.serialize(format="nt", encoding="utf-8") for g in graphs])
    writer = NTriplesWriter()
    fast, fast_seconds = _timed(lambda: [writer.ntriples(g) for g in graphs])
    same = all(sorted(a.splitlines()) == sorted(b.splitlines()) for a, b in zip(reference, fast, strict=True))
    return {"rdflib_nt_seconds": round(rdflib_seconds, 3), "writer_seconds": round(fast_seconds, 3),
            "same_bytes_per_line": same, "speedup": round(rdflib_seconds / fast_seconds, 1)}


def _reason(pipeline: Pipeline, prepared: list[PreparedDocument]) -> dict[str, Any]:
    reasoner, writer = pipeline.reasoner, NTriplesWriter()
    graphs = [d.mapped.asserted for d in prepared]
    reference, slow = _timed(lambda: [reasoner.infer(g).serialize(format="nt", encoding="utf-8") for g in graphs])
    fast, quick = _timed(lambda: [writer.ntriples(reasoner.infer_triples(g)) for g in graphs])
    same = all(sorted(a.splitlines()) == sorted(b.splitlines()) for a, b in zip(reference, fast, strict=True))
    return {"infer_graph_then_rdflib_nt_seconds": round(slow, 3), "infer_triples_then_writer_seconds": round(quick, 3),
            "same_triples": same, "speedup": round(slow / quick, 1)}


def _commit(pipeline: Pipeline, prepared: list[PreparedDocument], batch: int = 50) -> dict[str, Any]:
    batches = [[g for d in prepared[i:i + batch] for g in d.graphs]
               for i in range(0, len(prepared), batch)]
    scratch = Path(tempfile.mkdtemp(prefix="kg-fastpaths-"))
    try:
        with open_store(str(scratch / "update")) as store:
            _, update = _timed(lambda: _each(batches, lambda b: store.replace_graphs([g for g, _ in b], b)))
            expected = store.quad_count()  # named graphs only; the merged default graph comes on top
        loaded = pyoxigraph.Store(str(scratch / "load"))
        _, load = _timed(lambda: [load_new_graphs(loaded, b) for b in batches])
        extended = pyoxigraph.Store(str(scratch / "extend"))
        _, extend = _timed(lambda: _each(batches, lambda b: extended.extend(quads_from_ntriples(b))))
        named = sum(1 for q in loaded if not isinstance(q.graph_name, pyoxigraph.DefaultGraph))
        same = named == expected and len(loaded) == len(extended) and set(loaded) == set(extended)
        extras = _commit_variants(scratch, batches)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"sparql_update_seconds": round(update, 3), "load_nquads_seconds": round(load, 3),
            "extend_parsed_quads_seconds": round(extend, 3), "quads_in_named_graphs": expected, "same_quads": same,
            "speedup_extend": round(update / extend, 1), "speedup_load": round(update / load, 1), **extras}


def _commit_variants(scratch: Path, batches: list[list[tuple[str, bytes]]]) -> dict[str, float]:
    """The same batches without the materialised default graph (query with the union instead), transactional
    or not (`bulk_extend` writes without a transaction: not atomic)."""
    seconds: dict[str, float] = {}
    for name, bulk in (("extend_named_graphs_only_seconds", False), ("bulk_extend_named_graphs_only_seconds", True)):
        store = pyoxigraph.Store(str(scratch / name))
        _, seconds[name] = _timed(partial(_write_named, store.bulk_extend if bulk else store.extend, batches))
        store.flush()
        seconds[name] = round(seconds[name], 3)
    return seconds


def _validate(pipeline: Pipeline, prepared: list[PreparedDocument], sizes: list[int]) -> dict[str, Any]:
    validator = pipeline.validator
    graphs = [d.mapped.asserted for d in prepared]
    reference, single = _timed(lambda: [report_keys(validator.validate(g)) for g in graphs])
    result: dict[str, Any] = {"per_document_seconds": round(single, 3)}
    for size in sizes:
        chunks, seconds = _timed(partial(_batches, validator, graphs, size))
        keys = [k for found, _ in chunks for k in found]
        result[f"batch_{size}"] = {"seconds": round(seconds, 3), "speedup": round(single / seconds, 2),
                                   "same_findings": keys == reference,
                                   "batches_with_shared_focus": sum(not exact for _, exact in chunks)}
    return result
