"""The naive pipeline, for comparison: every profile mapped into ONE rdflib Graph, then pyshacl on the whole graph,
then owlrl on the whole graph (plus the ontology), then the graphs serialised by rdflib and loaded into a store.

Same libraries and the project's own parser, mapping, shapes and ontology; none of the project's shortcuts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyshacl
from rdflib import Graph, Literal, URIRef

from bench.findings import FindingKey, graph_keys
from kg.config import Settings
from kg.mapping import map_profile
from kg.parse import parse_profile
from kg.reason import load_ontology, owlrl_closure
from kg.resources import ontology_files
from kg.store import open_store
from kg.validate import load_shapes
from kg.vocab import IRIs

ASSERTED_GRAPH = "https://w3id.org/scholarkg/graph/naive"
INFERRED_GRAPH = "https://w3id.org/scholarkg/graph/naive/inferred"


def run_naive(paths: Sequence[Path], store_dir: Path) -> tuple[dict[str, Any], set[FindingKey]]:
    """Run the naive pipeline over `paths` into a fresh store at `store_dir`; timings, counts and finding keys."""
    seconds = dict.fromkeys(("parse", "map", "validate", "reason", "serialize", "commit"), 0.0)
    started = time.perf_counter()
    data = _parse_and_map(paths, seconds)
    clock = time.perf_counter()
    _, report, _ = pyshacl.validate(data, shacl_graph=load_shapes(), inference="none", advanced=False,
                                    allow_warnings=True, allow_infos=True)
    seconds["validate"] = time.perf_counter() - clock
    clock = time.perf_counter()
    inferred = _owlrl_view(data)
    seconds["reason"] = time.perf_counter() - clock
    _commit(store_dir, data, inferred, seconds)
    wall = time.perf_counter() - started
    findings = graph_keys(report)
    return {
        "profiles": len(paths),
        "asserted_triples": len(data),
        "inferred_triples": len(inferred),
        "findings": len(findings),
        "seconds": round(wall, 3),
        "profiles_per_second": round(len(paths) / wall, 3),
        "asserted_triples_per_second": round(len(data) / wall),
        "stages": {name: round(value, 3) for name, value in seconds.items()},
    }, findings


def _parse_and_map(paths: Sequence[Path], seconds: dict[str, float]) -> Graph:
    iris = IRIs(Settings().base_iri)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    data = Graph()
    for path in paths:
        clock = time.perf_counter()
        raw = path.read_bytes()
        profile = parse_profile(raw, str(path))
        seconds["parse"] += time.perf_counter() - clock
        clock = time.perf_counter()
        mapped = map_profile(profile, iris, ingested_at=now, file_sha256=hashlib.sha256(raw).hexdigest())
        data += mapped.asserted
        seconds["map"] += time.perf_counter() - clock
    return data


def _owlrl_view(data: Graph) -> Graph:
    """Every triple the OWL 2 RL closure of ontology + data adds (kg.reason.owlrl_closure is owlrl's
    DeductiveClosure over one graph holding both), less the generalised triples RDF cannot store (literal subjects)."""
    inferred = Graph()
    add = inferred.add
    for triple in owlrl_closure(load_ontology(ontology_files()), data):
        if not isinstance(triple[0], Literal) and isinstance(triple[1], URIRef):
            add(triple)
    return inferred


def _commit(store_dir: Path, data: Graph, inferred: Graph, seconds: dict[str, float]) -> None:
    with open_store(str(store_dir)) as store:
        for graph, iri in ((data, ASSERTED_GRAPH), (inferred, INFERRED_GRAPH)):
            clock = time.perf_counter()
            blob = graph.serialize(format="nt", encoding="utf-8")
            seconds["serialize"] += time.perf_counter() - clock
            clock = time.perf_counter()
            store.load(blob, "ntriples", iri)
            store.flush()
            seconds["commit"] += time.perf_counter() - clock
