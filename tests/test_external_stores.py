"""`kg ingest/query/export/stats/serve` unchanged on an external SPARQL store: the seeds give the same answers,
exports, statistics and pages on the embedded store, `oxigraph serve` and Virtuoso 7 (servers on 127.0.0.1).

Every comparison is against a reference: the same seeds ingested by the CLI into an embedded store, with ingest
timestamps (xsd:dateTime) made equal. The Virtuoso specifics of the remote store are tested at the end.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyoxigraph
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import XSD
from servers import (  # noqa: F401  (fixtures)
    SparqlServer,
    free_port,
    oxigraph_load,
    oxigraph_server,
    start_oxigraph,
    virtuoso_server,
)

from kg.errors import NotFound, StoreError, UsageError
from kg.store import RemoteStore, open_store
from kg.store import virtuoso as virtuoso_dialect
from kg.store.answers import query_form

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
KG = str(Path(sys.executable).parent / "kg")
STORES = ["embedded", "oxigraph-server", "virtuoso"]
PREFIXES = """PREFIX schema: <http://schema.org/>
PREFIX skg: <https://w3id.org/scholarkg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
QUERIES = {
    "articles": """SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE {
        ?p a schema:ScholarlyArticle ; schema:name ?t ; schema:datePublished ?d ; schema:author ?a }""",
    "iqbal": """SELECT (COUNT(DISTINCT ?p) AS ?listed) (COUNT(DISTINCT ?authored) AS ?authored_n) WHERE {
        ?snapshot skg:describes ?person ; skg:lists ?p . ?person a schema:Person ; schema:name "Shariq Iqbal" .
        OPTIONAL { ?p schema:author ?person . BIND(?p AS ?authored) } }""",
    "gemini": """SELECT ?title (COUNT(DISTINCT ?snapshot) AS ?profiles) WHERE {
        ?snapshot skg:lists ?p . ?p schema:name ?title . FILTER(STRSTARTS(?title, "Gemini")) }
        GROUP BY ?title HAVING (COUNT(DISTINCT ?snapshot) = 2) ORDER BY ?title""",
    # DISTINCT first: a triple asserted by both profiles matches twice in the union default graph of Oxigraph
    # server and Virtuoso, once in the embedded store's (docs/scaling.md, "Default graph").
    "categories": """SELECT ?notation (COUNT(?p) AS ?papers) (MIN(?d) AS ?first) (MAX(?d) AS ?last)
        (SUM(?n) AS ?printed_authors) WHERE { SELECT DISTINCT ?notation ?p ?d ?n WHERE {
          ?p a skg:Paper ; skg:category ?c ; schema:datePublished ?d ; skg:printedAuthorCount ?n .
          ?c skos:notation ?notation } } GROUP BY ?notation ORDER BY ?notation""",
    "dates": "SELECT DISTINCT (DATATYPE(?d) AS ?type) WHERE { ?p schema:datePublished ?d }",
    "flags": """SELECT ?o (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE {
        ?s ?p ?o FILTER(DATATYPE(?o) = xsd:boolean) } } GROUP BY ?o ORDER BY ?o""",
    "graphs": "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
    "ask": 'ASK { ?p schema:name "Shariq Iqbal" }',
}
INGEST_TIME = Literal("2000-01-01T00:00:00Z", datatype=XSD.dateTime)

pytestmark = pytest.mark.slow


@dataclass
class Ingested:
    """A store holding the seeds: `spec` for KG_STORE; `seconds` the `kg ingest seeds/` took."""

    name: str
    spec: str
    seconds: float


