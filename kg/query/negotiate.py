"""Which representation answers a query: HTTP Accept negotiation (q-values, wildcards) or a short format name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kg.errors import NotAcceptable

GRAPH_FORMS = ("CONSTRUCT", "DESCRIBE")


@dataclass(frozen=True, slots=True)
class ResultFormat:
    """A result representation: short name (CLI), media type (HTTP), and whether it holds a graph."""

    name: str
    media_type: str
    graph: bool  # True for CONSTRUCT/DESCRIBE results, False for SELECT/ASK
    alias: bool = False  # offered only when asked for by this exact media type


FORMATS: tuple[ResultFormat, ...] = (  # in order of preference: the first of a kind is its default
    ResultFormat("json", "application/sparql-results+json", False),
    ResultFormat("xml", "application/sparql-results+xml", False),
    ResultFormat("csv", "text/csv", False),
    ResultFormat("tsv", "text/tab-separated-values", False),
    ResultFormat("json", "application/json", False, alias=True),
    ResultFormat("xml", "application/xml", False, alias=True),
    ResultFormat("turtle", "text/turtle", True),
    ResultFormat("ntriples", "application/n-triples", True),
    ResultFormat("nquads", "application/n-quads", True),
    ResultFormat("trig", "application/trig", True),
    ResultFormat("rdfxml", "application/rdf+xml", True),
    ResultFormat("jsonld", "application/ld+json", True),
    ResultFormat("jsonld", "application/json", True, alias=True),
)


def negotiate(accept: str | None, form: str) -> ResultFormat:
    """The representation for a `form` query's answer: by Accept header (q-values, `type/*`, `*/*`; the most
    specific range decides an offer's q; ties go to the client's earlier range, then to our order) or by short
    format name. None or blank: the default (SPARQL results JSON, or Turtle for graphs)."""
    offers = [f for f in FORMATS if f.graph == (form in GRAPH_FORMS)]
    if accept is None or not accept.strip():
        return offers[0]
    wanted = accept.strip().lower()
    if "/" not in wanted and wanted != "*":
        return _by_name(wanted, offers, form)
    ranges = _accept_ranges(accept)
    ranked = [(rank, -position, offer) for position, offer in enumerate(offers)
              if (rank := _rank(offer, ranges)) is not None]
    if not ranked:
        available = ", ".join(f.media_type for f in offers if not f.alias)
        raise NotAcceptable(f"Accept: {accept!r}: no representation of a {form} result fits; "
                            f"expected one of {available}")
    return max(ranked, key=lambda item: item[:2])[2]


def _by_name(name: str, offers: list[ResultFormat], form: str) -> ResultFormat:
    for offer in offers:
        if offer.name == name:
            return offer
    names = ", ".join(dict.fromkeys(f.name for f in offers))
    raise NotAcceptable(f"format {name!r} does not fit a {form} query; expected one of {names}")


def _accept_ranges(header: str) -> list[tuple[str, float]]:
    ranges = []
    for part in header.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        media = "*/*" if media == "*" else media.lower()
        q = _q_value(params)
        if "/" in media and q is not None:
            ranges.append((media, q))
    return ranges


def _q_value(params: Iterable[str]) -> float | None:
    """The q parameter (default 1), or None when malformed: such a range is ignored."""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                return None
    return 1.0


def _rank(offer: ResultFormat, ranges: list[tuple[str, float]]) -> tuple[float, int, int] | None:
    matches = [(specificity, -index, q) for index, (media, q) in enumerate(ranges)
               if (specificity := _specificity(media, offer.media_type)) and (specificity == 3 or not offer.alias)]
    if not matches:
        return None
    specificity, position, q = max(matches)  # the most specific range decides; among equals, the first listed
    return None if q <= 0 else (q, specificity, position)


def _specificity(media_range: str, media_type: str) -> int:
    if media_range == media_type:
        return 3
    if media_range == "*/*":
        return 1
    return 2 if media_range.endswith("/*") and media_type.startswith(media_range[:-1]) else 0
