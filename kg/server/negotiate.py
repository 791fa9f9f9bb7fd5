"""Content negotiation for the server's own documents (service description, VoID, ontology, shapes, graphs).

Query results are negotiated by kg.query.negotiate; this module picks among RDF syntaxes and HTML by Accept
and serialises small rdflib graphs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import Response
from rdflib import Graph

from kg.errors import NotAcceptable
from kg.jsonld import graph_to_jsonld


@dataclass(frozen=True, slots=True)
class Offer:
    """One representation: the short name used in code and the media type sent in Content-Type."""

    name: str
    media_type: str


TURTLE = Offer("turtle", "text/turtle")
JSONLD = Offer("jsonld", "application/ld+json")
NTRIPLES = Offer("ntriples", "application/n-triples")
RDFXML = Offer("rdfxml", "application/rdf+xml")
NQUADS = Offer("nquads", "application/n-quads")
TRIG = Offer("trig", "application/trig")
HTML = Offer("html", "text/html")

# The RDF documents of the server: the first offer is the default for a missing or `*/*` Accept.
RDF_OFFERS: tuple[Offer, ...] = (TURTLE, JSONLD, NTRIPLES, RDFXML)
TEXT_MEDIA_TYPES = frozenset({"text/turtle", "application/n-triples", "application/n-quads", "application/trig",
                              "text/html", "text/plain", "text/csv", "text/tab-separated-values"})


def choose(accept: str | None, offers: Sequence[Offer]) -> Offer:
    """The offer the Accept header prefers: highest q, then the most specific matching range, then our order.

    A missing or empty header gets the first offer; NotAcceptable when no offer has a q above zero.
    """
    if accept is None or not accept.strip():
        return offers[0]
    ranges = parse_accept(accept)
    best: tuple[float, int, int, Offer] | None = None
    for position, offer in enumerate(offers):
        q, specificity = quality(offer.media_type, ranges)
        if q > 0 and (best is None or (q, specificity, -position) > best[:3]):
            best = (q, specificity, -position, offer)
    if best is None:
        listed = ", ".join(offer.media_type for offer in offers)
        raise NotAcceptable(f"Accept: {accept!r}: no representation of this resource fits; expected one of {listed}")
    return best[3]


def parse_accept(header: str) -> list[tuple[str, float]]:
    """(media range, q) pairs; a range with a malformed q is ignored, a bare `*` reads as `*/*`."""
    ranges: list[tuple[str, float]] = []
    for part in header.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        media = "*/*" if media == "*" else media.lower()
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = -1.0
        if "/" in media and q >= 0:
            ranges.append((media, q))
    return ranges


def quality(media_type: str, ranges: Sequence[tuple[str, float]]) -> tuple[float, int]:
    """(q, specificity) the most specific range matching `media_type` gives it; (0, 0) when none matches."""
    found = (0.0, 0)
    for media, q in ranges:
        if media == media_type:
            specificity = 3
        elif media.endswith("/*") and (media == "*/*" or media_type.startswith(media[:-1])):
            specificity = 1 if media == "*/*" else 2
        else:
            continue
        if specificity > found[1]:
            found = (q, specificity)
    return found


def content_type(media_type: str) -> str:
    """The Content-Type header value: text formats say they are UTF-8."""
    return f"{media_type}; charset=utf-8" if media_type in TEXT_MEDIA_TYPES else media_type


# HTML asked of a resource that has no page: its Turtle, shown as text in the browser.
TURTLE_AS_TEXT = Offer("turtle", "text/plain")
DOCUMENT_OFFERS: tuple[Offer, ...] = (*RDF_OFFERS, HTML)


def graph_bytes(graph: Graph, offer: Offer) -> bytes:
    """A small rdflib graph in the syntax of `offer` (turtle, jsonld, ntriples, rdfxml, nquads, trig)."""
    if offer.name == "jsonld":
        return graph_to_jsonld(graph)
    syntax = {"turtle": "turtle", "ntriples": "nt", "rdfxml": "xml", "nquads": "nquads", "trig": "trig"}
    return graph.serialize(format=syntax[offer.name], encoding="utf-8")


def graph_response(graph: Graph, accept: str | None, *, html: Offer = TURTLE_AS_TEXT) -> Response:
    """The graph by Accept among RDF_OFFERS; a client preferring HTML gets the `html` offer's rendering."""
    offer = choose(accept, DOCUMENT_OFFERS)
    shown = html if offer is HTML else offer
    return Response(graph_bytes(graph, shown), media_type=content_type(shown.media_type), headers={"Vary": "Accept"})
