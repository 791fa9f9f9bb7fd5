"""The SPARQL 1.1 Graph Store HTTP Protocol at /graph-store (?graph=IRI or ?default).

Reads are public; PUT/POST/DELETE need the bearer token and pass the same checks as a SPARQL Update.
The default graph is the union of all named graphs: readable here, never written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from rdflib import Graph

from kg.errors import InputError, KGError, NotFound, QueryRefused, UnsupportedMediaType
from kg.jsonld import CONTEXT_PATH, jsonld_to_graph
from kg.server.body import media_type, request_body
from kg.server.describe import base_url
from kg.server.downloads import UNION, construct, union_chunks
from kg.server.negotiate import (
    DOCUMENT_OFFERS,
    HTML,
    JSONLD,
    NTRIPLES,
    RDF_OFFERS,
    TURTLE,
    TURTLE_AS_TEXT,
    Offer,
    choose,
    content_type,
    graph_bytes,
)
from kg.server.writes import Writer
from kg.store import RDF_FORMATS, Store, serialize
from kg.store.pinned import pinned

router = APIRouter(tags=["Graph Store"])

PATH = "/graph-store"
# What a client may send: never RDF/XML (entity expansion can hang or abort the parser).
BODY_SYNTAXES = {TURTLE.media_type: "turtle", NTRIPLES.media_type: "nt", JSONLD.media_type: "json-ld"}

GraphParam = Annotated[str | None, Query(description="The IRI of a named graph")]
DefaultParam = Annotated[str | None, Query(description="Present (`?default`): the default graph, i.e. the union "
                                                       "of all named graphs (read-only)")]
_READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {offer.media_type: {} for offer in RDF_OFFERS}},
    404: {"description": "No such named graph"},
    406: {"description": "No RDF syntax fits the Accept header"},
}
_WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"description": "The graph was created"},
    204: {"description": "The graph was replaced, merged into or deleted"},
    400: {"description": "No ?graph=, a write to ?default, an unreadable body, or an inferred graph"},
    401: {"description": "Missing or wrong bearer token"},
    403: {"description": "Writes are disabled (no KG_UPDATE_TOKEN)"},
    413: {"description": "Body over the configured limit"},
    415: {"description": "Body not Turtle, N-Triples or JSON-LD"},
    422: {"description": "Refused by the SHACL shapes; the body lists the new violations; nothing was written"},
}
_BODY = {"requestBody": {"required": True, "content": {media: {"schema": {"type": "string"}}
                                                         for media in BODY_SYNTAXES}}}


def require_token(request: Request) -> None:
    """Dependency run before the body is read: writes need `Authorization: Bearer <token>`."""
    writer: Writer = request.app.state.writer
    writer.authorize(request.headers.get("authorization"))


Authorized = Annotated[None, Depends(require_token)]
Body = Annotated[bytes, Depends(request_body)]


@router.api_route(PATH, methods=["GET", "HEAD"], summary="Read a named graph, or the union (?default)",
                  responses=_READ_RESPONSES)
def read_graph(request: Request, graph: GraphParam = None, default: DefaultParam = None) -> Response:
    """Turtle (default), JSON-LD, N-Triples or RDF/XML by Accept; a browser gets the Turtle as text."""
    iri = _target(request, graph)
    store: Store = request.app.state.store
    if iri is not None and iri not in store.named_graphs():
        raise NotFound(f"graph <{iri}>: no such named graph here; ?default reads the union of all graphs")
    offer = choose(request.headers.get("accept"), DOCUMENT_OFFERS)
    offer = TURTLE_AS_TEXT if offer is HTML else offer
    headers = {"Vary": "Accept"}
    if request.method == "HEAD":
        return Response(headers=headers, media_type=content_type(offer.media_type))
    chunks = _graph_chunks(store, iri, offer)  # advanced on one thread: pyoxigraph's iterators require it
    return StreamingResponse(pinned(lambda: chunks), media_type=content_type(offer.media_type), headers=headers)


@router.put(PATH, summary="Replace (or create) a named graph", status_code=204, responses=_WRITE_RESPONSES,
            openapi_extra=_BODY)
def put_graph(request: Request, _: Authorized, body: Body, graph: GraphParam = None,
              default: DefaultParam = None) -> Response:
    """The graph becomes the body, once the shapes accept it."""
    iri = _write_target(request, graph)
    created = request.app.state.writer.replace({iri: parse_body(request, body, iri)})
    return Response(status_code=201 if created else 204)


@router.post(PATH, summary="Add triples to a named graph (created if missing)", status_code=204,
             responses=_WRITE_RESPONSES, openapi_extra=_BODY)
def post_graph(request: Request, _: Authorized, body: Body, graph: GraphParam = None,
               default: DefaultParam = None) -> Response:
    """The body's triples are merged into the graph, once the shapes accept the result."""
    iri = _write_target(request, graph)
    created = request.app.state.writer.replace({iri: parse_body(request, body, iri)}, merge=True)
    return Response(status_code=201 if created else 204)


