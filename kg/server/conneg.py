"""Which representation of a linked-data document to serve: HTML or an RDF syntax, by `?format=`, extension or Accept.

Builds on kg.server.negotiate (the server's Accept parsing) and adds what documents need: the file extensions of
their URLs, format names, and HTML as the default for clients that state no preference.
"""

from __future__ import annotations

from kg.errors import NotAcceptable
from kg.server.negotiate import HTML, JSONLD, NTRIPLES, RDFXML, TURTLE, Offer, choose

# In order of preference: the first is served when the client states none (no Accept, or */*), since linked-data
# clients name the RDF syntax they want and anything else is most likely a person with a browser.
PAGE_OFFERS: tuple[Offer, ...] = (HTML, TURTLE, JSONLD, NTRIPLES, RDFXML)
RDF_PAGE_OFFERS: tuple[Offer, ...] = PAGE_OFFERS[1:]
# JSON-LD for clients that ask for plain JSON by name (it is JSON); last, so `*/*` and `application/*` never pick it.
_NEGOTIATED: tuple[Offer, ...] = (*PAGE_OFFERS, Offer("jsonld", "application/json"))
EXTENSIONS: dict[str, str] = {"html": "html", "turtle": "ttl", "jsonld": "jsonld", "ntriples": "nt", "rdfxml": "rdf"}
LABELS: dict[str, str] = {"html": "HTML", "turtle": "Turtle", "jsonld": "JSON-LD", "ntriples": "N-Triples",
                          "rdfxml": "RDF/XML"}

_BY_EXTENSION: dict[str, Offer] = {EXTENSIONS[o.name]: o for o in PAGE_OFFERS}
# Values of `?format=`: short names, extensions, media types and a few common spellings.
_NAMES: dict[str, Offer] = {
    **{o.name: o for o in PAGE_OFFERS}, **_BY_EXTENSION, **{o.media_type: o for o in PAGE_OFFERS},
    "htm": HTML, "json-ld": JSONLD, "json": JSONLD, "n-triples": NTRIPLES, "xml": RDFXML, "rdf+xml": RDFXML,
    "application/json": JSONLD, "application/xhtml+xml": HTML,
}


def extension(offer: Offer) -> str:
    """The file extension (without the dot) of `offer`'s document URLs."""
    return EXTENSIONS[offer.name]


def by_name(name: str) -> Offer:
    """The representation a `?format=` value names (`ttl`, `turtle`, `text/turtle`, …); NotAcceptable otherwise."""
    found = _NAMES.get(name.strip().lower())
    if found is None:
        known = ", ".join(f"{o.name} ({extension(o)})" for o in PAGE_OFFERS)
        raise NotAcceptable(f"format={name!r}: unknown format; expected one of {known}")
    return found


def split_extension(path: str) -> tuple[str, Offer | None]:
    """(`path` without its known extension, that extension's representation), or (`path`, None)."""
    stem, dot, ext = path.rpartition(".")
    found = _BY_EXTENSION.get(ext) if dot and "/" not in ext and stem and not stem.endswith("/") else None
    return (stem, found) if found is not None else (path, None)


def negotiate(accept: str | None, format_param: str | None = None) -> Offer:
    """`?format=` when given, else the Accept header's choice among PAGE_OFFERS (HTML when it states none)."""
    if format_param is not None and format_param.strip():
        return by_name(format_param)
    return choose(accept, _NEGOTIATED)


def alternates(document_path: str) -> list[dict[str, str]]:
    """Links to the RDF documents of a page (`document_path` without extension): {type, href, label} each."""
    return [{"type": o.media_type, "href": f"{document_path}.{extension(o)}", "label": LABELS[o.name]}
            for o in RDF_PAGE_OFFERS]