def kg(*args: str, spec: str, check: int | None = 0, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    env["KG_STORE"] = spec
    done = subprocess.run([KG, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if check is not None:
        assert done.returncode == check, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done


def ingest(name: str, spec: str) -> Ingested:
    started = time.monotonic()
    done = kg("ingest", str(SEEDS), spec=spec)
    seconds = time.monotonic() - started
    assert "2 documents, 63 papers" in done.stdout, done.stdout
    return Ingested(name, spec, seconds)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    """The seeds ingested by the CLI into an embedded store: what every store must agree with."""
    return ingest("reference", str(tmp_path_factory.mktemp("reference") / "store"))


@pytest.fixture(scope="module", params=STORES)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    """The seeds ingested by `kg ingest seeds/` into each kind of store, starting empty."""
    if request.param == "embedded":
        return ingest("embedded", str(tmp_path_factory.mktemp("embedded") / "store"))
    server: SparqlServer = request.getfixturevalue("oxigraph" if request.param == "oxigraph-server" else "virtuoso")
    server.clear()
    return ingest(request.param, server.spec)


# ----------------------------------------------------------------------------------------------- the CLI


@functools.cache
def select(spec: str, name: str) -> object:
    """The answer to QUERIES[name] through `kg query` (asked once per store: every test leaves the same data)."""
    text = kg("query", "--format", "json", PREFIXES + "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
              + QUERIES[name], spec=spec).stdout
    answer = json.loads(text)
    if "boolean" in answer:
        return answer["boolean"]
    return [{var: _cell(cell) for var, cell in row.items()} for row in answer["results"]["bindings"]]


def _cell(cell: dict[str, str]) -> tuple[str, ...]:
    return cell["type"], cell["value"], cell.get("datatype", cell.get("xml:lang", ""))


def test_ingest_is_timed(store: Ingested) -> None:
    assert 0 < store.seconds < 120


def test_the_seed_answers(store: Ingested) -> None:
    assert select(store.spec, "articles") == [{"n": ("literal", "63", str(XSD.integer))}]
    assert select(store.spec, "iqbal") == [{"listed": ("literal", "15", str(XSD.integer)),
                                            "authored_n": ("literal", "15", str(XSD.integer))}]
    shared = select(store.spec, "gemini")
    assert isinstance(shared, list) and {row["title"][1][:10] for row in shared} == {"Gemini 1.5", "Gemini 2.5"}
    assert select(store.spec, "dates") == [{"type": ("uri", str(XSD.date), "")}]
    assert select(store.spec, "ask") is True


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_queries_answer_as_on_the_embedded_store(store: Ingested, reference: Ingested, name: str) -> None:
    assert select(store.spec, name) == select(reference.spec, name)


@pytest.mark.parametrize("query", [
    'CONSTRUCT { ?p ?q ?o } WHERE { ?p schema:author ?a . ?a schema:name "Shariq Iqbal" . ?p ?q ?o }',
    "DESCRIBE <https://w3id.org/scholarkg/person/shariq-iqbal> <https://w3id.org/scholarkg/category/cs.LG>",
], ids=["construct", "describe"])
def test_graph_queries_answer_as_on_the_embedded_store(store: Ingested, reference: Ingested, query: str) -> None:
    graphs = [_normalised(Graph().parse(data=kg("query", "--format", "turtle", PREFIXES + query, spec=spec).stdout,
                                        format="turtle")) for spec in (store.spec, reference.spec)]
    assert len(graphs[1]) > 10 and isomorphic(*graphs)


def export(spec: str, format: str = "nquads") -> str:
    return kg("export", "--format", format, spec=spec).stdout


@functools.cache
def reference_export(spec: str, format: str = "nquads") -> str:
    return export(spec, format)


def test_nquads_export_is_isomorphic_to_the_embedded_one(store: Ingested, reference: Ingested) -> None:
    mine, theirs = _graphs(export(store.spec)), _graphs(reference_export(reference.spec))
    assert sorted(mine) == sorted(theirs) and len(mine) == 6
    for name, graph in theirs.items():
        assert isomorphic(mine[name], graph), name


def test_turtle_export_is_isomorphic_to_the_embedded_one(store: Ingested, reference: Ingested) -> None:
    mine, theirs = (_normalised(Graph().parse(data=text, format="turtle"))
                    for text in (export(store.spec, "turtle"), reference_export(reference.spec, "turtle")))
    assert len(theirs) > 5000 and isomorphic(mine, theirs)


def test_stats_are_equal(store: Ingested, reference: Ingested) -> None:
    assert kg("stats", spec=store.spec).stdout == kg("stats", spec=reference.spec).stdout


def test_reingest_is_idempotent(store: Ingested) -> None:
    stats, exported = kg("stats", spec=store.spec).stdout, _graphs(export(store.spec))
    again = ingest(store.name, store.spec)
    assert kg("stats", spec=again.spec).stdout == stats
    assert _graphs(export(store.spec)).keys() == exported.keys()
    assert all(isomorphic(graph, exported[name]) for name, graph in _graphs(export(store.spec)).items())


def test_a_malformed_document_leaves_the_store_unchanged(store: Ingested, tmp_path: Path) -> None:
    before = export(store.spec)
    bad = tmp_path / "bad.txt"
    lines = (SEEDS / "000_88a5c554b0bac8dd.txt").read_text(encoding="utf-8").splitlines()
    lines[11] = "LGFeb 30, 2023Code"
    bad.write_text("\n".join(lines), encoding="utf-8")
    refused = kg("ingest", str(bad), spec=store.spec, check=2)
    assert f"{bad}:12: expected a date like 'May 27, 2022', got 'Feb 30, 2023'" in refused.stderr
    assert _quads(export(store.spec)) == _quads(before)  # not even the ingest times moved


# ------------------------------------------------------------------------------ the path for large graphs


def test_bulk_loaded_stores_answer_as_the_embedded_one(reference: Ingested, virtuoso: SparqlServer,
                                                       tmp_path: Path) -> None:
    """`kg export --format nquads`, then each server's bulk loader (oxigraph load; Virtuoso ld_dir and
    rdf_loader_run), then the CLI against the server: the same statistics and the same graphs, timestamps too."""
    dump = tmp_path / "kg.nq"
    kg("export", "--format", "nquads", "-o", str(dump), spec=reference.spec)
    oxigraph_load(tmp_path / "ox", dump)
    loaded = start_oxigraph(tmp_path / "ox")
    virtuoso.clear()
    virtuoso.bulk_load(dump)  # the session's Virtuoso then holds the seeds, as after `kg ingest`
    try:
        for spec in (loaded.spec, virtuoso.spec):
            assert kg("stats", spec=spec).stdout == kg("stats", spec=reference.spec).stdout
            assert _quads(export(spec)) == _quads(dump.read_text(encoding="utf-8"))
    finally:
        loaded.stop()


# -------------------------------------------------------------------------------------------- kg serve


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]


def serve(spec: str, log: Path) -> Served:
    """`kg serve --store SPEC` on a free port, once /healthz answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    with log.open("wb") as out:
        process = subprocess.Popen([KG, "serve", "--store", spec, "--host", "127.0.0.1", "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            if httpx.get(url + "healthz", timeout=2).status_code == 200:
                return Served(url, process)
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"kg serve did not answer /healthz in 60 s:\n{log.read_text(errors='replace')}")


def _stop(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait(timeout=10)


@pytest.fixture(scope="module")
def reference_server(reference: Ingested, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = serve(reference.spec, tmp_path_factory.mktemp("serve") / "reference.log")
    yield served
    _stop(served)


@pytest.fixture
def server(store: Ingested, tmp_path: Path) -> Iterator[Served]:
    """`kg serve` over the store (an embedded one is then held for writing: these tests come last)."""
    served = serve(store.spec, tmp_path / "serve.log")
    yield served
    _stop(served)


def _page(served: Served) -> Graph:
    response = httpx.get(served.url + "person/shariq-iqbal", headers={"Accept": "text/turtle"}, timeout=30,
                         follow_redirects=True)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/turtle")
    return _normalised(Graph().parse(data=response.text, format="turtle", publicID=served.url))


def _sparql(served: Served, name: str) -> object:
    response = httpx.post(served.url + "sparql", data={"query": PREFIXES + QUERIES[name]},
                          headers={"Accept": "application/sparql-results+json"}, timeout=30)
    assert response.status_code == 200, response.text
    return [{var: _cell(cell) for var, cell in row.items()} for row in response.json()["results"]["bindings"]]


def test_serve_answers_as_on_the_embedded_store(server: Served, reference_server: Served) -> None:
    assert httpx.get(server.url + "healthz", timeout=10).json()["graphs"] == 6
    for name in ("categories", "iqbal", "graphs"):
        assert _sparql(server, name) == _sparql(reference_server, name), name
    page, expected = _page(server), _page(reference_server)
    assert len(expected) > 30 and isomorphic(page, expected)
    assert (URIRef("https://w3id.org/scholarkg/person/shariq-iqbal"), URIRef("http://schema.org/name"),
            Literal("Shariq Iqbal")) in page


# -------------------------------------------------------------------------------------------- helpers


def _normalised(graph: Graph) -> Graph:
    """The graph with ingest timestamps made equal."""
    out = Graph()
    for s, p, o in graph:
        out.add((s, p, _term(o)))
    return out


def _term(term: object) -> object:
    if isinstance(term, Literal) and term.datatype == XSD.dateTime:
        return INGEST_TIME
    return term


def _graphs(nquads: str) -> dict[str, Graph]:
    """Each named graph of an N-Quads export as an rdflib graph, normalised."""
    groups: dict[str, list[pyoxigraph.Triple]] = {}
    for quad in pyoxigraph.parse(nquads.encode(), pyoxigraph.RdfFormat.N_QUADS):
        groups.setdefault(str(quad.graph_name.value), []).append(quad.triple)
    return {name: _normalised(Graph().parse(data=pyoxigraph.serialize(triples, format=pyoxigraph.RdfFormat.N_TRIPLES),
                                            format="nt"))
            for name, triples in groups.items()}


def _quads(nquads: str) -> set[pyoxigraph.Quad]:
    return set(pyoxigraph.parse(nquads.encode(), pyoxigraph.RdfFormat.N_QUADS))


# ----------------------------------------------------------------------- Virtuoso specifics, through RemoteStore

X = "http://www.w3.org/2001/XMLSchema#"
G1, G2 = "http://example.org/test/graph-1", "http://example.org/test/graph-2"
# Lexical forms as Virtuoso returns them (it writes xsd:decimal "1.50" as "1.5", xsd:double "1.5E0" as "1.5").
# "false" after "0"^^xsd:nonNegativeInteger, "1"^^xsd:long after "1"^^xsd:integer: Virtuoso's INSERT DATA
# would store the second like the first without `define sql:big-data-const 1` (kg.store.virtuoso).
LITERALS = f"""<http://ex.org/a> <http://ex.org/date> "2023-02-28"^^<{X}date> .
<http://ex.org/a> <http://ex.org/at> "2026-11-21T06:07:43.123456Z"^^<{X}dateTime> .
<http://ex.org/a> <http://ex.org/at-2> "2026-11-21T06:07:43+02:00"^^<{X}dateTime> .
<http://ex.org/a> <http://ex.org/ordinal> "3"^^<{X}positiveInteger> .
<http://ex.org/a> <http://ex.org/count> "0"^^<{X}nonNegativeInteger> .
<http://ex.org/a> <http://ex.org/one> "1"^^<{X}integer> .
<http://ex.org/a> <http://ex.org/one-long> "1"^^<{X}long> .
<http://ex.org/a> <http://ex.org/flag> "true"^^<{X}boolean> .
<http://ex.org/a> <http://ex.org/other-flag> "false"^^<{X}boolean> .
<http://ex.org/a> <http://ex.org/year> "2023"^^<{X}gYear> .
<http://ex.org/a> <http://ex.org/name> "Tabs\\tand \\"quotes\\"\\nand \\u00E9 \\U0001F642" .
<http://ex.org/a> <http://ex.org/label> "chat"@fr .
<http://ex.org/a> <http://ex.org/custom> "x"^^<http://ex.org/type> .
""".encode()
WIDE = f'<http://ex.org/a> <http://ex.org/wide> "2305843009213693952"^^<{X}integer> .\n'.encode()


@pytest.fixture
def remote(virtuoso: SparqlServer) -> Iterator[RemoteStore]:
    """The session's Virtuoso through a RemoteStore; the test graphs are dropped afterwards."""
    store = open_store(virtuoso.spec)
    assert isinstance(store, RemoteStore)
    yield store
    store.update(f"DROP SILENT GRAPH <{G1}> ; DROP SILENT GRAPH <{G2}>")
    store.close()


def _terms(ntriples: bytes) -> set[pyoxigraph.Triple]:
    return {quad.triple for quad in pyoxigraph.parse(ntriples, pyoxigraph.RdfFormat.N_TRIPLES)}


@pytest.mark.parametrize("wide", [False, True], ids=["graph-store-loader", "insert-data"])
def test_virtuoso_keeps_literals_as_written(remote: RemoteStore, wide: bool) -> None:
    """Both ways of writing: the Graph Store loader would store a 62-bit integer as xsd:decimal, so a graph
    holding one goes by INSERT DATA."""
    blob = LITERALS + WIDE if wide else LITERALS
    remote.replace_graphs([], [(G1, blob)])
    assert _terms(remote.graph_ntriples(G1)) == _terms(blob)  # positiveInteger stays (Oxigraph: integer)
    rows = remote.query(f"SELECT ?p ?o WHERE {{ GRAPH <{G1}> {{ <http://ex.org/a> ?p ?o }} }}")
    assert isinstance(rows, pyoxigraph.QuerySolutions)
    by_property = {row["p"].value.rsplit("/", 1)[1]: row["o"] for row in rows}
    assert by_property["flag"] == pyoxigraph.Literal("true", datatype=pyoxigraph.NamedNode(X + "boolean"))
    assert by_property["date"] == pyoxigraph.Literal("2023-02-28", datatype=pyoxigraph.NamedNode(X + "date"))


def test_virtuoso_answers_graph_queries_with_rdf(remote: RemoteStore) -> None:
    remote.replace_graphs([], [(G1, LITERALS)])
    built = remote.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{G1}> {{ ?s ?p ?o }} }}")
    assert not isinstance(built, pyoxigraph.QuerySolutions | pyoxigraph.QueryBoolean)
    assert set(built) == _terms(LITERALS)