@router.delete(PATH, summary="Delete a named graph", status_code=204, responses=_WRITE_RESPONSES)
def delete_graph(request: Request, _: Authorized, graph: GraphParam = None, default: DefaultParam = None) -> Response:
    """Drops the graph (and, for a document's asserted graph, its inferred alignment graph)."""
    iri = _write_target(request, graph)
    if iri not in request.app.state.store.named_graphs():
        raise NotFound(f"graph <{iri}>: no such named graph here")
    request.app.state.writer.replace({iri: None})
    return Response(status_code=204)


def parse_body(request: Request, body: bytes, iri: str) -> Graph:
    """The request body as a graph; relative IRIs resolve against the graph's IRI."""
    kind = media_type(request)
    syntax = BODY_SYNTAXES.get(kind)
    if syntax is None:
        raise UnsupportedMediaType(f"Content-Type {kind or 'missing'!r}: expected one of "
                                   f"{', '.join(BODY_SYNTAXES)} (RDF/XML is not accepted from clients)")
    if syntax == "json-ld":
        published = (request.app.state.settings.base_iri + CONTEXT_PATH, base_url(request) + CONTEXT_PATH)
        return jsonld_to_graph(body, "graph store body", base=iri, context_urls=published)
    graph = Graph()
    try:
        graph.parse(data=body, format=syntax, publicID=iri)
    except KGError:
        raise
    except Exception as error:  # rdflib's parsers raise assorted exception types for bad input
        raise InputError(f"graph store body: expected {kind}, got unreadable data ({error})") from None
    return graph


def _target(request: Request, graph: str | None) -> str | None:
    """The named graph's IRI, or None for ?default; exactly one of the two must be given."""
    has_default = "default" in request.query_params
    if (graph is None) == (not has_default):
        raise InputError(f"{PATH}: expected exactly one of ?graph=<IRI> and ?default")
    return graph


def _write_target(request: Request, graph: str | None) -> str:
    iri = _target(request, graph)
    if iri is None:
        raise QueryRefused("?default: the default graph is the union of all named graphs and cannot be written; "
                           "expected ?graph=<IRI>")
    return iri


def _graph_chunks(store: Store, iri: str | None, offer: Offer) -> Iterator[bytes]:
    """Turtle and N-Triples stream in batches; JSON-LD and RDF/XML are written whole."""
    if offer.name in ("turtle", "ntriples"):
        return store.dump(offer.name, graph=iri) if iri is not None else union_chunks(store, offer.name)
    if iri is not None:
        parsed = Graph().parse(data=store.graph_ntriples(iri), format="nt")
        return iter([graph_bytes(parsed, offer)])
    fmt = RDF_FORMATS["jsonld" if offer is JSONLD else "rdfxml"]
    return iter([serialize(list(construct(store, UNION)), format=fmt) or b""])
