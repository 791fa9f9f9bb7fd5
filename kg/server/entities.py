"""Template contexts of the author and paper pages, and the paper lists and label look-ups every page shares.

Each context comes from a few SPARQL queries that all start from the page's own IRI (no scan of the store);
charts and the co-author network are computed here from those rows. No HTTP and no templates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from rdflib import Graph
from rdflib.namespace import RDFS

from kg.resources import ontology_files
from kg.server.findings import author_findings
from kg.server.sparqlrows import Row, first, ref, select, value
from kg.store import Store
from kg.vocab import METRICS, SKG

Context = dict[str, Any]

PAPER_LIMIT = 500  # papers listed on one page; the charts count all of them
NETWORK_NODES = 40  # co-authors drawn besides the author: those sharing the most papers
NETWORK_EDGES = 400

# pyoxigraph's union default graph holds a statement once per named graph stating it, so a join through a shared
# resource multiplies rows: a category's notation is in every document's graph that uses the category. Hence the
# labels of shared resources (category notations, agent names) are looked up in a query of their own (`labels`),
# after the page's rows are chosen, and lists take two steps: the newest papers' IRIs, then details of those only.
# (One query joining titles and category notations before the sort took 1.2 s for a category at 1M triples.)
_NEWEST = """
SELECT ?paper (MIN(?d) AS ?date) WHERE { $pattern OPTIONAL { ?paper skg:publicationDate ?d } }
GROUP BY ?paper ORDER BY DESC(?date) ?paper LIMIT $limit
"""
_DETAILS = """
SELECT ?paper ?title ?category WHERE {
  VALUES ?paper { $papers }
  ?paper skg:title ?title .
  OPTIONAL { ?paper skg:category ?category }
}
"""
_LABELS = "SELECT ?e (MIN(STR(?l)) AS ?label) WHERE { VALUES ?e { $items } ?e $property ?l } GROUP BY ?e"
_TEAMS = "SELECT DISTINCT ?e WHERE { VALUES ?e { $items } ?e a skg:Team }"
_YEARS = """
SELECT ?year (COUNT(DISTINCT ?paper) AS ?count)
WHERE { $pattern ?paper skg:publicationDate ?d . BIND (YEAR(?d) AS ?year) }
GROUP BY ?year ORDER BY ?year
"""
_CATEGORIES = """
SELECT ?category (COUNT(DISTINCT ?paper) AS ?count) WHERE { $pattern ?paper skg:category ?category }
GROUP BY ?category
"""
_TOTAL = "SELECT (COUNT(DISTINCT ?paper) AS ?count) WHERE { $pattern }"
_NAMES = "SELECT ?name WHERE { $iri skg:name ?name }"


@dataclass(frozen=True, slots=True)
class PaperList:
    """Papers matching a pattern on `?paper`: the newest PAPER_LIMIT, and counts over all of them."""

    papers: list[Context]
    total: int
    by_year: list[Context]
    categories: list[Context]


def paper_list(store: Store, pattern: str, *, categories: bool = False) -> PaperList:
    """The papers matching `pattern` (SPARQL binding `?paper`), newest first, with per-year counts and, when
    `categories`, per-category counts. Two queries when they fit on the page; beyond PAPER_LIMIT, aggregate
    queries count all of them."""
    newest = select(store, _NEWEST, pattern=pattern, limit=str(PAPER_LIMIT + 1))
    papers = _details(store, newest[:PAPER_LIMIT])
    if len(newest) <= PAPER_LIMIT:
        years = Counter(p["date"][:4] for p in papers if p["date"])
        by_year = [{"year": y, "count": n} for y, n in sorted(years.items())]
        counted = Counter((p["category"]["iri"], p["category"]["label"]) for p in papers if p["category"])
        return PaperList(papers, len(papers), by_year, _category_counts(counted.items()) if categories else [])
    total = int(value(select(store, _TOTAL, pattern=pattern)[0], "count", "0"))
    year_rows = select(store, _YEARS, pattern=pattern)
    by_year = [{"year": value(r, "year"), "count": int(value(r, "count"))} for r in year_rows]
    rows = select(store, _CATEGORIES, pattern=pattern) if categories else []
    notations = labels(store, (value(r, "category") for r in rows), "skos:notation")
    counts = [((value(r, "category"), notations.get(value(r, "category"), "")), int(value(r, "count")))
              for r in rows]
    return PaperList(papers, total, by_year, _category_counts(counts))


def _details(store: Store, newest: list[Row]) -> list[Context]:
    """Paper table rows for the papers of `newest`, in its order (title, category; the smallest of several)."""
    if not newest:
        return []
    found: dict[str, Row] = {}
    for row in select(store, _DETAILS, papers=" ".join(ref(value(r, "paper")) for r in newest)):
        key = value(row, "paper")
        if key not in found or (value(row, "title"), value(row, "category")) < (
                value(found[key], "title"), value(found[key], "category")):
            found[key] = row
    notations = labels(store, {value(row, "category") for row in found.values() if "category" in row}, "skos:notation")
    return [paper_item({**found[value(r, "paper")], **r}, notations) for r in newest if value(r, "paper") in found]


def labels(store: Store, iris: Iterable[str], prop: str = "skg:name") -> dict[str, str]:
    """The `prop` value of each IRI (the smallest when documents disagree); IRIs without one are left out."""
    items = " ".join(ref(iri) for iri in sorted(set(iris)))
    if not items:
        return {}
    return {value(r, "e"): value(r, "label") for r in select(store, _LABELS, items=items, property=prop)}


def teams(store: Store, iris: Iterable[str]) -> set[str]:
    """Those of `iris` that are skg:Team."""
    items = " ".join(ref(iri) for iri in sorted(set(iris)))
    return {value(r, "e") for r in select(store, _TEAMS, items=items)} if items else set()


def paper_item(row: Row, notations: dict[str, str]) -> Context:
    """A paper table row: {iri, title, date, category: {iri, label} | None}."""
    category = value(row, "category")
    return {"iri": value(row, "paper"), "title": value(row, "title"), "date": value(row, "date"),
            "category": {"iri": category, "label": notations.get(category, category)} if category else None}


def _category_counts(counted: Iterable[tuple[tuple[str, str], int]]) -> list[Context]:
    ordered = sorted(counted, key=lambda item: (-item[1], item[0][1]))
    return [{"iri": iri, "label": label or iri, "count": count} for (iri, label), count in ordered]


def name_of(store: Store, iri: str) -> str:
    """The agent's skg:name (the smallest when documents disagree), or "" when it has none."""
    return first(select(store, _NAMES, iri=ref(iri)), "name")