def test_virtuoso_replaces_graphs_with_blank_nodes_and_many_triples(virtuoso: SparqlServer,
                                                                    remote: RemoteStore) -> None:
    blank = b'_:b <http://ex.org/p> "x" .\n<http://ex.org/s> <http://ex.org/q> _:b .\n'
    many = b"".join(b'<http://ex.org/s%d> <http://ex.org/p> "%d"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
                    % (i, i) for i in range(2500))  # over the ~1,000-triple limit of one Virtuoso INSERT DATA
    query, update = virtuoso.base + "/sparql", virtuoso.base + "/sparql-auth"
    with RemoteStore(query, update, auth=httpx.DigestAuth("dba", "dba")) as without_gsp:
        without_gsp.replace_graphs([G2], [(G2, many)])  # INSERT DATA requests
        assert len(_terms(without_gsp.graph_ntriples(G2))) == 2500
        with pytest.raises(StoreError, match="blank nodes go only through its Graph Store endpoint"):
            without_gsp.replace_graphs([G1], [(G1, blank)])
    remote.replace_graphs([G1, G2], [(G1, blank), (G2, many)])  # Graph Store POSTs
    stored = Graph().parse(data=remote.graph_ntriples(G1), format="nt")
    assert isomorphic(stored, Graph().parse(data=blank, format="nt"))
    assert len(_terms(remote.graph_ntriples(G2))) == 2500
    assert G1 in remote.named_graphs() and not any(g.startswith("urn:x-scholarkg:") for g in remote.named_graphs())


