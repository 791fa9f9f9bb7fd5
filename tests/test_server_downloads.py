"""Downloads: /dump in four syntaxes (streamed, gzip on request), /ontology and /shapes negotiated, the context."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest
from conftest import LiveServer, dataset_graphs
from rdflib import Graph
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF, SH

from kg.jsonld import context_document
from kg.resources import ontology_files, shapes_files
from kg.vocab import SKG

pytestmark = pytest.mark.slow


def store_graphs(server: LiveServer) -> dict[str | None, Graph]:
    return {g: Graph().parse(data=server.store.graph_ntriples(g), format="nt") for g in server.store.named_graphs()}


def union(graphs: dict[str | None, Graph]) -> Graph:
    merged = Graph()
    for graph in graphs.values():
        merged += graph
    return merged


@pytest.mark.parametrize(("name", "media", "filename"), [
    ("nquads", "application/n-quads", "scholarkg.nq"), ("trig", "application/trig", "scholarkg.trig"),
])
def test_dataset_dumps_keep_every_graph(server: LiveServer, name: str, media: str, filename: str) -> None:
    response = server.get("dump", params={"format": name})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
    dumped = dataset_graphs(response.content, name)
    expected = store_graphs(server)
    assert set(dumped) == set(expected)
    assert all(isomorphic(dumped[g], expected[g]) for g in expected)


def test_nquads_is_the_default_dump(server: LiveServer) -> None:
    assert server.get("dump").headers["content-type"].startswith("application/n-quads")


def test_turtle_dump_is_the_union_of_all_graphs(server: LiveServer) -> None:
    response = server.get("dump", params={"format": "turtle"})
    assert response.headers["content-type"].startswith("text/turtle")
    assert isomorphic(Graph().parse(data=response.content, format="turtle"), union(store_graphs(server)))


def test_jsonld_dump_has_one_graph_object_per_named_graph(server: LiveServer) -> None:
    response = server.get("dump", params={"format": "jsonld"})
    assert response.headers["content-type"].startswith("application/ld+json")
    document = json.loads(response.content)
    expected = store_graphs(server)
    assert sorted(item["@id"] for item in document) == sorted(str(g) for g in expected)
    first = document[0]
    parsed = Graph().parse(data=json.dumps(first["@graph"]), format="json-ld")
    assert isomorphic(parsed, expected[first["@id"]])


def test_dump_is_gzipped_when_asked_and_streamed(server: LiveServer) -> None:
    url = server.url + "dump?format=nquads"
    with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}, timeout=30) as response:
        assert response.headers["content-encoding"] == "gzip"
        assert "content-length" not in response.headers  # streamed, not buffered
        raw = b"".join(response.iter_raw())
    plain = server.get("dump", params={"format": "nquads"}, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert gzip.decompress(raw) == plain.content
    assert len(raw) < len(plain.content) / 3


def test_unknown_dump_format_is_400(server: LiveServer) -> None:
    response = server.get("dump", params={"format": "rdfxml"})
    assert response.status_code == 400
    assert "format" in response.text


def _files(paths: list) -> Graph:  # type: ignore[type-arg]
    graph = Graph()
    for path in paths:
        graph.parse(path, format="turtle")
    return graph


@pytest.mark.parametrize("path", ["ontology", "shapes"])
@pytest.mark.parametrize(("media", "syntax"), [
    ("text/turtle", "turtle"), ("application/ld+json", "json-ld"), ("application/n-triples", "nt"),
    ("application/rdf+xml", "xml"),
])
def test_ontology_and_shapes_by_accept(server: LiveServer, path: str, media: str, syntax: str) -> None:
    response = server.get(path, headers={"Accept": media})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    expected = _files(ontology_files() if path == "ontology" else shapes_files())
    assert isomorphic(Graph().parse(data=response.content, format=syntax), expected)


def test_ontology_and_shapes_for_browsers_are_listings(server: LiveServer) -> None:
    page = server.get("ontology", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html")
    assert "Paper" in page.text and 'href="/ontology?format=turtle"' in page.text
    shapes = server.get("shapes", headers={"Accept": "text/html"})
    assert "PaperTitleShape" in shapes.text or "Paper title" in shapes.text
    forced = server.get("ontology", params={"format": "turtle"}, headers={"Accept": "text/html"})
    graph = Graph().parse(data=forced.content, format="turtle")
    assert (SKG.Paper, RDF.type, OWL.Class) in graph
    assert server.get("shapes", params={"format": "ntriples"}).headers["content-type"].startswith(
        "application/n-triples")
    assert (None, RDF.type, SH.PropertyShape) in _files(shapes_files())


def test_context_document(server: LiveServer) -> None:
    response = server.get("context.jsonld")
    assert response.headers["content-type"].startswith("application/ld+json")
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json() == context_document()