@cache
def term_labels() -> dict[str, str]:
    """rdfs:label of each ontology term (`skg:hIndex` → "h-index"), read once from the bundled ontology."""
    graph = Graph()
    for path in ontology_files():
        graph.parse(path, format="turtle")
    return {str(s): str(o) for s, o in graph.subject_objects(RDFS.label) if str(s).startswith(str(SKG))}


# ------------------------------------------------------------------------------------------------ author

_PRIMARY = "SELECT DISTINCT ?category WHERE { $iri skg:primaryCategory ?category }"
_METRICS = """
SELECT DISTINCT ?obs ?metric ?value ?at ?snapshot ?file WHERE {
  ?obs skg:observedAgent $iri ; skg:metric ?metric ; skg:value ?value .
  OPTIONAL { ?obs skg:observedAt ?at }
  OPTIONAL { ?obs prov:wasDerivedFrom ?snapshot . OPTIONAL { ?snapshot skg:fileName ?file } }
} ORDER BY DESC(?at) ?snapshot ?metric
"""
_SNAPSHOTS_OF = """
SELECT DISTINCT ?snapshot ?file ?graph WHERE {
  GRAPH ?graph { ?snapshot skg:describes $iri }
  OPTIONAL { ?snapshot skg:fileName ?file }
  FILTER (!STRENDS(STR(?graph), "/inferred"))
} ORDER BY ?file ?snapshot
"""
_COAUTHORS = "SELECT DISTINCT ?paper ?agent WHERE { ?paper skg:hasAuthor $iri ; skg:hasAuthor ?agent }"


