"""The ingest pipeline: per-document transactions, refusals that leave the store as it was, idempotent re-ingest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
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
    for (iri_a, nt_a), (iri_b, nt_b) in zip(first.graphs(pipeline().iris), second.graphs(pipeline().iris),
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
