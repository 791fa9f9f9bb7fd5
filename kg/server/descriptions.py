"""What an IRI of the site is and says: existence, kind, its RDF description in each syntax, the generic resource page.

An entity's description is its concise bounded description over the union of graphs; a named graph's is its
contents. No HTTP, no templates.
"""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import Graph

from kg.errors import StoreError
from kg.jsonld import graph_to_jsonld
from kg.server.negotiate import Offer
from kg.server.sparqlrows import PROLOGUE, Row, first, ref, select, value
from kg.store import RDF_FORMATS, QueryBoolean, QuerySolutions, Store, Triple, serialize
from kg.vocab import PREFIXES, SKG, WD, WDT

INCOMING_LIMIT = 500  # statements pointing at an entity, in its RDF description
PAGE_STATEMENTS = 1000  # statements listed on a generic resource page
PAGE_INCOMING = 100

KINDS = {  # rdf:type -> the page (template) of an entity of that class
    str(SKG.Person): "person",
    str(SKG.Team): "team",
    str(SKG.Organization): "organization",
    str(SKG.Paper): "paper",
    str(SKG.Category): "category",
    str(SKG.ProfileSnapshot): "snapshot",
}

_EXISTS = "ASK { { $iri ?p ?o } UNION { ?s ?p $iri } UNION { GRAPH $iri { ?s ?p ?o } } }"
_IS_GRAPH = "ASK { GRAPH $iri { ?s ?p ?o } }"
_TYPES = "SELECT DISTINCT ?type WHERE { $iri a ?type }"
_DESCRIBE = """
CONSTRUCT { $iri ?p ?o . ?slot ?sp ?so . ?s ?ip $iri . }
WHERE {
  { $iri ?p ?o }
  UNION { $iri skg:hasAuthorship ?slot . ?slot ?sp ?so }
  UNION { SELECT DISTINCT ?s ?ip WHERE { GRAPH ?g { ?s ?ip $iri } FILTER (!STRENDS(STR(?g), "/inferred")) }
          LIMIT $limit }
}
"""
_CONTENTS = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH $iri { ?s ?p ?o } }"
_STATEMENTS = """
SELECT ?p ?o ?graph WHERE { GRAPH ?graph { $iri ?p ?o } } ORDER BY ?p ?o ?graph LIMIT $limit
"""
_INCOMING = "SELECT DISTINCT ?s ?p WHERE { ?s ?p $iri } LIMIT $limit"
_GRAPH_SIZE = "SELECT (COUNT(*) AS ?count) WHERE { GRAPH $iri { ?s ?p ?o } }"
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_TURTLE_PREFIXES = {**PREFIXES, "wd": str(WD), "wdt": str(WDT)}
_LABEL_PROPERTIES = ("name", "title", "prefLabel", "label", "nameAsPrinted", "fileName", "notation")


def _ask(store: Store, sparql: str, iri: str) -> bool:
    result = store.query(PROLOGUE + sparql.replace("$iri", ref(iri)))
    if not isinstance(result, QueryBoolean):
        raise StoreError("an ASK query of the site expected a boolean from the store")
    return bool(result)


def exists(store: Store, iri: str) -> bool:
    """Whether any statement mentions `iri` as subject or object, or it names a non-empty graph."""
    return _ask(store, _EXISTS, iri)


def kind_of(store: Store, iri: str) -> str:
    """The page kind of `iri` (person, team, organization, paper, category, snapshot) or "resource"."""
    kinds = {KINDS[t] for row in select(store, _TYPES, iri=ref(iri)) if (t := value(row, "type")) in KINDS}
    for kind in KINDS.values():  # a deterministic pick should an IRI carry two of the classes
        if kind in kinds:
            return kind
    return "resource"


def description(store: Store, iri: str) -> list[Triple]:
    """The triples that describe `iri`: a named graph's contents, else its concise bounded description.

    Incoming statements come from the asserted graphs only: their inferred aliases (schema:author for
    skg:hasAuthor, …) are in the describing resources' own descriptions. Sorted: `iri`'s own statements first.
    """
    if _ask(store, _IS_GRAPH, iri):
        triples = _construct(store, _CONTENTS.replace("$iri", ref(iri)))
    else:
        triples = _construct(store, _DESCRIBE.replace("$iri", ref(iri)).replace("$limit", str(INCOMING_LIMIT)))
    subject = ref(iri)
    return sorted(triples, key=lambda t: (str(t.subject) != subject, str(t.subject), str(t.predicate), str(t.object)))


def _construct(store: Store, sparql: str) -> list[Triple]:
    result = store.query(PROLOGUE + sparql)
    if isinstance(result, QueryBoolean | QuerySolutions):
        raise StoreError("a CONSTRUCT query of the site expected triples from the store")
    try:
        return list(dict.fromkeys(result))  # the same statement from several graphs once
    except (OSError, RuntimeError) as error:
        raise StoreError(f"describing a resource failed: {error}") from None


def to_bytes(triples: list[Triple], offer: Offer) -> bytes:
    """The triples in an RDF representation (Turtle with the project prefixes; JSON-LD with the bundled context)."""
    if offer.name == "jsonld":
        graph = Graph()
        graph.parse(data=serialize(triples, format=RDF_FORMATS["ntriples"]) or b"", format="nt")
        return graph_to_jsonld(graph)
    prefixes = _used_prefixes(triples) if offer.name == "turtle" else None
    return serialize(triples, format=RDF_FORMATS[offer.name], prefixes=prefixes) or b""


def _used_prefixes(triples: Iterable[Triple]) -> dict[str, str]:
    text = " ".join(str(term) for t in triples for term in (t.subject, t.predicate, t.object))
    return {prefix: namespace for prefix, namespace in _TURTLE_PREFIXES.items() if f"<{namespace}" in text}


def resource_context(store: Store, iri: str) -> dict[str, object]:
    """The context of resource.html: every statement about `iri` with its graph, and what points at it."""
    statements = select(store, _STATEMENTS, iri=ref(iri), limit=str(PAGE_STATEMENTS))
    incoming = select(store, _INCOMING, iri=ref(iri), limit=str(PAGE_INCOMING + 1))
    label = _label(statements)
    context: dict[str, object] = {
        "title": label or iri.rstrip("/").rsplit("/", 1)[-1],
        "iri": iri,
        "types": sorted({value(r, "o") for r in statements if value(r, "p") == _RDF_TYPE}),
        "triples": [{"predicate": value(r, "p"), "object": r["o"], "graph": value(r, "graph")} for r in statements],
        "show_graphs": True,
        "incoming": [{"subject": r["s"], "predicate": value(r, "p")} for r in incoming[:PAGE_INCOMING]],
        "incoming_truncated": len(incoming) > PAGE_INCOMING,
    }
    if label:
        context["label"] = label
    if _ask(store, _IS_GRAPH, iri):
        context["graph_size"] = int(value(select(store, _GRAPH_SIZE, iri=ref(iri))[0], "count", "0"))
    return context


def _label(statements: list[Row]) -> str:
    for local in _LABEL_PROPERTIES:
        found = first([r for r in statements if value(r, "p").rsplit("#", 1)[-1].rsplit("/", 1)[-1] == local
                       and r["o"]["type"] == "literal"], "o")
        if found:
            return found
    return ""