def person_context(store: Store, iri: str) -> Context:
    """The context of person.html: metrics, papers, charts, co-author network, snapshots and quality findings."""
    name = name_of(store, iri) or iri
    listed = paper_list(store, f"?paper skg:hasAuthor {ref(iri)} .", categories=True)
    snapshots = select(store, _SNAPSHOTS_OF, iri=ref(iri))
    category = first(select(store, _PRIMARY, iri=ref(iri)), "category")
    person: Context = {"iri": iri, "name": name, "primary_category": None}
    if category:
        person["primary_category"] = {"iri": category,
                                      "label": labels(store, [category], "skos:notation").get(category, category)}
    return {
        "title": name,
        "description": f"{name}: papers, metrics, co-authors and data quality in the Scholar KG",
        "person": person,
        "metrics": metric_rows(select(store, _METRICS, iri=ref(iri))),
        "papers": listed.papers,
        "paper_total": listed.total,
        "papers_by_year": listed.by_year,
        "categories": listed.categories,
        "coauthors": coauthor_network(store, iri, name),
        "snapshots": [{"iri": value(s, "snapshot"), "label": value(s, "file") or value(s, "snapshot")}
                      for s in snapshots],
        "findings": author_findings(store, iri, [(value(s, "snapshot"), value(s, "graph")) for s in snapshots]),
    }


def metric_rows(rows: list[Row]) -> list[Context]:
    """Metric observations for the metrics tables (label, value, date, source snapshot, observation IRI): the
    newest snapshot first, each snapshot's metrics in the order of kg.vocab.METRICS."""
    labels = term_labels()
    order = {str(SKG[name]): index for index, name in enumerate(METRICS)}
    rows = sorted(rows, key=lambda r: (_descending(value(r, "at")), value(r, "snapshot"),
                                       order.get(value(r, "metric"), len(order)), value(r, "metric")))
    return [{
        "iri": value(row, "obs"),
        "metric_iri": value(row, "metric"),
        "metric": labels.get(value(row, "metric")) or value(row, "metric").rsplit("#", 1)[-1],
        "value": value(row, "value"),
        "observed_at": value(row, "at"),
        "snapshot": {"iri": value(row, "snapshot"), "label": value(row, "file") or value(row, "snapshot")}
        if "snapshot" in row else None,
    } for row in rows]


def _descending(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)


def coauthor_network(store: Store, iri: str, name: str) -> Context:
    """vis-network data: the author, the NETWORK_NODES co-authors sharing most papers, edges weighted by papers."""
    papers: dict[str, set[str]] = {}
    for row in select(store, _COAUTHORS, iri=ref(iri)):
        papers.setdefault(value(row, "agent"), set()).add(value(row, "paper"))
    ranked = sorted((agent for agent in papers if agent != iri), key=lambda a: (-len(papers[a]), a))
    chosen = ranked[:NETWORK_NODES]
    names, groups = labels(store, chosen), teams(store, chosen)
    chosen.sort(key=lambda a: (-len(papers[a]), names.get(a, a)))
    nodes: list[Context] = [{"id": iri, "label": name, "group": "self"}]
    nodes += [{"id": a, "label": names.get(a, a), "group": "team" if a in groups else "person",
               "value": len(papers[a])} for a in chosen]
    edges = [{"from": iri, "to": a, "value": len(papers[a])} for a in chosen]
    for index, one in enumerate(chosen):
        for other in chosen[index + 1:]:
            together = len(papers[one] & papers[other])
            if together and len(edges) < NETWORK_EDGES:
                edges.append({"from": one, "to": other, "value": together})
    return {"nodes": nodes if chosen else [], "edges": edges, "total": len(ranked)}


# ------------------------------------------------------------------------------------------------ paper

