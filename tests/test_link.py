"""kg.link and `kg link`: name and title scoring, precision and recall on the fixtures (with their near-misses),
dumps and live endpoints agreeing, and the links graph: annotated, provenance-stamped, idempotent per target."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, PROV, RDF, SKOS
from test_federation import OTHER_BASE, Endpoint, start_kg_serve, start_oxigraph

from kg.errors import InputError, UsageError
from kg.link import (
    SSSOM,
    Link,
    LinkReport,
    Work,
    discover,
    dump_source,
    endpoint_source,
    evaluate,
    link_store,
    name_score,
    paper_score,
    read_truth,
)
from kg.store import EmbeddedStore
from kg.vocab import IRIs

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "federation"
KG = str(Path(sys.executable).parent / "kg")
BASE = "https://w3id.org/scholarkg/"
IRI = IRIs(BASE)
LINKS = str(IRI.links_graph())
NOW = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.fixture
def store(seed_nquads: bytes) -> Iterator[EmbeddedStore]:
    with EmbeddedStore(None) as memory:
        memory.load(seed_nquads, "nquads")
        yield memory


def links_graph(store: EmbeddedStore) -> Graph:
    return Graph().parse(data=store.graph_ntriples(LINKS), format="nt")


# ---------------------------------------------------------------------------------------------------- scoring


@pytest.mark.parametrize(("a", "b", "score"), [
    ("Fei Sha", "Fei Sha", 1.0),
    ("Shuang Li", "Shuang Li 0006", 1.0),  # dblp's homonym number
    ("Edgar A. Duéñez-Guzmán", "Edgar A. Duenez-Guzman", 1.0),  # accents
    ("C. Daniel Freeman", "Daniel Freeman", 0.9),  # an initial more
    ("Daniel Freeman", "D. Freeman", 0.9),  # an initial for a name
    ("Christian A. Schroeder de Witt", "Christian Schröder de Witt", 0.9),  # ö spelled oe, a middle initial
    ("Fei Sha", "Fei Shah", 0.0),
    ("Daniel Freeman", "Daniel Freedman", 0.0),
    ("Daniel Freeman", "Freeman", 0.0),  # no given name to compare
    ("Anna Li", "Bo Li", 0.0),
])
def test_name_scores(a: str, b: str, score: float) -> None:
    assert name_score(a, b) == name_score(b, a) == score


def work(title: str, year: int | None, *authors: str, ids: set[tuple[str, str]] | None = None) -> Work:
    return Work(f"urn:x:{title}:{year}", title, year, {f"urn:a:{n}": n for n in authors}, ids or set())


@pytest.mark.parametrize(("theirs", "score"), [
    (work("alma: hierarchical learning for composite multi-agent tasks.", 2022), 1.0),  # case, punctuation
    (work("ALMA - Hierarchical Learning for Composite Multi Agent Tasks", 2022), 1.0),
    (work("ALMA: Hierarchical Learning for Composite Multi-Agent Tasks", 2018), 0.0),  # another paper
    (work("ALMA: Hierarchical Learning for Composite Multi-Agent Tasks", 2023, "Fei Sha"), 0.92),  # proceedings
    (work("ALMA: Hierarchical Learning for Composite Multi-Agent Tasks", 2023, "Jane Doe"), 0.75),
    (work("ALMA: Hierarchical Learning for Composite Multi-Agent Task", 2022), 0.991),  # one letter
    (work("ALMA: Hierarchical Learning for Composite Multi-Agent Tasks: A Survey", 2022), 0.0),
    (work("Something else entirely", 2022, ids={("doi", "10.5555/x")}), 1.0),  # a shared identifier
])
def test_paper_scores(theirs: Work, score: float) -> None:
    ours = work("ALMA: Hierarchical Learning for Composite Multi-Agent Tasks", 2022, "Shariq Iqbal", "Fei Sha",
                ids={("doi", "10.5555/x")})
    assert round(paper_score(ours, theirs)[0], 3) == score


# ---------------------------------------------------------------------------------------------------- fixtures

# target -> (paper precision, paper recall, person precision, person recall) at the default --min-score 0.9
EXPECTED = {
    "dblp": (1.0, 1.0, 1.0, 19 / 20),  # Aditya Grover is hidden in our "et al." of Decision Transformer
    "wikidata": (1.0, 1.0, 1.0, 5 / 6),  # our "Daniel Freeman" shares no paper with the Wikidata item
    "semopenalex": (1.0, 1.0, 1.0, 1.0),
}


def scores(report: LinkReport, target: str) -> tuple[float, ...]:
    figures = evaluate(report.links, read_truth(FIXTURES / f"{target}.truth.tsv"))
    return (*figures["paper"], *figures["person"])


@pytest.mark.parametrize("target", sorted(EXPECTED))
def test_precision_and_recall_on_the_dumps(target: str, store: EmbeddedStore) -> None:
    with dump_source(FIXTURES / f"{target}.ttl") as source:
        report = discover(store, target, source, exhaustive=True)
    assert scores(report, target) == pytest.approx(EXPECTED[target])


def test_near_misses_are_scored_but_not_linked(store: EmbeddedStore) -> None:
    with dump_source(FIXTURES / "dblp.ttl") as source:
        report = discover(store, "dblp", source, exhaustive=True)
    linked = {link.theirs.rsplit("/", 1)[1] for link in report.links}
    assert not linked & {"fx-nearmiss-ibc", "nearmiss-survey", "nearmiss-gemma", "freeman-2", "nearmiss", "other"}
    [gemma] = report.near_misses
    assert (gemma.theirs.endswith("nearmiss-gemma"), gemma.score) == (True, 0.75)
    freemans = {(link.ours.rsplit("/", 1)[1], link.score, link.method) for link in report.links
                if link.theirs.endswith("/freeman")}
    assert freemans == {("c-daniel-freeman", 1.0, "name equal + 2 shared paper(s)"),
                        ("daniel-freeman", 0.9, "name variant + 1 shared paper(s)")}


def test_a_lower_threshold_trades_precision_for_nothing_here(store: EmbeddedStore) -> None:
    with dump_source(FIXTURES / "dblp.ttl") as source:
        report = discover(store, "dblp", source, exhaustive=True, min_score=0.7)
    assert scores(report, "dblp")[:2] == pytest.approx((10 / 11, 1.0))  # the 2024 Gemma report joins in


@pytest.fixture(scope="module")
def dblp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    endpoint = start_oxigraph(FIXTURES / "dblp.ttl", tmp_path_factory.mktemp("dblp-link"))
    yield endpoint
    endpoint.stop()


@pytest.mark.slow
def test_an_endpoint_gives_the_links_of_the_dump(store: EmbeddedStore, dblp_server: Endpoint) -> None:
    with endpoint_source(dblp_server.url, 10) as source:
        live = discover(store, "dblp", source)
    with dump_source(FIXTURES / "dblp.ttl") as source:
        dumped = discover(store, "dblp", source, exhaustive=True)
    assert set(live.links) == set(dumped.links) and len(live.links) == 29
    assert live.candidates < dumped.candidates  # found by exact titles and names, not read whole


@pytest.mark.slow
def test_a_second_scholar_kg(store: EmbeddedStore, tmp_path_factory: pytest.TempPathFactory) -> None:
    other = start_kg_serve(FIXTURES / "profiles", tmp_path_factory.mktemp("other-link"), OTHER_BASE)
    try:
        with endpoint_source(other.url, 30) as source:
            report = discover(store, "scholarkg", source)
    finally:
        other.stop()
    assert scores(report, "scholarkg") == pytest.approx((1.0, 1.0, 1.0, 1.0))
    assert {link.method for link in report.links if link.kind == "paper"} == {"shared identifier"}


# ---------------------------------------------------------------------------------------------------- writing


def test_links_carry_score_method_and_provenance(store: EmbeddedStore) -> None:
    link_store(store, IRI, "dblp", dump=FIXTURES / "dblp.ttl", now=NOW)
    graph = links_graph(store)
    ours, theirs = URIRef(BASE + "person/daniel-freeman"), URIRef("https://dblp.org/pid/fx/freeman")
    assert (ours, SKOS.exactMatch, theirs) in graph
    [node] = graph.subjects(OWL.annotatedSource, ours)
    assert str(node).startswith(BASE + "link/dblp/")
    assert graph.value(node, OWL.annotatedTarget) == theirs
    assert graph.value(node, SSSOM.confidence).toPython() == Decimal("0.9")
    assert str(graph.value(node, SSSOM.similarity_measure)) == "name variant + 1 shared paper(s)"
    activity = graph.value(node, PROV.wasGeneratedBy)
    assert (activity, RDF.type, PROV.Activity) in graph
    assert graph.value(activity, PROV.endedAtTime).toPython() == NOW
    assert len(set(graph.subject_objects(OWL.sameAs))) == 10


def test_rerunning_replaces_only_that_targets_links(store: EmbeddedStore, tmp_path: Path) -> None:
    link_store(store, IRI, "wikidata", dump=FIXTURES / "wikidata.ttl", now=NOW)
    wikidata_only = links_graph(store)
    link_store(store, IRI, "dblp", dump=FIXTURES / "dblp.ttl", now=NOW)
    both = links_graph(store)
    link_store(store, IRI, "dblp", dump=FIXTURES / "dblp.ttl", now=NOW)
    assert isomorphic(links_graph(store), both)  # idempotent
    strict = link_store(store, IRI, "dblp", dump=FIXTURES / "dblp.ttl", min_score=0.95, now=NOW)
    assert strict.count("person") == 17  # the two name variants drop out
    after = links_graph(store)
    assert (URIRef(BASE + "person/daniel-freeman"), None, None) not in after
    wikidata_part = {t for t in after if "wikidata" in str(t[2]) or "/link/wikidata/" in str(t[0])}
    assert wikidata_part == {t for t in wikidata_only if "wikidata" in str(t[2]) or "/link/wikidata/" in str(t[0])}


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({}, UsageError, "expected exactly one of --endpoint URL and --dump FILE"),
    ({"endpoint": "http://x.example/sparql", "dump": FIXTURES / "dblp.ttl"}, UsageError, "exactly one"),
    ({"dump": Path("links.rdf")}, UsageError, "RDF/XML is not accepted"),
    ({"dump": Path("missing.ttl")}, InputError, "no such dump file"),
    ({"endpoint": "ftp://x.example/"}, UsageError, "expected an http"),
    ({"dump": FIXTURES / "dblp.ttl", "min_score": 1.5}, UsageError, "--min-score"),
])
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception], message: str,
                       store: EmbeddedStore) -> None:
    with pytest.raises(error, match=message):
        link_store(store, IRI, "dblp", **kwargs)  # type: ignore[arg-type]


def test_truth_files_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "truth.tsv"
    bad.write_text("paper\thttp://a\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"truth.tsv:1: expected 'paper\|person <our IRI> <their IRI>'"):
        read_truth(bad)
    assert evaluate([Link("paper", "a", "b", 1.0, "")], {("paper", "a", "b"), ("paper", "c", "d")}) == {
        "paper": (1.0, 0.5), "person": (1.0, 1.0)}


# ---------------------------------------------------------------------------------------------------- CLI


def kg(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    env["KG_STORE"] = str(store)
    return subprocess.run([KG, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.slow
def test_kg_link_reports_precision_and_recall(tmp_path: Path, seed_nquads: bytes) -> None:
    path = tmp_path / "store"
    with EmbeddedStore(path) as disk:
        disk.load(seed_nquads, "nquads")
    done = kg("link", "--target", "dblp", "--dump", str(FIXTURES / "dblp.ttl"),
              "--truth", str(FIXTURES / "dblp.truth.tsv"), store=path)
    assert done.returncode == 0, done.stderr
    assert "papers linked" in done.stdout and "│ 10 " in done.stdout
    assert "person precision / recall │ 1.00 / 0.95" in done.stdout
    refused = kg("link", "--target", "orcid", "--dump", str(FIXTURES / "dblp.ttl"), store=path)
    assert refused.returncode == 2 and "expected one of dblp, wikidata, semopenalex, scholarkg" in refused.stderr
    assert "Traceback" not in refused.stderr
