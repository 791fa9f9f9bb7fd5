"""Writes over HTTP: SPARQL Update and the Graph Store Protocol, bearer-token only, checked by the shapes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest
from conftest import LiveServer
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDFS

from kg.config import Settings
from kg.ingest import Pipeline
from kg.server.writes import Writer
from kg.store import EmbeddedStore

pytestmark = pytest.mark.slow

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE = Settings().base_iri
SKG = "https://w3id.org/scholarkg/ontology#"
SIMPLE = f"{BASE}graph/notes"
SIMPLE_TURTLE = b"""@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://example.org/note/1> rdfs:label "first note"@en ; rdfs:seeAlso <https://example.org/note/2> .
<https://example.org/note/2> rdfs:label "second note" ; rdfs:comment [ rdfs:label "a blank node" ] .
"""
BAD_PAPER = f"""<{BASE}paper/untitled> a <{SKG}Paper> .""".encode()


@pytest.fixture(scope="module")
def writable(make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server(update_token=TOKEN)


def ask(server: LiveServer, text: str) -> bool:
    response = server.get("sparql", params={"query": text})
    assert response.status_code == 200, response.text
    return bool(response.json()["boolean"])


put = LiveServer.put_graph
update = LiveServer.update


def seed_asserted(server: LiveServer) -> str:
    prefix = BASE + "graph/0"
    return next(g for g in server.store.named_graphs() if g.startswith(prefix) and "/" not in g[len(prefix):])


# ------------------------------------------------------------------------------------------ who may write


def test_writes_are_403_when_no_token_is_configured(server: LiveServer) -> None:
    before = server.store.quad_count()
    assert put(server, SIMPLE, SIMPLE_TURTLE, headers=AUTH).status_code == 403
    assert server.request("DELETE", "graph-store", params={"graph": seed_asserted(server)},
                          headers=AUTH).status_code == 403
    assert update(server, "CLEAR ALL", headers=AUTH).status_code == 403
    assert server.post("sparql", data={"update": "CLEAR ALL"}, headers=AUTH).status_code == 403
    assert server.store.quad_count() == before


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN},
    {"Authorization": f"Bearer {TOKEN}x"},
])
def test_a_wrong_or_missing_token_is_401(writable: LiveServer, headers: dict[str, str]) -> None:
    response = put(writable, SIMPLE + "-401", SIMPLE_TURTLE, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert update(writable, "CLEAR ALL", headers=headers).status_code == 401
    assert SIMPLE + "-401" not in writable.store.named_graphs()
    assert len(writable.store.named_graphs()) >= 6


def test_reads_stay_public(writable: LiveServer) -> None:
    assert writable.get("graph-store", params={"graph": seed_asserted(writable)}).status_code == 200
    head = writable.request("HEAD", "graph-store", params={"graph": seed_asserted(writable)},
                            headers={"Accept": "application/n-triples"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"].startswith("application/n-triples")
    assert writable.request("HEAD", "graph-store", params={"graph": "https://example.org/none"}).status_code == 404
    assert writable.get("sparql", params={"query": "ASK {}"}).status_code == 200


# ------------------------------------------------------------------------------------------ Graph Store


@pytest.mark.parametrize(("media", "syntax"), [
    ("text/turtle", "turtle"), ("application/n-triples", "nt"), ("application/ld+json", "json-ld"),
    ("application/rdf+xml", "xml"),
])
def test_put_then_get_round_trips(writable: LiveServer, media: str, syntax: str) -> None:
    iri = f"{SIMPLE}-{syntax}"
    assert put(writable, iri, SIMPLE_TURTLE).status_code == 201
    assert put(writable, iri, SIMPLE_TURTLE).status_code == 204
    response = writable.get("graph-store", params={"graph": iri}, headers={"Accept": media})
    assert response.status_code == 200 and response.headers["content-type"].startswith(media)
    assert isomorphic(Graph().parse(data=response.content, format=syntax),
                      Graph().parse(data=SIMPLE_TURTLE, format="turtle"))


def test_post_merges_and_delete_drops(writable: LiveServer) -> None:
    iri = SIMPLE + "-merge"
    assert put(writable, iri, SIMPLE_TURTLE).status_code == 201
    extra = b'<https://example.org/note/3> <http://www.w3.org/2000/01/rdf-schema#label> "third" .\n'
    posted = writable.post("graph-store", params={"graph": iri}, content=extra,
                           headers={"Content-Type": "application/n-triples", **AUTH})
    assert posted.status_code == 204
    merged = Graph().parse(data=writable.get("graph-store", params={"graph": iri}).content, format="turtle")
    expected = Graph().parse(data=SIMPLE_TURTLE, format="turtle") + Graph().parse(data=extra, format="nt")
    assert isomorphic(merged, expected)
    assert writable.request("DELETE", "graph-store", params={"graph": iri}, headers=AUTH).status_code == 204
    assert writable.get("graph-store", params={"graph": iri}).status_code == 404
    assert writable.request("DELETE", "graph-store", params={"graph": iri}, headers=AUTH).status_code == 404


def test_post_to_a_new_graph_creates_it(writable: LiveServer) -> None:
    iri = SIMPLE + "-posted"
    response = writable.post("graph-store", params={"graph": iri}, content=SIMPLE_TURTLE,
                             headers={"Content-Type": "text/turtle", **AUTH})
    assert response.status_code == 201
    assert ask(writable, f'ASK {{ GRAPH <{iri}> {{ ?n <{RDFS.label}> "second note" }} }}')


def test_json_ld_bodies_are_read_with_the_bundled_context_only(writable: LiveServer) -> None:
    document = {"@context": {"label": str(RDFS.label)}, "@id": "https://example.org/note/9", "label": "nine"}
    ok = put(writable, SIMPLE + "-jsonld-body", json.dumps(document).encode(), "application/ld+json")
    assert ok.status_code == 201
    assert ask(writable, f'ASK {{ <https://example.org/note/9> <{RDFS.label}> "nine" }}')
    remote = {"@context": "https://example.org/remote-context.json", "@id": "https://example.org/x", "label": "x"}
    refused = put(writable, SIMPLE + "-remote", json.dumps(remote).encode(), "application/ld+json")
    assert refused.status_code == 400
    assert SIMPLE + "-remote" not in writable.store.named_graphs()


def test_rdf_xml_and_unreadable_bodies_are_refused(writable: LiveServer) -> None:
    xml = b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
    assert put(writable, SIMPLE + "-refused-xml", xml, "application/rdf+xml").status_code == 415
    assert put(writable, SIMPLE + "-bad", b"<a> <b> .", "text/turtle").status_code == 400
    assert not {SIMPLE + "-refused-xml", SIMPLE + "-bad"} & set(writable.store.named_graphs())


def test_the_default_graph_is_read_as_the_union_and_never_written(writable: LiveServer) -> None:
    union = Graph().parse(data=writable.get("graph-store", params={"default": ""}).content, format="turtle")
    distinct = writable.get("sparql", params={
        "query": "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"}).json()
    assert len(union) == int(distinct["results"]["bindings"][0]["n"]["value"])
    refused = writable.request("PUT", "graph-store?default", content=SIMPLE_TURTLE,
                               headers={"Content-Type": "text/turtle", **AUTH})
    assert refused.status_code == 400 and "?graph=" in refused.text
    assert writable.get("graph-store").status_code == 400


def test_a_document_graph_written_through_the_graph_store_gets_its_inferred_graph(writable: LiveServer) -> None:
    pipeline = Pipeline(Settings())
    prepared = pipeline.prepare(next(Settings().seeds_path.glob("*.txt")).read_bytes(), "seed.txt")
    iri = f"{BASE}graph/uploaded-doc"
    (_, body), (_, inferred_ntriples), _ = prepared.graphs  # asserted, inferred, provenance (N-Triples is Turtle)
    assert put(writable, iri, body).status_code == 201
    inferred = Graph().parse(data=writable.store.graph_ntriples(iri + "/inferred"), format="nt")
    assert len(inferred) == len(Graph().parse(data=inferred_ntriples, format="nt")) > 0
    refused = put(writable, iri + "/inferred", SIMPLE_TURTLE)
    assert refused.status_code == 400 and "inferred" in refused.text
    assert writable.request("DELETE", "graph-store", params={"graph": iri}, headers=AUTH).status_code == 204
    assert not {iri, iri + "/inferred"} & set(writable.store.named_graphs())


# ------------------------------------------------------------------------------------------ shapes


def test_a_write_that_violates_the_shapes_is_422_and_writes_nothing(writable: LiveServer) -> None:
    before = writable.store.quad_count()
    iri = f"{BASE}graph/bad-paper"
    response = put(writable, iri, BAD_PAPER)
    assert response.status_code == 422
    assert "nothing was written" in response.text and "title" in response.text
    by_update = update(writable, f"INSERT DATA {{ GRAPH <{iri}> {{ {BAD_PAPER.decode()} }} }}")
    assert by_update.status_code == 422
    assert writable.get("graph-store", params={"graph": iri}).status_code == 404
    assert not ask(writable, f"ASK {{ <{BASE}paper/untitled> ?p ?o }}")
    assert writable.store.quad_count() == before


def test_an_update_is_judged_by_the_violations_it_adds(writable: LiveServer) -> None:
    graph = seed_asserted(writable)
    first = f"SELECT ?p WHERE {{ GRAPH <{graph}> {{ ?p a <{SKG}Paper> }} }} ORDER BY ?p LIMIT 1"
    paper = writable.get("sparql", params={"query": first}).json()["results"]["bindings"][0]["p"]["value"]
    second_title = update(writable, f'INSERT DATA {{ GRAPH <{graph}> {{ <{paper}> <{SKG}title> "Another title" }} }}')
    assert second_title.status_code == 422
    assert not ask(writable, f'ASK {{ <{paper}> <{SKG}title> "Another title" }}')
    harmless = update(writable, f'INSERT DATA {{ GRAPH <{graph}> {{ <{paper}> <{RDFS.comment}> "checked" }} }}')
    assert harmless.status_code == 200, harmless.text
    assert graph in harmless.text
    assert ask(writable, f'ASK {{ GRAPH <{graph}> {{ <{paper}> <{RDFS.comment}> "checked" }} }}')


# ------------------------------------------------------------------------------------------ SPARQL Update


def test_update_by_form_and_by_body(writable: LiveServer) -> None:
    iri = SIMPLE + "-update"
    insert = f'INSERT DATA {{ GRAPH <{iri}> {{ <urn:x:a> <{RDFS.label}> "a" }} }}'
    form = writable.post("sparql", data={"update": insert}, headers=AUTH)
    assert form.status_code == 200, form.text
    assert ask(writable, f'ASK {{ GRAPH <{iri}> {{ <urn:x:a> ?p "a" }} }}')
    body = update(writable, f"PREFIX rdfs: <{RDFS}>\nWITH <{iri}> DELETE {{ ?s rdfs:label ?o }} "
                            f'INSERT {{ ?s rdfs:label "b" }} WHERE {{ ?s rdfs:label ?o }}')
    assert body.status_code == 200, body.text
    assert ask(writable, f'ASK {{ GRAPH <{iri}> {{ <urn:x:a> ?p "b" }} }}')
    assert not ask(writable, 'ASK { <urn:x:a> ?p "a" }')
    assert update(writable, f"DROP GRAPH <{iri}>").status_code == 200
    assert iri not in writable.store.named_graphs()


def test_updates_over_a_variable_graph_see_every_graph(writable: LiveServer) -> None:
    iri = SIMPLE + "-copy"
    pattern = "GRAPH ?g { ?doc <http://www.w3.org/ns/prov#wasDerivedFrom> ?snapshot }"
    found = writable.get("sparql", params={"query": f"SELECT DISTINCT ?g WHERE {{ {pattern} }}"}).json()
    expected = {URIRef(b["g"]["value"]) for b in found["results"]["bindings"]}
    text = f'INSERT {{ GRAPH <{iri}> {{ ?g <{RDFS.label}> "derived" }} }} WHERE {{ {pattern} }}'
    assert update(writable, text).status_code == 200
    copied = Graph().parse(data=writable.store.graph_ntriples(iri), format="nt")
    assert set(copied.subjects(RDFS.label, Literal("derived"))) == expected
    assert len([g for g in expected if str(g).endswith("/provenance")]) >= 2


@pytest.mark.parametrize(("text", "status", "word"), [
    ('INSERT DATA { <urn:x:s> <urn:x:p> "default" }', 400, "default graph"),
    ("LOAD <http://127.0.0.1:9/data.ttl> INTO GRAPH <urn:x:g>", 400, "LOAD"),
    ("INSERT { GRAPH <urn:x:g> { ?s ?p ?o } } WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", 400,
     "SERVICE"),
    ("CREATE GRAPH <" + BASE + "graph/000-88a5c554b0bac8dd>", 400, "failed"),
    ("INSERT DATA { GRAPH <urn:x:g> { <urn:x:s> <urn:x:p> ", 400, "SPARQL"),
    ("SELECT * WHERE { ?s ?p ?o }", 400, "expected a SPARQL Update"),
])
def test_refused_updates_change_nothing(writable: LiveServer, text: str, status: int, word: str) -> None:
    before = writable.store.quad_count()
    response = update(writable, text)
    assert response.status_code == status, response.text
    assert word in response.text
    assert writable.store.quad_count() == before
    assert "urn:x:g" not in writable.store.named_graphs()


def test_every_write_refreshes_counts_and_void(writable: LiveServer) -> None:
    void = "http://rdfs.org/ns/void#"

    def state() -> tuple[int, int]:
        health = writable.get("healthz").json()
        graph = Graph().parse(data=writable.get(".well-known/void").content, format="turtle")
        triples = graph.value(URIRef(BASE + "void#dataset"), URIRef(void + "triples"))
        return int(health["triples"]), int(str(triples))

    quads, triples = state()
    iri = SIMPLE + "-counted"
    body = SIMPLE_TURTLE.replace(b"example.org/note", b"example.org/counted")  # triples no other graph holds
    assert put(writable, iri, body).status_code == 201
    added = len(Graph().parse(data=body, format="turtle"))
    assert state() == (quads + added, triples + added)
    assert writable.request("DELETE", "graph-store", params={"graph": iri}, headers=AUTH).status_code == 204
    assert state() == (quads, triples)


def test_callers_arriving_while_a_value_is_computed_wait_for_it() -> None:
    with EmbeddedStore(None) as store:
        writer = Writer(store, Settings())
        calls: list[int] = []

        def slow_count() -> int:
            calls.append(1)
            time.sleep(0.3)
            return 42

        results: list[int] = []
        threads = [threading.Thread(target=lambda: results.append(writer.cached("counts", slow_count)))
                   for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert results == [42] * 5 and len(calls) == 1  # one scan, not one per readiness probe
        writer.generation += 1  # as a commit does
        assert writer.cached("counts", slow_count) == 42 and len(calls) == 2
