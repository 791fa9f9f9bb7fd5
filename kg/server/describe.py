"""What the endpoint and the data are: the SPARQL Service Description and the VoID description (/.well-known/void).

URLs in both are where the server is really reached (KG_PUBLIC_URL, else the request's own base URL); VoID's
statistics are SPARQL counts on the store, computed once per store generation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request, Response
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from kg.config import Settings
from kg.errors import StoreError
from kg.server.negotiate import RDF_OFFERS, graph_response
from kg.server.writes import Writer
from kg.store import QuerySolutions, Store
from kg.vocab import PREFIXES, SD, VOID

router = APIRouter(tags=["Description"])

FORMATS_NS = "http://www.w3.org/ns/formats/"
RESULT_FORMATS = ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                  "Turtle", "N-Triples", "N-Quads", "TriG", "RDF_XML", "JSON-LD")
DUMP_FORMATS = ("nquads", "trig", "turtle", "jsonld")
# The licence under which this server offers the data it derives; the note says what it cannot cover.
DATA_LICENSE = "https://creativecommons.org/publicdomain/zero/1.0/"
SOURCE_NOTE = ("Derived from public author-profile pages; each document's provenance graph names the snapshot it "
               "came from. The structure added here (IRIs, links, dated metric observations) is offered under "
               "CC0 1.0. Titles and abstracts are quoted from the source pages and stay under the terms of their "
               "authors, publishers and the source site: check those before republishing that text.")

_RDF_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {offer.media_type: {} for offer in RDF_OFFERS}},
    406: {"description": "No RDF syntax fits the Accept header"},
}


def base_url(request: Request) -> str:
    """The URL clients reach this server at, ending in '/': KG_PUBLIC_URL when set, else the request's."""
    settings: Settings = request.app.state.settings
    if settings.public_url:
        return settings.server_url
    url = str(request.base_url)
    return url if url.endswith("/") else url + "/"


# ---------------------------------------------------------------------------------------- service description


def service_description_response(request: Request) -> Response:
    """GET /sparql without a query: the description, by Accept (a browser gets the Turtle as text)."""
    writer: Writer = request.app.state.writer
    graphs = writer.cached("named_graphs", writer.store.named_graphs)
    graph = service_description(base_url(request) + "sparql", request.app.state.settings, writer.enabled, graphs)
    return graph_response(graph, request.headers.get("accept"))


def service_description(endpoint: str, settings: Settings, updates: bool, named_graphs: Iterable[str]) -> Graph:
    """The sd:Service at `endpoint`: languages, result formats, features and the dataset's named graphs."""
    graph = _bound_graph()
    service, dataset, default = URIRef(endpoint + "#service"), BNode("dataset"), BNode("default-graph")
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, URIRef(endpoint)))
    graph.add((service, DCTERMS.title, Literal("Scholar KG SPARQL endpoint")))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    if updates:
        graph.add((service, SD.supportedLanguage, SD.SPARQL11Update))
    for name in RESULT_FORMATS:
        graph.add((service, SD.resultFormat, URIRef(FORMATS_NS + name)))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    if settings.service_allow:
        graph.add((service, SD.feature, SD.BasicFederatedQuery))
    graph.add((service, RDFS.seeAlso, URIRef(endpoint.removesuffix("sparql") + ".well-known/void")))
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    graph.add((default, RDFS.comment, Literal("The union of all named graphs.")))
    for index, name in enumerate(named_graphs):
        node = BNode(f"graph{index}")
        graph.add((dataset, SD.namedGraph, node))
        graph.add((node, RDF.type, SD.NamedGraph))
        graph.add((node, SD.name, URIRef(name)))
    return graph


def _bound_graph() -> Graph:
    graph = Graph()
    graph.bind("sd", SD)
    graph.bind("void", VOID)
    graph.bind("dcterms", DCTERMS)
    graph.bind("formats", FORMATS_NS)
    return graph


# ---------------------------------------------------------------------------------------- VoID

_COUNTS = {
    "triples": "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }",
    "distinctSubjects": "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }",
    "distinctObjects": "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o }",
    "entities": "SELECT (COUNT(DISTINCT ?s) AS ?n) "
                "WHERE { ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), $BASE)) }",
}
_CLASSES = "SELECT ?key (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?key FILTER(isIRI(?key)) } GROUP BY ?key"
_PROPERTIES = "SELECT ?key (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?key ?o WHERE { ?s ?key ?o } } GROUP BY ?key"
_GRAPHS = "SELECT ?key (COUNT(*) AS ?n) WHERE { GRAPH ?key { ?s ?p ?o } } GROUP BY ?key"