_PAPER = """
SELECT DISTINCT ?p ?o WHERE {
  $iri ?p ?o .
  FILTER (?p IN (skg:title, skg:publicationDate, skg:abstract, skg:category, skg:bylineTruncated,
                 skg:printedAuthorCount, skg:hasCodeBadge, skg:codeRepository, skg:mentionsURL,
                 skg:taggedOrganization))
}
"""
_BYLINE = """
SELECT ?slot ?ordinal ?printed ?agent ?kind WHERE {
  $iri skg:hasAuthorship ?slot .
  ?slot skg:ordinal ?ordinal ; skg:nameAsPrinted ?printed .
  OPTIONAL { ?slot skg:agent ?agent . OPTIONAL { ?agent a ?kind FILTER (?kind IN (skg:Person, skg:Team)) } }
}
"""
_LISTED_BY = """
SELECT ?snapshot ?file ?owner ?name WHERE {
  ?snapshot skg:lists $iri .
  OPTIONAL { ?snapshot skg:fileName ?file }
  OPTIONAL { ?snapshot skg:describes ?owner . OPTIONAL { ?owner skg:name ?name } }
} ORDER BY ?file ?snapshot
"""


def paper_context(store: Store, iri: str) -> Context:
    """The context of paper.html: facts, byline in order (et al. when cut), code links, organizations, profiles."""
    facts: dict[str, list[Row]] = {}
    for row in select(store, _PAPER, iri=ref(iri)):
        facts.setdefault(value(row, "p").rsplit("#", 1)[-1], []).append(row)
    byline = byline_slots(select(store, _BYLINE, iri=ref(iri)))
    title = first(facts.get("title", []), "o") or iri
    truncated = {value(r, "o") for r in facts.get("bylineTruncated", [])}
    paper: Context = {
        "iri": iri, "title": title, "date": first(facts.get("publicationDate", []), "o"),
        "abstract": first(facts.get("abstract", []), "o"), "category": None,
        # documents that print the whole byline make the union of slots complete
        "truncated": "true" in truncated and "false" not in truncated,
        "printed_author_count": len(byline),
        "has_code_badge": "true" in {value(r, "o") for r in facts.get("hasCodeBadge", [])},
    }
    if facts.get("category"):
        category = first(facts["category"], "o")
        paper["category"] = {"iri": category,
                             "label": labels(store, [category], "skos:notation").get(category, category)}
    return {
        "title": title, "description": f"{title} — paper in the Scholar KG", "paper": paper, "byline": byline,
        "code_links": sorted({value(r, "o") for r in facts.get("codeRepository", [])}),
        "urls": sorted({value(r, "o") for r in facts.get("mentionsURL", [])}),
        "organizations": _labelled(store, facts.get("taggedOrganization", [])),
        "snapshots": listed_by(select(store, _LISTED_BY, iri=ref(iri))),
    }


def byline_slots(rows: list[Row]) -> list[Context]:
    """One slot per ordinal, in byline order: {ordinal, name, agent, kind} (the smallest name if documents differ)."""
    slots: dict[int, Context] = {}
    for row in rows:
        ordinal = int(value(row, "ordinal"))
        kind = "team" if value(row, "kind") == str(SKG.Team) else "person"
        slot = {"ordinal": ordinal, "name": value(row, "printed"), "agent": value(row, "agent"), "kind": kind}
        if ordinal not in slots or (slot["name"], slot["agent"]) < (slots[ordinal]["name"], slots[ordinal]["agent"]):
            slots[ordinal] = slot
    return [slots[ordinal] for ordinal in sorted(slots)]


def listed_by(rows: list[Row]) -> list[Context]:
    """The profile snapshots listing a paper, each with its owner."""
    found: dict[str, Context] = {}
    for row in rows:
        owner = None
        if "owner" in row:
            owner = {"iri": value(row, "owner"), "name": value(row, "name") or value(row, "owner")}
        found.setdefault(value(row, "snapshot"),
                         {"iri": value(row, "snapshot"), "label": value(row, "file") or value(row, "snapshot"),
                          "owner": owner})
    return list(found.values())


def _labelled(store: Store, rows: list[Row]) -> list[Context]:
    names = labels(store, (value(row, "o") for row in rows))
    items = {value(row, "o"): names.get(value(row, "o"), value(row, "o")) for row in rows}
    return [{"iri": iri, "label": label} for iri, label in sorted(items.items(), key=lambda item: item[1])]
