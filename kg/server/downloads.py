"""Downloads: the whole dataset (/dump, streamed), the ontology and the shapes (negotiated), the JSON-LD context.

Dumps are written in batches as the store yields them, so memory stays flat; gzip is applied on the way out
when the client sends Accept-Encoding: gzip.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from functools import cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from rdflib import OWL, RDF, RDFS, SH, Graph, URIRef

from kg.errors import StoreError
from kg.jsonld import context_document
from kg.reason import load_ontology
from kg.resources import ontology_files
from kg.server.negotiate import (
    HTML,
    JSONLD,
    NQUADS,
    NTRIPLES,
    RDF_OFFERS,
    RDFXML,
    TRIG,
    TURTLE,
    Offer,
    choose,
    graph_bytes,
)
from kg.server.negotiate import content_type as header_type
from kg.store import RDF_FORMATS, QueryBoolean, QuerySolutions, Store, Triple, serialize
from kg.store.pinned import pinned
from kg.validate import load_shapes
from kg.vocab import ONTOLOGY_IRI, PREFIXES, SHAPES_IRI
from kg.web.render import PageRenderer

router = APIRouter(tags=["Downloads"])

BATCH = 20_000  # triples per serialised chunk
UNION = "CONSTRUCT { ?s ?p ?o } WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
DUMPS: dict[str, tuple[Offer, str]] = {
    "nquads": (NQUADS, "scholarkg.nq"),
    "trig": (TRIG, "scholarkg.trig"),
    "turtle": (TURTLE, "scholarkg.ttl"),
    "jsonld": (JSONLD, "scholarkg.jsonld"),
}
DumpFormat = Literal["nquads", "trig", "turtle", "jsonld"]
DocFormat = Literal["turtle", "jsonld", "ntriples", "rdfxml"]
_DOC_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {offer.media_type: {} for offer in (*RDF_OFFERS, HTML)}},
    406: {"description": "No representation fits the Accept header"},
}


@router.get("/dump", summary="The whole dataset, streamed", response_class=StreamingResponse,
            responses={200: {"content": {offer.media_type: {} for offer, _ in DUMPS.values()},
                             "description": "N-Quads and TriG keep the named graphs; Turtle is the union of all "
                                            "graphs; JSON-LD has one @graph per named graph. Gzip on request."}})
def dump(request: Request, format: Annotated[DumpFormat, Query(description="Syntax of the dump")] = "nquads"
         ) -> StreamingResponse:
    """Everything in the store, as an attachment named scholarkg.<ext>."""
    store: Store = request.app.state.store
    offer, filename = DUMPS[format]
    if format in ("nquads", "trig"):
        chunks = store.dump(format)
    elif format == "turtle":
        chunks = union_chunks(store, "turtle")
    else:
        chunks = jsonld_dataset_chunks(store)
    return StreamingResponse(pinned(lambda: chunks), media_type=header_type(offer.media_type),  # one thread
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def union_chunks(store: Store, syntax: str) -> Iterator[bytes]:
    """The union of all graphs (distinct triples) in Turtle or N-Triples, batch by batch; each batch is a
    complete document (Turtle batches repeat the prefixes) and their concatenation is one too."""
    triples = construct(store, UNION)
    prefixes = PREFIXES if syntax == "turtle" else None
    while batch := list(itertools.islice(triples, BATCH)):
        yield serialize(batch, format=RDF_FORMATS[syntax], prefixes=prefixes) or b""


def jsonld_dataset_chunks(store: Store) -> Iterator[bytes]:
    """A JSON-LD array with one graph object per named graph, written graph by graph."""
    yield b"["
    for index, name in enumerate(store.named_graphs()):
        triples = list(construct(store, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{name}> {{ ?s ?p ?o }} }}"))
        nodes = (serialize(triples, format=RDF_FORMATS["jsonld"]) or b"[]").strip()[1:-1]
        head = json.dumps({"@id": name})[:-1].encode("utf-8")
        yield (b"," if index else b"") + head + b', "@graph": [' + nodes + b"]}"
    yield b"]"


def construct(store: Store, sparql: str) -> Iterator[Triple]:
    """The triples of a CONSTRUCT query on the store."""
    result = store.query(sparql)
    if isinstance(result, QuerySolutions | QueryBoolean):
        raise StoreError(f"expected triples from the store for: {sparql}")
    return iter(result)


# ------------------------------------------------------------------------------------------ ontology, shapes


@cache
def ontology_graph() -> Graph:
    """The ontology files as one graph (read once)."""
    return load_ontology(ontology_files())


@cache
def shapes_graph() -> Graph:
    """The SHACL shapes as one graph (read once)."""
    return load_shapes()


@router.get("/ontology", summary="The Scholar KG ontology", responses=_DOC_RESPONSES)
def ontology(request: Request, format: Annotated[DocFormat | None, Query(description="Overrides Accept")] = None
             ) -> Response:
    """Turtle, JSON-LD, N-Triples or RDF/XML by Accept (or `format`); browsers get a listing of the terms."""
    return _document(request, ontology_graph(), format, "Ontology", ONTOLOGY_IRI, (OWL.Class, RDFS.Class,
                     OWL.ObjectProperty, OWL.DatatypeProperty, RDF.Property, OWL.NamedIndividual))


@router.get("/shapes", summary="The SHACL shapes that every document must satisfy", responses=_DOC_RESPONSES)
def shapes(request: Request, format: Annotated[DocFormat | None, Query(description="Overrides Accept")] = None
           ) -> Response:
    """Turtle, JSON-LD, N-Triples or RDF/XML by Accept (or `format`); browsers get a listing of the shapes."""
    return _document(request, shapes_graph(), format, "Shapes", SHAPES_IRI, (SH.NodeShape, SH.PropertyShape))


@router.get("/context.jsonld", summary="The JSON-LD context of Scholar KG",
            responses={200: {"content": {"application/ld+json": {}}}})
def context() -> JSONResponse:
    """The @context our JSON-LD uses; readable from any origin, as JSON-LD processors in browsers need."""
    return JSONResponse(context_document(), media_type="application/ld+json",
                        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=3600"})


def _document(request: Request, graph: Graph, format: str | None, title: str, iri: str,
              kinds: tuple[URIRef, ...]) -> Response:
    offers = (*RDF_OFFERS, HTML)
    offer = next(o for o in offers if o.name == format) if format else choose(request.headers.get("accept"), offers)
    if offer is HTML:
        return HTMLResponse(_listing(request.app.state.renderer, graph, title, iri, kinds, request.url.path),
                            headers={"Vary": "Accept"})
    return Response(graph_bytes(graph, offer), media_type=header_type(offer.media_type), headers={"Vary": "Accept"})


def _listing(renderer: PageRenderer, graph: Graph, title: str, iri: str, kinds: tuple[URIRef, ...],
             path: str) -> str:
    items = []
    for kind in kinds:
        for subject in sorted({s for s in graph.subjects(RDF.type, kind) if isinstance(s, URIRef)}):
            label = graph.value(subject, RDFS.label)
            comment = graph.value(subject, RDFS.comment)
            note = renderer.curie(str(kind)) + (f" — {comment}" if comment else "")
            items.append({"iri": str(subject), "label": str(label or renderer.curie(str(subject))), "note": note})
    alternates = [{"type": offer.media_type, "href": f"{path}?format={offer.name}", "label": label}
                  for offer, label in ((TURTLE, "Turtle"), (JSONLD, "JSON-LD"), (NTRIPLES, "N-Triples"),
                                       (RDFXML, "RDF/XML"))]
    return renderer.render("list.html", title=title, heading=f"{title} — {iri}", items=items, alternates=alternates,
                           intro=f"{len(items)} terms; also as Turtle, JSON-LD, N-Triples and RDF/XML.",
                           nav_active=title.lower())
