"""VoID at /.well-known/void and /void: every number equals the SPARQL count it stands for; links are reachable."""

from __future__ import annotations

import pytest
from conftest import LiveServer
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, RDF, RDFS
from rdflib.term import Node

from kg.config import Settings
from kg.vocab import SD, SKG, VOID

pytestmark = pytest.mark.slow

DATASET = URIRef(Settings().base_iri + "void#dataset")


@pytest.fixture(scope="module")
def void(server: LiveServer) -> Graph:
    response = server.get(".well-known/void", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    return Graph().parse(data=response.content, format="turtle")


def count(server: LiveServer, text: str) -> int:
    response = server.get("sparql", params={"query": text})
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def number(graph: Graph, subject: Node, predicate: URIRef) -> int:
    value = graph.value(subject, predicate)
    assert value is not None, f"no {predicate} on {subject}"
    return int(str(value))


def partition(graph: Graph, kind: str, link: URIRef, iri: str) -> Node:
    return next(node for node in graph.objects(DATASET, VOID[kind]) if graph.value(node, link) == URIRef(iri))


@pytest.mark.parametrize(("term", "query"), [
    ("triples", "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"),
    ("distinctSubjects", "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }"),
    ("distinctObjects", "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o }"),
    ("classes", "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?s a ?c FILTER(isIRI(?c)) }"),
    ("properties", "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?s ?p ?o }"),
    ("entities", "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o "
                 f"FILTER(STRSTARTS(STR(?s), \"{Settings().base_iri}\")) }}"),
])
def test_dataset_numbers_equal_sparql_counts(server: LiveServer, void: Graph, term: str, query: str) -> None:
    assert number(void, DATASET, VOID[term]) == count(server, query) > 0


def test_class_partitions_count_instances(server: LiveServer, void: Graph) -> None:
    for iri in (SKG.Paper, SKG.Person, "http://schema.org/ScholarlyArticle"):
        node = partition(void, "classPartition", VOID["class"], str(iri))
        assert number(void, node, VOID.entities) == count(
            server, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a <{iri}> }}")


def test_property_partitions_count_distinct_triples(server: LiveServer, void: Graph) -> None:
    for iri in (SKG.title, SKG.hasAuthorship, RDF.type):
        node = partition(void, "propertyPartition", VOID.property, str(iri))
        assert number(void, node, VOID.triples) == count(
            server, f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?o WHERE {{ ?s <{iri}> ?o }} }}")


def test_named_graphs_are_subsets_with_their_sizes(server: LiveServer, void: Graph) -> None:
    subsets = {str(void.value(node, SD.name)): number(void, node, VOID.triples)
               for node in void.objects(DATASET, VOID.subset)}
    assert subsets == {g: len(Graph().parse(data=server.store.graph_ntriples(g), format="nt"))
                       for g in server.store.named_graphs()}


def test_links_licence_and_vocabularies(server: LiveServer, void: Graph) -> None:
    assert void.value(DATASET, VOID.sparqlEndpoint) == URIRef(server.url + "sparql")
    dumps = {str(o) for o in void.objects(DATASET, VOID.dataDump)}
    assert dumps == {f"{server.url}dump?format={name}" for name in ("nquads", "trig", "turtle", "jsonld")}
    for url in dumps:
        assert server.get(url.removeprefix(server.url)).status_code == 200
    assert void.value(DATASET, DCTERMS.license) is not None
    assert "source" in str(void.value(DATASET, RDFS.comment))
    vocabularies = {str(o) for o in void.objects(DATASET, VOID.vocabulary)}
    assert {str(SKG), "http://schema.org/", "http://www.w3.org/ns/prov#"} <= vocabularies


@pytest.mark.parametrize(("media", "syntax"), [
    ("application/ld+json", "json-ld"), ("application/n-triples", "nt"), ("application/rdf+xml", "xml"),
])
def test_void_in_other_syntaxes_and_at_void(server: LiveServer, void: Graph, media: str, syntax: str) -> None:
    response = server.get("void", headers={"Accept": media})
    assert response.headers["content-type"].startswith(media)
    assert isomorphic(Graph().parse(data=response.content, format=syntax), void)


def test_void_refuses_what_it_cannot_give(server: LiveServer) -> None:
    assert server.get(".well-known/void", headers={"Accept": "image/png"}).status_code == 406
