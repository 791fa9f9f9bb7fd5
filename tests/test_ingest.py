"""The ingest pipeline: per-document transactions, refusals that leave the store as it was, idempotent re-ingest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from documents import make_documents
from rdflib import Graph
from rdflib.compare import isomorphic

from kg.config import Settings
from kg.errors import DocumentTooLarge, InputError, NonConformingData
from kg.ingest import Pipeline, iter_documents
from kg.store import EmbeddedStore
from kg.validate import Validator, load_shapes

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
FIXED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

# A shape no real paper can satisfy: every paper would need two titles.
REFUSE_ALL = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix skg: <https://w3id.org/scholarkg/ontology#> .
<urn:test:TwoTitles> a sh:NodeShape ; sh:targetClass skg:Paper ;
  sh:property [ sh:path skg:title ; sh:minCount 2 ; sh:severity sh:Violation ] .
"""


def pipeline(validator: Validator | None = None) -> Pipeline:
    return Pipeline(Settings(), validator=validator, now=lambda: FIXED)


def test_seed_documents_become_three_graphs_each() -> None:
    with EmbeddedStore() as store:
        summary = pipeline().ingest_paths(store, [SEEDS])
        assert summary.exit_code == 0 and summary.count("ingested") == 2
        graphs = store.named_graphs()
        assert len(graphs) == 6
        assert sum(g.endswith("/inferred") for g in graphs) == 2
        assert sum(g.endswith("/provenance") for g in graphs) == 2


def test_same_input_same_graph() -> None:
    data = (SEEDS / "000_88a5c554b0bac8dd.txt").read_bytes()
    first = pipeline().prepare(data, "000.txt")
    second = pipeline().prepare(data, "000.txt")
    for (iri_a, nt_a), (iri_b, nt_b) in zip(first.graphs, second.graphs,
                                            strict=True):
        assert iri_a == iri_b
        assert isomorphic(Graph().parse(data=nt_a, format="nt"), Graph().parse(data=nt_b, format="nt"))


def test_refused_document_is_not_written_and_exit_code_is_1() -> None:
    shapes = load_shapes()
    shapes.parse(data=REFUSE_ALL, format="turtle")
    strict = pipeline(Validator(shapes))
    with EmbeddedStore() as store:
        pipeline().ingest_paths(store, [SEEDS / "000_88a5c554b0bac8dd.txt"])
        before = set(store.dump("nquads"))
        summary = strict.ingest_paths(store, [SEEDS / "004_7f9c7e5bf4acffa9.txt"])
        assert summary.exit_code == 1 and summary.count("refused") == 1
        assert isinstance(summary.outcomes[0].error, NonConformingData)
        assert "Violation" in summary.outcomes[0].error.report_text
        assert set(store.dump("nquads")) == before


def test_reingest_replaces_the_document_graphs() -> None:
    with EmbeddedStore() as store:
        pipeline().ingest_paths(store, [SEEDS])
        count = store.quad_count()
        pipeline().ingest_paths(store, [SEEDS])
        assert store.quad_count() == count


def test_missing_path_and_oversized_document(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nothing is there"):
        list(iter_documents([tmp_path / "absent"]))
    small = Pipeline(Settings(max_document_bytes=100))
    summary = small.validate_paths([SEEDS / "000_88a5c554b0bac8dd.txt"])
    assert isinstance(summary.outcomes[0].error, DocumentTooLarge)
    assert summary.exit_code == 2


def test_bad_and_good_documents_in_one_batch(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes((SEEDS / "000_88a5c554b0bac8dd.txt").read_bytes())
    (tmp_path / "b.txt").write_bytes(b"\x00\x01binary")
    with EmbeddedStore() as store:
        summary = pipeline().ingest_paths(store, [tmp_path])
        assert sorted(o.status for o in summary.outcomes) == ["error", "ingested"]
        assert summary.exit_code == 2
        assert len(store.named_graphs()) == 3


# ------------------------------------------------------------------------------------------------------ bulk


def _store_state(store: EmbeddedStore) -> tuple[dict[str, frozenset[object]], frozenset[object]]:
    """Every named graph's triples and the default graph's (the materialised merge), blank-node free data."""
    graphs = {iri: frozenset(Graph().parse(data=store.graph_ntriples(iri), format="nt"))
              for iri in store.named_graphs()}
    merged = Graph()
    for triple in store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"):  # type: ignore[union-attr]
        merged.parse(data=f"{triple} .", format="nt")
    return graphs, frozenset(merged)


def _docs(tmp_path: Path, count: int) -> Path:
    make_documents(tmp_path / "docs", count)
    return tmp_path / "docs"


def test_bulk_ingest_writes_what_the_atomic_ingest_writes(tmp_path: Path) -> None:
    docs = _docs(tmp_path, 12)
    with EmbeddedStore() as atomic, EmbeddedStore(tmp_path / "bulk") as bulk:
        first = pipeline().ingest_paths(atomic, [SEEDS, docs], batch_size=5)
        second = pipeline().ingest_paths(bulk, [SEEDS, docs], batch_size=5, bulk=True)
        assert first.count("ingested") == second.count("ingested") == 14
        assert second.interrupted_documents == 0
        assert _store_state(bulk) == _store_state(atomic)
        assert str(pipeline().iris.pending_graph()) not in bulk.named_graphs()  # nothing left pending
        # again, in bulk mode: the documents exist now, so they are replaced atomically, not doubled
        pipeline().ingest_paths(bulk, [SEEDS, docs], batch_size=5, bulk=True)
        assert _store_state(bulk) == _store_state(atomic)


def test_an_interrupted_bulk_ingest_is_removed_by_the_next_ingest(tmp_path: Path) -> None:
    docs = _docs(tmp_path, 6)
    runner = pipeline()
    with EmbeddedStore() as clean, EmbeddedStore(tmp_path / "bulk") as store:
        runner.ingest_paths(clean, [SEEDS])
        runner.ingest_paths(store, [SEEDS])
        # what a bulk batch leaves when killed after its bulk write: listed as pending, no provenance graphs
        prepared = [runner.prepare(path.read_bytes(), str(path)) for path in sorted(docs.glob("*.txt"))]
        pending = str(runner.iris.pending_graph())
        listing = "".join(f"<{d.graphs[0][0]}> <https://w3id.org/scholarkg/ontology#ingestStartedAt> "
                          '"2026-01-01T00:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n' for d in prepared)
        store.replace_graphs([], [(pending, listing.encode())])
        store.bulk_add_graphs([graph for d in prepared for graph in d.graphs[:-1]])
        store.bulk_add_graphs([(d.graphs[-1][0], d.graphs[-1][1][: len(d.graphs[-1][1]) // 2].rsplit(b"\n", 1)[0]
                                + b"\n") for d in prepared[:2]])  # even a half-written provenance graph
        assert len(store.named_graphs()) > len(clean.named_graphs())
        summary = runner.ingest_paths(store, [SEEDS])  # any later ingest (here: the seeds again) cleans up first
        assert summary.interrupted_documents == 6
        assert _store_state(store) == _store_state(clean)


def test_bulk_writes_refuse_blobs_that_are_not_one_statement_a_line() -> None:
    with EmbeddedStore() as store:
        with pytest.raises(InputError, match="one statement a line"):
            store.bulk_add_graphs([("http://example.org/g", b"<http://example.org/s> <http://example.org/p> 1 .")])
        assert store.named_graphs() == []
