"""Contexts of the listing pages (/person/, /paper/, /category/, /org/, /team/, /snapshot/): paged, sorted by label.

One query lists the kind's entities with their labels (the server caches it until the next write), then the
per-item counts and notes are queried for the page's entities only. No HTTP, no templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Any

from kg.server.sparqlrows import ref, select, value
from kg.store import Store

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class Listing:
    """One kind of listing: the class, the label property, and the patterns of the item counts and notes."""

    heading: str
    nav: str
    cls: str
    label: str
    intro: str
    count: str = ""  # a pattern on ?e binding ?x: the item count is the number of distinct ?x
    note: str = ""  # a pattern on ?e binding ?note: shown beside the label


LISTINGS: dict[str, Listing] = {
    "person": Listing("Authors", "person", "skg:Person", "skg:name", "People named in profiles and bylines, with "
                      "the number of papers naming them.", "?x skg:hasAuthor ?e"),
    "team": Listing("Teams", "person", "skg:Team", "skg:name", "Groups named in bylines, with their papers.",
                    "?x skg:hasAuthor ?e"),
    "org": Listing("Organizations", "org", "skg:Organization", "skg:name",
                   "Organization tags printed on paper entries, with the number of tagged papers.",
                   "?x skg:taggedOrganization ?e"),
    "paper": Listing("Papers", "paper", "skg:Paper", "skg:title", "Papers by title, with their date and the "
                     "number of profiles listing them.", "?x skg:lists ?e", "?e skg:publicationDate ?note"),
    "category": Listing("Categories", "category", "skg:Category", "skos:notation",
                        "arXiv categories of papers, with the number of papers in each.", "?x skg:category ?e",
                        "?e skos:prefLabel ?note"),
    "snapshot": Listing("Profile snapshots", "person", "skg:ProfileSnapshot", "skg:fileName",
                        "The source documents, with their owner and the number of papers they list.",
                        "?e skg:lists ?x", "?e skg:describes ?owner . ?owner skg:name ?note"),
}

_INDEX = "SELECT ?e (MIN(?l) AS ?label) WHERE { ?e a $cls ; $label ?l } GROUP BY ?e"
_COUNTS = "SELECT ?e (COUNT(DISTINCT ?x) AS ?count) WHERE { VALUES ?e { $items } OPTIONAL { $pattern } } GROUP BY ?e"
_NOTES = "SELECT ?e (MIN(STR(?note)) AS ?text) WHERE { VALUES ?e { $items } $pattern } GROUP BY ?e"

Index = list[tuple[str, str]]  # (IRI, label) of every entity of a kind, in listing order


def listing_index(store: Store, kind: str) -> Index:
    """Every entity of `kind` with its label, sorted by label (case-insensitively), then IRI: one query over the
    class, worth caching until the next write (the server does: kg.server.writes.Writer.cached)."""
    listing = LISTINGS[kind]
    rows = select(store, _INDEX, cls=listing.cls, label=listing.label)
    labelled = [(value(r, "e"), value(r, "label")) for r in rows]
    return sorted(labelled, key=lambda item: (item[1].casefold(), item[1], item[0]))


def listing_context(store: Store, kind: str, page: int, size: int = PAGE_SIZE, site_prefix: str = "/",
                    index: Index | None = None) -> dict[str, Any]:
    """The context of list.html for page `page` (1-based, clamped) of the `kind` listing; KeyError for an unknown
    kind. `index` is listing_index(store, kind), computed here when not given. Pager links go below `site_prefix`."""
    listing = LISTINGS[kind]
    entries = listing_index(store, kind) if index is None else index
    size = min(max(size, 1), MAX_PAGE_SIZE)
    pages = max(ceil(len(entries) / size), 1)
    page = min(max(page, 1), pages)
    items = [{"iri": iri, "label": label} for iri, label in entries[(page - 1) * size:page * size]]
    _annotate(store, listing, items)
    return {
        "title": listing.heading if page == 1 else f"{listing.heading} (page {page})",
        "heading": listing.heading, "intro": listing.intro, "nav_active": listing.nav, "items": items,
        "start": (page - 1) * size + 1, "page": page, "pages": pages, "total": len(entries),
        "prev_href": _page_href(site_prefix, kind, page - 1, size) if page > 1 else "",
        "next_href": _page_href(site_prefix, kind, page + 1, size) if page < pages else "",
    }


def _annotate(store: Store, listing: Listing, items: list[dict[str, Any]]) -> None:
    if not items:
        return
    values = " ".join(ref(item["iri"]) for item in items)
    counts = {value(r, "e"): int(value(r, "count", "0"))
              for r in select(store, _COUNTS, items=values, pattern=listing.count)} if listing.count else {}
    notes = {value(r, "e"): value(r, "text")
             for r in select(store, _NOTES, items=values, pattern=listing.note)} if listing.note else {}
    for item in items:
        if listing.count:
            item["count"] = counts.get(item["iri"], 0)
        if item["iri"] in notes:
            item["note"] = notes[item["iri"]]


def _page_href(site_prefix: str, kind: str, page: int, size: int) -> str:
    return f"{site_prefix}{kind}/?page={page}" + ("" if size == PAGE_SIZE else f"&size={size}")
