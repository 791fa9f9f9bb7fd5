"""Link targets and records: how other scholarly graphs state papers, authors and identifiers (query patterns
over ?paper), and the works, links and reports that discovery passes around."""

from __future__ import annotations

from dataclasses import dataclass, field

from kg.vocab import normalize_title


@dataclass(frozen=True, slots=True)
class Target:
    """How another graph states papers, their authors and identifiers, as SPARQL patterns over ?paper."""

    name: str
    prefixes: str
    paper: str  # binds ?paper ?title and optionally ?date (a year, date or dateTime)
    author: str  # binds ?author ?name for ?paper
    ids: str  # binds ?kind ("doi", "arxiv", "skg") and ?id for ?paper
    language: str = ""  # language tag of titles and names ("en" for Wikidata labels)
    title_suffix: str = ""  # what the graph appends to titles (dblp ends them with a period)


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("dblp", "PREFIX dblp: <https://dblp.org/rdf/schema#>",
           "?paper a dblp:Publication ; dblp:title ?title . OPTIONAL { ?paper dblp:yearOfPublication ?date }",
           "?paper dblp:authoredBy ?author . ?author dblp:creatorName ?name",
           '?paper dblp:doi ?id BIND("doi" AS ?kind)', title_suffix="."),
    Target("wikidata", "PREFIX wd: <http://www.wikidata.org/entity/> "
           "PREFIX wdt: <http://www.wikidata.org/prop/direct/> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>",
           "?paper wdt:P31 wd:Q13442814 ; wdt:P1476 ?title . OPTIONAL { ?paper wdt:P577 ?date }",
           "?paper wdt:P50 ?author . ?author rdfs:label ?name",
           '{ ?paper wdt:P356 ?id BIND("doi" AS ?kind) } UNION { ?paper wdt:P818 ?id BIND("arxiv" AS ?kind) }',
           language="en"),
    Target("semopenalex", "PREFIX soa: <https://semopenalex.org/ontology/> PREFIX dcterms: <http://purl.org/dc/terms/> "
           "PREFIX fabio: <http://purl.org/spar/fabio/> PREFIX prism: <http://prismstandard.org/namespaces/basic/2.0/> "
           "PREFIX foaf: <http://xmlns.com/foaf/0.1/>",
           "?paper a soa:Work ; dcterms:title ?title . OPTIONAL { ?paper fabio:hasPublicationYear ?date }",
           "?paper dcterms:creator ?author . ?author foaf:name ?name",
           '?paper prism:doi ?id BIND("doi" AS ?kind)'),
    Target("scholarkg", "PREFIX skg: <https://w3id.org/scholarkg/ontology#>",
           "?paper a skg:Paper ; skg:title ?title . OPTIONAL { ?paper skg:publicationDate ?date }",
           "?paper skg:hasAuthor ?author . ?author a skg:Person ; skg:name ?name",
           'BIND(REPLACE(STR(?paper), "^.*/paper/", "") AS ?id) BIND("skg" AS ?kind)'),
)}
OURS = TARGETS["scholarkg"]


# ---------------------------------------------------------------------------------------------------- records


@dataclass
class Work:
    """A paper of either graph, with what matching compares."""

    iri: str
    title: str
    year: int | None
    authors: dict[str, str] = field(default_factory=dict)  # author IRI -> name
    ids: set[tuple[str, str]] = field(default_factory=set)  # (kind, normalised value)

    @property
    def key(self) -> str:
        return normalize_title(self.title)


@dataclass(frozen=True, slots=True)
class Link:
    """One found correspondence: `kind` is "paper" (owl:sameAs) or "person" (skos:exactMatch)."""

    kind: str
    ours: str
    theirs: str
    score: float
    method: str


@dataclass
class LinkReport:
    """What a run found: the links written, and the candidates scored below the threshold (near-misses)."""

    target: str
    source: str
    links: list[Link] = field(default_factory=list)
    near_misses: list[Link] = field(default_factory=list)
    candidates: int = 0

    def count(self, kind: str) -> int:
        return sum(1 for link in self.links if link.kind == kind)