@router.get("/.well-known/void", summary="VoID description of the dataset", responses=_RDF_RESPONSES)
def well_known_void(request: Request) -> Response:
    """Statistics, class and property partitions, named graphs as subsets, dumps, vocabularies, licence."""
    return _void_response(request)


@router.get("/void", summary="VoID description of the dataset (same as /.well-known/void)",
            responses=_RDF_RESPONSES)
def void(request: Request) -> Response:
    """The dataset IRI `{base}void#dataset` dereferences here."""
    return _void_response(request)


def _void_response(request: Request) -> Response:
    writer: Writer = request.app.state.writer
    settings: Settings = request.app.state.settings
    stats = writer.cached("void", lambda: void_statistics(writer.store, settings.base_iri))
    return graph_response(void_graph(stats, settings.base_iri, base_url(request)), request.headers.get("accept"))


def void_statistics(store: Store, base_iri: str) -> dict[str, Any]:
    """The numbers VoID states, by SPARQL over the union of all graphs (distinct triples)."""
    base = Literal(base_iri).n3()
    stats: dict[str, Any] = {key: int(_rows(store, text.replace("$BASE", base))[0][0]) for key, text in _COUNTS.items()}
    for key, text in (("classPartition", _CLASSES), ("propertyPartition", _PROPERTIES), ("subset", _GRAPHS)):
        stats[key] = sorted((name, int(count)) for name, count in _rows(store, text))
    return stats


def void_graph(stats: dict[str, Any], base_iri: str, server: str) -> Graph:
    """The VoID graph of `stats`, linking the endpoint and dumps under `server`."""
    graph = _bound_graph()
    dataset = URIRef(base_iri + "void#dataset")
    add = graph.add
    add((dataset, RDF.type, VOID.Dataset))
    add((dataset, DCTERMS.title, Literal("Scholar KG")))
    add((dataset, DCTERMS.description, Literal("Authors, papers, bylines, categories and dated metrics from "
                                               "scholarly author-profile pages, with provenance.")))
    add((dataset, DCTERMS.license, URIRef(DATA_LICENSE)))
    add((dataset, RDFS.comment, Literal(SOURCE_NOTE)))
    add((dataset, VOID.sparqlEndpoint, URIRef(server + "sparql")))
    add((dataset, VOID.uriSpace, Literal(base_iri)))
    for name in DUMP_FORMATS:
        add((dataset, VOID.dataDump, URIRef(f"{server}dump?format={name}")))
    for key in _COUNTS:
        add((dataset, VOID[key], Literal(stats[key], datatype=XSD.integer)))
    add((dataset, VOID.classes, Literal(len(stats["classPartition"]), datatype=XSD.integer)))
    add((dataset, VOID.properties, Literal(len(stats["propertyPartition"]), datatype=XSD.integer)))
    _partitions(graph, dataset, stats)
    used = [iri for iri, _ in stats["classPartition"] + stats["propertyPartition"]]
    for namespace in sorted({ns for ns in PREFIXES.values() if any(iri.startswith(ns) for iri in used)}):
        add((dataset, VOID.vocabulary, URIRef(namespace)))
    return graph


def _partitions(graph: Graph, dataset: URIRef, stats: dict[str, Any]) -> None:
    parts = (("classPartition", VOID["class"], VOID.entities), ("propertyPartition", VOID.property, VOID.triples),
             ("subset", SD.name, VOID.triples))
    for key, link, measure in parts:
        for index, (iri, count) in enumerate(stats[key]):
            node = BNode(f"{key}{index}")
            graph.add((dataset, VOID[key], node))
            if key == "subset":
                graph.add((node, RDF.type, VOID.Dataset))
                graph.add((node, RDF.type, SD.NamedGraph))
            graph.add((node, link, URIRef(iri)))
            graph.add((node, measure, Literal(count, datatype=XSD.integer)))


def _rows(store: Store, text: str) -> list[tuple[str, ...]]:
    """The rows of a SELECT as tuples of lexical forms / IRIs (unbound: "")."""
    result = store.query(text)
    if not isinstance(result, QuerySolutions):
        raise StoreError(f"expected SELECT results from the store for: {text}")
    names = [variable.value for variable in result.variables]
    return [tuple("" if row[name] is None else str(row[name].value) for name in names) for row in result]
