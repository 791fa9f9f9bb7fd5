"""Template contexts of the pages of what papers gather around: teams, organizations, categories, profile snapshots.

Built like the author page (kg.server.entities): queries bound to the page's IRI, shared labels looked up apart.
No HTTP and no templates.
"""

from __future__ import annotations

from kg.server.entities import Context, labels, metric_rows, name_of, paper_list
from kg.server.sparqlrows import Row, first, ref, select, value
from kg.store import Store
from kg.vocab import SKG

BESIDE_LIMIT = 60  # agents listed beside a team or an organization
PEOPLE_LIMIT = 100  # authors listed with a primary category


# ---------------------------------------------------------------------------------- team, organization

_BESIDE = """
SELECT ?agent (COUNT(DISTINCT ?paper) AS ?count) WHERE {
  $pattern
  ?paper skg:hasAuthor ?agent .
  FILTER (?agent != $iri)
} GROUP BY ?agent ORDER BY DESC(?count) ?agent LIMIT $limit
"""


def team_context(store: Store, iri: str) -> Context:
    """The context of team.html: the team's papers and the agents named beside it."""
    name = name_of(store, iri) or iri
    pattern = f"?paper skg:hasAuthor {ref(iri)} ."
    listed = paper_list(store, pattern)
    return {"title": name, "team": {"iri": iri, "name": name}, "papers": listed.papers,
            "paper_total": listed.total, "papers_by_year": listed.by_year,
            "coauthors": _beside(store, pattern, iri)}


def organization_context(store: Store, iri: str) -> Context:
    """The context of organization.html: the papers tagged with it and the agents on those papers."""
    name = name_of(store, iri) or iri
    pattern = f"?paper skg:taggedOrganization {ref(iri)} ."
    listed = paper_list(store, pattern)
    return {"title": name, "org": {"iri": iri, "label": name, "tag": name}, "papers": listed.papers,
            "paper_total": listed.total, "papers_by_year": listed.by_year,
            "agents": _beside(store, pattern, iri)}


def _beside(store: Store, pattern: str, iri: str) -> list[Context]:
    rows = select(store, _BESIDE, pattern=pattern, iri=ref(iri), limit=str(BESIDE_LIMIT))
    names = labels(store, (value(r, "agent") for r in rows))
    items = [{"iri": value(r, "agent"), "label": names.get(value(r, "agent"), value(r, "agent")),
              "count": int(value(r, "count"))} for r in rows]
    return sorted(items, key=lambda item: (-item["count"], item["label"]))


# --------------------------------------------------------------------------------------------- category

_CATEGORY = """
SELECT DISTINCT ?p ?o WHERE {
  $iri ?p ?o .
  FILTER (?p IN (skos:notation, skos:prefLabel, skg:bareCode, skos:inScheme, rdf:type))
}
"""
_PEOPLE = """
SELECT ?person (MIN(?n) AS ?name) WHERE { ?person skg:primaryCategory $iri ; skg:name ?n }
GROUP BY ?person ORDER BY ?name LIMIT $limit
"""


def category_context(store: Store, iri: str) -> Context:
    """The context of category.html: notation, label, scheme, papers in it and authors with it as primary."""
    facts: dict[str, set[str]] = {}
    for row in select(store, _CATEGORY, iri=ref(iri)):
        facts.setdefault(value(row, "p").rsplit("#", 1)[-1], set()).add(value(row, "o"))
    notation = min(facts.get("notation", {iri}))
    label = min(facts.get("prefLabel", {notation}))
    category: Context = {"iri": iri, "notation": notation, "label": f"{label} ({notation})" if label != notation
                         else notation, "unmapped": str(SKG.UnmappedCategory) in facts.get("type", set())}
    if facts.get("bareCode"):
        category["bare_code"] = min(facts["bareCode"])
    if facts.get("inScheme"):
        category["scheme"] = min(facts["inScheme"])
    listed = paper_list(store, f"?paper skg:category {ref(iri)} .")
    people = select(store, _PEOPLE, iri=ref(iri), limit=str(PEOPLE_LIMIT))
    return {"title": notation, "category": category, "papers": listed.papers, "paper_total": listed.total,
            "papers_by_year": listed.by_year,
            "people": [{"iri": value(r, "person"), "label": value(r, "name")} for r in people]}


# --------------------------------------------------------------------------------------------- snapshot

_SNAPSHOT = """
SELECT ?p ?o ?graph WHERE {
  { $iri ?p ?o FILTER (?p IN (skg:fileName, skg:sha256, prov:generatedAtTime, skg:declaredPaperCount,
                              skg:describes)) }
  UNION
  { GRAPH ?graph { $iri skg:describes ?o } FILTER (!STRENDS(STR(?graph), "/inferred")) BIND ("inGraph" AS ?p) }
}
"""
_OBSERVATIONS = """
SELECT DISTINCT ?obs ?metric ?value ?at WHERE {
  ?obs prov:wasDerivedFrom $iri ; skg:metric ?metric ; skg:value ?value .
  OPTIONAL { ?obs skg:observedAt ?at }
} ORDER BY ?metric
"""


def snapshot_context(store: Store, iri: str) -> Context:
    """The context of snapshot.html: the source file, its hash and ingest time, owner, papers, observations."""
    facts: dict[str, list[Row]] = {}
    for row in select(store, _SNAPSHOT, iri=ref(iri)):
        facts.setdefault(value(row, "p").rsplit("#", 1)[-1], []).append(row)
    file_name = first(facts.get("fileName", []), "o") or iri.rsplit("/", 1)[-1]
    snapshot: Context = {"iri": iri, "file_name": file_name, "sha256": first(facts.get("sha256", []), "o"),
                         "ingested_at": first(facts.get("generatedAtTime", []), "o"),
                         "graph": first(facts.get("inGraph", []), "graph")}
    if facts.get("declaredPaperCount"):
        snapshot["declared_paper_count"] = first(facts["declaredPaperCount"], "o")
    owner_iri = first(facts.get("describes", []), "o")
    owner = {"iri": owner_iri, "name": name_of(store, owner_iri) or owner_iri} if owner_iri else None
    listed = paper_list(store, f"{ref(iri)} skg:lists ?paper .")
    observations = metric_rows(select(store, _OBSERVATIONS, iri=ref(iri)))
    return {"title": file_name, "snapshot": snapshot, "owner": owner, "papers": listed.papers,
            "paper_total": listed.total, "observations": observations}