def test_virtuoso_commits_a_request_operation_by_operation(remote: RemoteStore) -> None:
    """Why replace_graphs stages and swaps: the DROP stays although the request as a whole failed."""
    remote.replace_graphs([], [(G1, LITERALS)])
    with pytest.raises(StoreError, match="has not been explicitly created"):
        remote.update(f"DROP SILENT GRAPH <{G1}> ;\nDROP GRAPH <http://example.org/test/never-created>")
    with pytest.raises(NotFound):
        remote.graph_ntriples(G1)


def test_virtuoso_replace_graphs_is_all_or_nothing(remote: RemoteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    remote.replace_graphs([], [(G1, LITERALS)])
    before = remote.graph_ntriples(G1)
    staged: list[str] = []
    real_stage = RemoteStore._stage

    def stage_then_fail(self: RemoteStore, stage: str, blob: bytes) -> None:
        staged.append(stage)
        if len(staged) == 2:
            raise StoreError("injected failure while staging")
        real_stage(self, stage, blob)

    monkeypatch.setattr(RemoteStore, "_stage", stage_then_fail)
    with pytest.raises(StoreError, match="injected"):
        remote.replace_graphs([G1], [(G1, b'<http://ex.org/new> <http://ex.org/p> "1" .\n'), (G2, LITERALS)])
    monkeypatch.undo()
    real_swap = virtuoso_dialect.swap_operation
    monkeypatch.setattr(virtuoso_dialect, "swap_operation", lambda drop, pairs: real_swap(drop, pairs).replace(
        "\n}", '\n  FILTER(bif:signal("22023", "injected failure in the swap"))\n}'))
    with pytest.raises(StoreError, match="injected failure in the swap"):
        remote.replace_graphs([G1], [(G1, b'<http://ex.org/new> <http://ex.org/p> "1" .\n')])
    assert remote.graph_ntriples(G1) == before and G2 not in remote.named_graphs()
    leftovers = remote.query("ASK { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), 'urn:x-scholarkg:staging:')) }")
    assert not leftovers


def test_virtuoso_loads_documents_into_named_graphs(remote: RemoteStore) -> None:
    remote.load(b"@prefix ex: <http://ex.org/> . ex:a ex:b [ ex:c 1 ] .", "turtle", G1)
    remote.load(f'<http://ex.org/a> <http://ex.org/b> "c" <{G2}> .\n'.encode(), "nquads")
    assert len(_terms(remote.graph_ntriples(G1))) == 2 and len(_terms(remote.graph_ntriples(G2))) == 1
    with pytest.raises(UsageError, match="no default graph"):
        remote.load(b'<http://ex.org/a> <http://ex.org/b> "c" .\n', "ntriples")


def test_virtuoso_datasets_follow_the_protocol(remote: RemoteStore) -> None:
    remote.replace_graphs([], [(G1, LITERALS), (G2, b'<http://ex.org/b> <http://ex.org/p> "2" .\n')])
    named = "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    assert list(remote.query(named, default_graph_uris=[G1])) == []  # Virtuoso alone would list every graph
    assert [r["g"].value for r in remote.query(named, default_graph_uris=[], named_graph_uris=[G2])] == [G2]
    assert [r["n"].value for r in remote.query(count, default_graph_uris=[G2])] == ["1"]
    assert [r["n"].value for r in remote.query(count, default_graph_uris=[], named_graph_uris=[])] == ["0"]


def test_virtuoso_system_graphs_must_be_private(virtuoso: SparqlServer) -> None:
    system = "http://www.openlinksw.com/schemas/virtrdf#"
    virtuoso.isql(f"DB.DBA.RDF_GRAPH_USER_PERMS_SET ('{system}', 'nobody', 1)")
    try:
        with open_store(virtuoso.spec) as store, pytest.raises(StoreError, match="RDF_GRAPH_GROUP_INS"):
            store.query("SELECT * WHERE { ?s ?p ?o } LIMIT 1")
    finally:
        virtuoso.isql(f"DB.DBA.RDF_GRAPH_USER_PERMS_DEL ('{system}', 'nobody')")
    with open_store(virtuoso.spec) as store:
        assert not store.query(f"ASK {{ GRAPH <{system}> {{ ?s ?p ?o }} }}")


# ------------------------------------------------------------------------ no server: answers and specs


def test_query_forms_decide_what_is_accepted() -> None:
    assert query_form("PREFIX select: <http://x/> # ASK me\nCONSTRUCT WHERE { ?s select:p 'SELECT' }") == "CONSTRUCT"
    assert query_form('define sql:describe-mode "CBD" describe <http://x/>') == "DESCRIBE"
    assert query_form("BASE <http://x/ask> ask { ?s ?p ?o }") == "ASK"
    assert query_form('SELECT ("""ASK\nCONSTRUCT""" AS ?x) {}') == "SELECT"


def test_a_cut_answer_is_refused() -> None:
    """Virtuoso stops answers at ResultSetMaxRows (10,000 as packaged) and says so in X-SPARQL-MaxRows."""
    seen: list[str] = []

    def virtuoso_like(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["accept"])
        body = b'<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head><variable name="s"/></head>' \
               b"<results><result><binding name='s'><bnode>nodeID://b10003</bnode></binding></result></results></sparql>"
        headers = {"content-type": "application/sparql-results+xml", "server": "Virtuoso/07.20.3229"}
        if b"LIMIT" not in request.content:
            headers["x-sparql-maxrows"] = "1"
        return httpx.Response(200, content=body, headers=headers)

    store = RemoteStore("http://127.0.0.1:9/sparql", dialect="standard")
    store._client = httpx.Client(transport=httpx.MockTransport(virtuoso_like))
    with store:
        rows = store.query("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1")
        assert isinstance(rows, pyoxigraph.QuerySolutions)
        assert [row["s"] for row in rows] == [pyoxigraph.BlankNode("b10003")]
        with pytest.raises(StoreError, match="ResultSetMaxRows"):
            store.query("SELECT ?s WHERE { ?s ?p ?o }")
        store.query("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1")
    assert seen[0].startswith("application/sparql-results+xml") and seen[-1].startswith("application/n-triples")
