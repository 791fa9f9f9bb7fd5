"""The SPARQL 1.1 Protocol at /sparql against a real uvicorn: methods, formats, negotiation, dataset, limits, errors."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from conftest import LiveServer, dataset_graphs
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF
from rdflib.query import Result

from kg.vocab import SD

pytestmark = pytest.mark.slow

MAX_ROWS = 1000
SELECT_TYPES = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_TYPES = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
    "application/n-quads": "nquads",
    "application/trig": "trig",
    "application/rdf+xml": "xml",
}
PER_GRAPH = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"


@pytest.fixture(scope="module")
def sparql(make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server(max_rows=MAX_ROWS, max_query_length=3000, max_body_bytes=5000)


def query(server: LiveServer, text: str, accept: str | None = None, **params: str) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return server.get("sparql", params={"query": text, **params}, headers=headers)


def graph_of(server: LiveServer, iri: str) -> Graph:
    return Graph().parse(data=server.store.graph_ntriples(iri), format="nt")


def parse_graph(body: bytes, syntax: str) -> Graph:
    if syntax in ("nquads", "trig"):
        merged = Graph()
        for graph in dataset_graphs(body, syntax).values():
            merged += graph
        return merged
    return Graph().parse(data=body, format=syntax)


def asserted_graph(server: LiveServer) -> str:
    return next(g for g in server.store.named_graphs() if not g.endswith(("/inferred", "/provenance")))


# ------------------------------------------------------------------------------------------ results and formats


@pytest.mark.parametrize(("media", "syntax"), SELECT_TYPES.items())
def test_select_results_parse_back_in_every_format(sparql: LiveServer, media: str, syntax: str) -> None:
    response = query(sparql, PER_GRAPH, media)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media)
    result = Result.parse(io.BytesIO(response.content), format=syntax)
    counts = {str(row[0]): int(row[1]) for row in result}  # type: ignore[index]
    assert counts == {g: len(graph_of(sparql, g)) for g in sparql.store.named_graphs()}


@pytest.mark.parametrize("media", ["application/sparql-results+json", "application/sparql-results+xml"])
def test_ask_answers_in_json_and_xml(sparql: LiveServer, media: str) -> None:
    yes = query(sparql, "ASK { ?paper a <https://w3id.org/scholarkg/ontology#Paper> }", media)
    no = query(sparql, "ASK { <urn:x:nothing> ?p ?o }", media)
    format_name = "json" if media.endswith("json") else "xml"
    assert Result.parse(io.BytesIO(yes.content), format=format_name).askAnswer is True
    assert Result.parse(io.BytesIO(no.content), format=format_name).askAnswer is False


@pytest.mark.parametrize(("media", "syntax"), GRAPH_TYPES.items())
def test_construct_in_every_format_is_the_graph_queried(sparql: LiveServer, media: str, syntax: str) -> None:
    iri = asserted_graph(sparql)
    response = query(sparql, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}", media)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media)
    assert response.headers.get("x-kg-truncated") is None
    assert isomorphic(parse_graph(response.content, syntax), graph_of(sparql, iri))


def test_describe_defaults_to_turtle_about_the_resource(sparql: LiveServer) -> None:
    paper = next(iter(graph_of(sparql, asserted_graph(sparql)).subjects(
        RDF.type, URIRef("https://w3id.org/scholarkg/ontology#Paper"))))
    response = query(sparql, f"DESCRIBE <{paper}>")
    assert response.headers["content-type"].startswith("text/turtle")
    described = Graph().parse(data=response.content, format="turtle")
    assert (paper, RDF.type, URIRef("https://w3id.org/scholarkg/ontology#Paper")) in described


def test_default_result_formats(sparql: LiveServer) -> None:
    assert query(sparql, "SELECT * WHERE { ?s ?p ?o } LIMIT 1").headers["content-type"].startswith(
        "application/sparql-results+json")
    assert query(sparql, "ASK {}", "*/*").headers["content-type"].startswith("application/sparql-results+json")
    assert query(sparql, "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", "*/*").headers["content-type"].startswith(
        "text/turtle")


@pytest.mark.parametrize(("accept", "expected"), [
    ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
    ("application/sparql-results+json;q=0, */*;q=0.1", "application/sparql-results+xml"),
    ("text/*", "text/csv"),
    ("text/tab-separated-values;q=0.9, text/csv;q=0.8", "text/tab-separated-values"),
    ("application/json", "application/json"),
])
def test_accept_q_values_choose_the_select_format(sparql: LiveServer, accept: str, expected: str) -> None:
    response = query(sparql, "SELECT * WHERE { ?s ?p ?o } LIMIT 1", accept)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == expected
    assert "accept" in response.headers["vary"].lower()


@pytest.mark.parametrize(("text", "accept"), [
    ("SELECT * WHERE { ?s ?p ?o } LIMIT 1", "text/turtle"),
    ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", "application/sparql-results+json"),
    ("ASK {}", "image/png, text/html;q=0.9"),
])
def test_406_when_no_format_fits(sparql: LiveServer, text: str, accept: str) -> None:
    response = query(sparql, text, accept)
    assert response.status_code == 406
    assert "expected one of" in response.text


# ------------------------------------------------------------------------------------------ methods


def test_syntax_error_is_a_readable_400(sparql: LiveServer) -> None:
    response = query(sparql, "SELECT ?s WHERE { ?s ?p }")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert "SPARQL" in response.text and len(response.text) < 2000


def test_head_gives_headers_without_running_the_query(sparql: LiveServer) -> None:
    ok = sparql.request("HEAD", "sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"},
                        headers={"Accept": "text/csv"})
    assert ok.status_code == 200 and ok.content == b""
    assert ok.headers["content-type"].startswith("text/csv")
    assert sparql.request("HEAD", "sparql", params={"query": "SELECT WHERE"}).status_code == 400
    described = sparql.request("HEAD", "sparql")
    assert described.status_code == 200 and described.headers["content-type"].startswith("text/turtle")


def test_post_form_and_direct_query_give_the_get_answer(sparql: LiveServer) -> None:
    expected = query(sparql, PER_GRAPH).json()
    form = sparql.post("sparql", data={"query": PER_GRAPH})
    direct = sparql.post("sparql", content=PER_GRAPH.encode(), headers={"Content-Type": "application/sparql-query"})
    assert form.status_code == direct.status_code == 200
    assert form.json() == direct.json() == expected


def test_post_of_another_media_type_is_415(sparql: LiveServer) -> None:
    response = sparql.post("sparql", content=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 415
    assert "application/sparql-query" in response.text


def test_form_needs_exactly_one_of_query_and_update(sparql: LiveServer) -> None:
    assert sparql.post("sparql", data={"format": "json"}).status_code == 400
    assert sparql.post("sparql", data={"query": "ASK {}", "update": "CLEAR ALL"}).status_code == 400


def test_unknown_parameters_are_ignored(sparql: LiveServer) -> None:
    response = query(sparql, "ASK {}", format="json", output="json", results="json", timeout="0", x="y")
    assert response.status_code == 200 and response.json()["boolean"] is True


# ------------------------------------------------------------------------------------------ dataset


def _count(response: httpx.Response) -> int:
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def test_default_graph_is_the_union_of_all_graphs(sparql: LiveServer) -> None:
    union: set[tuple[object, ...]] = set()
    for iri in sparql.store.named_graphs():
        union |= set(graph_of(sparql, iri))
    distinct = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
    assert _count(query(sparql, distinct)) == len(union)


def test_default_graph_uri_and_named_graph_uri_set_the_dataset(sparql: LiveServer) -> None:
    graphs = sparql.store.named_graphs()
    provenance = [g for g in graphs if g.endswith("/provenance")]
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    one = httpx.QueryParams([("query", count), ("default-graph-uri", provenance[0])])
    assert _count(sparql.get("sparql", params=one)) == len(graph_of(sparql, provenance[0]))
    both = httpx.QueryParams([("query", count)] + [("default-graph-uri", g) for g in provenance])
    assert _count(sparql.get("sparql", params=both)) == sum(len(graph_of(sparql, g)) for g in provenance)
    names = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    named = sparql.post("sparql", data={"query": names, "named-graph-uri": provenance[1]})
    assert [b["g"]["value"] for b in named.json()["results"]["bindings"]] == [provenance[1]]
    direct = sparql.post("sparql", params={"named-graph-uri": provenance[0]}, content=names.encode(),
                         headers={"Content-Type": "application/sparql-query"})
    assert [b["g"]["value"] for b in direct.json()["results"]["bindings"]] == [provenance[0]]


@pytest.mark.parametrize(("text", "word"), [
    ("SELECT * FROM <https://w3id.org/scholarkg/graph/x> WHERE { ?s ?p ?o }", "FROM"),
    ("SELECT * FROM NAMED <https://w3id.org/scholarkg/graph/x> WHERE { GRAPH ?g { ?s ?p ?o } }", "FROM"),
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", "SERVICE"),
    ("SELECT * WHERE { SERV\\u0049CE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", "SERVICE"),
    ("SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } }", "SERVICE"),
    ("SELECT * WHERE { GRAPH <file:///etc/passwd> { ?s ?p ?o } }", "file:"),
])
def test_reaching_outside_is_refused(sparql: LiveServer, text: str, word: str) -> None:
    response = query(sparql, text)
    assert response.status_code == 400
    assert word in response.text


def test_updates_by_get_are_refused_and_writes_are_disabled_here(sparql: LiveServer) -> None:
    assert sparql.get("sparql", params={"update": "CLEAR ALL"}).status_code == 400
    assert query(sparql, "CLEAR ALL").status_code == 400
    form = sparql.post("sparql", data={"update": "CLEAR ALL"})
    direct = sparql.post("sparql", content=b"CLEAR ALL", headers={"Content-Type": "application/sparql-update"})
    assert form.status_code == direct.status_code == 403
    assert sparql.store.named_graphs()


# ------------------------------------------------------------------------------------------ limits


def test_rows_over_the_limit_are_cut_and_said_so(sparql: LiveServer) -> None:
    response = query(sparql, "SELECT * WHERE { ?s ?p ?o }")
    assert len(response.json()["results"]["bindings"]) == MAX_ROWS
    assert response.headers["x-kg-truncated"] == "true"
    assert response.headers["x-kg-max-rows"] == str(MAX_ROWS)
    assert "truncated" in response.headers["warning"]
    whole = query(sparql, "SELECT * WHERE { ?s ?p ?o } LIMIT 10")
    assert "x-kg-truncated" not in whole.headers


def test_long_queries_and_bodies_are_413(sparql: LiveServer) -> None:
    long_query = "ASK {}" + " " * 3000
    assert query(sparql, long_query).status_code == 413
    big = sparql.post("sparql", content=b"#" * 6000 + b"\nASK {}", headers={"Content-Type": "application/sparql-query"})
    assert big.status_code == 413
    assert "max_body_bytes" in big.text


def test_ask_answers_while_a_heavy_query_runs(sparql: LiveServer) -> None:
    heavy = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . "
             "{ SELECT ?d WHERE { ?d ?e ?f } LIMIT 2500 } }")
    finished: list[float] = []

    def run_heavy() -> None:
        start = time.monotonic()
        query(sparql, heavy)
        finished.append(time.monotonic() - start)

    worker = threading.Thread(target=run_heavy)
    worker.start()
    time.sleep(0.3)  # the heavy query is under way
    start = time.monotonic()
    answer = query(sparql, "ASK {}")
    elapsed = time.monotonic() - start
    still_running = not finished
    worker.join(timeout=60)
    assert answer.json()["boolean"] is True
    assert still_running, f"the heavy query ended too soon ({finished}) to show anything"
    assert elapsed < 0.5, f"ASK took {elapsed:.2f} s while a heavy query ran"


# ------------------------------------------------------------------------------------------ service description


@pytest.mark.parametrize(("media", "syntax"), [
    ("text/turtle", "turtle"), ("application/ld+json", "json-ld"), ("application/rdf+xml", "xml"),
    ("application/n-triples", "nt"),
])
def test_service_description_names_the_real_endpoint(sparql: LiveServer, media: str, syntax: str) -> None:
    response = sparql.get("sparql", headers={"Accept": media})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    graph = Graph().parse(data=response.content, format=syntax)
    service = graph.value(predicate=RDF.type, object=SD.Service)
    assert graph.value(service, SD.endpoint) == URIRef(sparql.url + "sparql")
    assert (service, SD.feature, SD.UnionDefaultGraph) in graph
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    assert (service, SD.supportedLanguage, SD.SPARQL11Update) not in graph
    names = {str(o) for o in graph.objects(None, SD.name)}
    assert names == set(sparql.store.named_graphs())


def test_service_description_for_a_browser_is_turtle_shown_as_text(sparql: LiveServer) -> None:
    response = sparql.get("sparql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.headers["content-type"].startswith("text/plain")
    graph = Graph().parse(data=response.content, format="turtle")
    assert (None, SD.endpoint, URIRef(sparql.url + "sparql")) in graph


def test_service_description_uses_the_public_url_when_set(make_server: Callable[..., LiveServer]) -> None:
    public = make_server(public_url="https://kg.example.org/base/", update_token="s3cret")
    graph = Graph().parse(data=public.get("sparql", params={"format": "json"}).content, format="turtle")
    service = graph.value(predicate=RDF.type, object=SD.Service)
    assert graph.value(service, SD.endpoint) == URIRef("https://kg.example.org/base/sparql")
    assert (service, SD.supportedLanguage, SD.SPARQL11Update) in graph
    assert Literal("Scholar KG SPARQL endpoint") in set(graph.objects(service, None))


def test_service_to_an_allowed_endpoint_runs(sparql: LiveServer, make_server: Callable[..., LiveServer]) -> None:
    endpoint = sparql.url + "sparql"
    federating = make_server(service_allow=(endpoint,))
    text = (f"SELECT (COUNT(*) AS ?n) WHERE {{ SERVICE <{endpoint}> {{ "
            "?p a <https://w3id.org/scholarkg/ontology#Paper> } }")
    local = "SELECT (COUNT(*) AS ?n) WHERE { ?p a <https://w3id.org/scholarkg/ontology#Paper> }"
    assert _count(query(federating, text)) == _count(query(sparql, local)) > 0
    graph = Graph().parse(data=federating.get("sparql").content, format="turtle")
    assert (None, SD.feature, SD.BasicFederatedQuery) in graph
