"""Preparing documents: the N-Triples writer, worker processes giving what one process gives, errors crossing
process boundaries intact."""

from __future__ import annotations

import datetime as dt
import hashlib
import pickle
import shutil
from pathlib import Path

import pytest
from rdflib import XSD, BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from kg.config import Settings
from kg.errors import KGError, NonConformingData, ParseError, TooManyRequests
from kg.mapping import map_profile
from kg.ntriples import ntriples
from kg.parse import parse_profile
from kg.prepare import AUTO_WORKERS_MIN_DOCUMENTS, Preparer, prepared_in_order, worker_count

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
BAD = Path(__file__).resolve().parent / "data" / "bad"
EX = "http://example.org/"


def test_ntriples_writer_round_trips_awkward_terms() -> None:
    awkward = ['plain', 'quote " inside', 'back\\slash', 'new\nline', 'carriage\rreturn', 'tab\tand unicode é 漢字',
               '', 'ends with a dot .', 'line end " .\n in the middle']
    graph = Graph()
    for index, text in enumerate(awkward):
        subject = URIRef(f"{EX}s{index}")
        graph.add((subject, URIRef(f"{EX}plain"), Literal(text)))
        graph.add((subject, URIRef(f"{EX}lang"), Literal(text, lang="en-GB")))
        graph.add((subject, URIRef(f"{EX}typed"), Literal(text, datatype=URIRef(f"{EX}type"))))
    graph.add((URIRef(f"{EX}n"), URIRef(f"{EX}count"), Literal(3, datatype=XSD.integer)))
    graph.add((URIRef(f"{EX}n"), URIRef(f"{EX}blank"), BNode("b1")))
    written = ntriples(graph)
    assert written.count(b"\n") == len(graph)  # one statement a line: newlines inside literals are escaped
    assert all(line.endswith(b" .") for line in written.splitlines())
    assert isomorphic(Graph().parse(data=written, format="nt"), graph)


def test_ntriples_writer_refuses_what_ntriples_cannot_carry() -> None:
    with pytest.raises(Exception, match="does not look like a valid URI"):
        ntriples([(URIRef(f"{EX}a b"), URIRef(f"{EX}p"), Literal("x"))])


def test_prepared_graphs_hold_exactly_the_mapped_triples_in_order() -> None:
    when = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    preparer = Preparer(Settings(), now=lambda: when)
    data = SEEDS[0].read_bytes()
    prepared = preparer.prepare(data, str(SEEDS[0]))
    mapped = map_profile(parse_profile(data, str(SEEDS[0])), preparer.iris, ingested_at=when,
                         file_sha256=hashlib.sha256(data).hexdigest())
    (asserted_iri, asserted), (inferred_iri, inferred), (provenance_iri, provenance) = prepared.graphs
    assert asserted_iri == str(preparer.iris.graph(prepared.document_id))
    assert inferred_iri == f"{asserted_iri}/inferred" and provenance_iri == f"{asserted_iri}/provenance"
    assert set(Graph().parse(data=asserted, format="nt")) == set(mapped.asserted)
    assert set(Graph().parse(data=provenance, format="nt")) == set(mapped.provenance)
    assert set(Graph().parse(data=inferred, format="nt")) == preparer.reasoner.infer_triples(mapped.asserted)
    assert prepared.triples == len(mapped.asserted) and prepared.papers == mapped.paper_count


def test_worker_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kg.prepare.os.cpu_count", lambda: 4)
    assert worker_count(3, 1) == 3
    assert worker_count(1, 10_000) == 1
    assert worker_count(0, AUTO_WORKERS_MIN_DOCUMENTS - 1) == 1
    assert worker_count(0, AUTO_WORKERS_MIN_DOCUMENTS) == 4


def _documents(folder: Path) -> list[Path]:
    """The seeds and two documents that do not parse, copied into `folder`."""
    folder.mkdir()
    paths = [Path(shutil.copy(seed, folder / seed.name)) for seed in SEEDS]
    bad = sorted(BAD.glob("*.txt"))[:2]
    paths += [Path(shutil.copy(path, folder / f"bad_{path.name}")) for path in bad]
    return sorted(paths)


def _comparable(graphs: tuple[tuple[str, bytes], ...]) -> dict[str, set[tuple[object, ...]]]:
    """Triples per graph with the ingest time (the only thing that differs between two runs) left out."""
    result: dict[str, set[tuple[object, ...]]] = {}
    for iri, blob in graphs:
        graph = Graph().parse(data=blob, format="nt")
        result[iri] = {t for t in graph if not (isinstance(t[2], Literal) and t[2].datatype == XSD.dateTime)}
    return result


def test_worker_processes_prepare_what_one_process_prepares(tmp_path: Path) -> None:
    paths = _documents(tmp_path / "docs")
    preparer = Preparer(Settings())
    alone = list(prepared_in_order(preparer, paths, workers=1))
    parallel = list(prepared_in_order(preparer, paths, workers=2))
    assert [o.source for o, _ in parallel] == [str(p) for p in paths]  # input order kept
    assert [o.status for o, _ in parallel] == [o.status for o, _ in alone]
    assert {o.status for o, _ in parallel} == {"ingested", "error"}
    for (outcome_a, prepared_a), (outcome_b, prepared_b) in zip(alone, parallel, strict=True):
        assert type(outcome_a.error) is type(outcome_b.error)
        assert str(outcome_a.error) == str(outcome_b.error)
        assert outcome_a.report == outcome_b.report  # the same findings
        if prepared_a is not None and prepared_b is not None:
            assert _comparable(prepared_a.graphs) == _comparable(prepared_b.graphs)
            assert prepared_b.report.graph is None  # findings only: light to send between processes


def test_a_preparer_with_its_own_parts_never_uses_workers(tmp_path: Path) -> None:
    paths = _documents(tmp_path / "docs")
    custom = Preparer(Settings(), now=lambda: dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert custom.in_process_only
    outcomes = list(prepared_in_order(custom, paths, workers=2))
    prepared = [p for _, p in outcomes if p is not None]
    assert prepared and all(b"2020-01-01T00:00:00" in p.graphs[2][1] for p in prepared)  # its clock was used


def test_refusal_report_travels_with_the_error() -> None:
    error = NonConformingData("doc.txt: refused by the shapes (1 violations)", "Violation: <x>: expected y")
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is NonConformingData and back.report_text == error.report_text and str(back) == str(error)


@pytest.mark.parametrize("error", [
    ParseError("a/b.txt", 7, "a date like 'Jan 5, 2024'", "Jan 45"),
    TooManyRequests("slow down", retry_after=3),
    KGError("plain"),
])
def test_errors_pickle_with_their_attributes(error: KGError) -> None:
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert str(back) == str(error) and vars(back) == vars(error)
