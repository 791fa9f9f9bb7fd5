"""Maps one parsed profile (kg.model records) to the RDF triples it asserts, following docs/model.md.

Pure records -> rdflib Graphs: no store, no reasoning, no validation. Same input, same triples and IRIs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, SKOS, XSD
from rdflib.term import Node

from kg.model import AgentKind, Byline, Paper, Profile
from kg.vocab import ARXIV_NOTATIONS, SKG, IRIs

Triple = tuple[Node, Node, Node]

# Hosts whose URLs are code (or model) repositories; `*.github.io` project pages count too.
CODE_HOSTS = frozenset({"github.com", "gitlab.com", "bitbucket.org", "huggingface.co"})

# arXiv's own names of the categories in vocab.ARXIV_NOTATIONS (https://arxiv.org/category_taxonomy).
ARXIV_LABELS: dict[str, str] = {
    "cs.LG": "Machine Learning",
    "cs.CL": "Computation and Language",
    "cs.RO": "Robotics",
    "cs.CV": "Computer Vision and Pattern Recognition",
    "cs.MA": "Multiagent Systems",
    "cs.AI": "Artificial Intelligence",
    "cs.NE": "Neural and Evolutionary Computing",
    "cs.IR": "Information Retrieval",
    "cs.CR": "Cryptography and Security",
    "cs.SE": "Software Engineering",
    "cs.HC": "Human-Computer Interaction",
    "q-bio.NC": "Neurons and Cognition",
    "stat.ML": "Machine Learning",
    "cond-mat.mes-hall": "Mesoscale and Nanoscale Physics",
    "cond-mat.mtrl-sci": "Materials Science",
}

# (metric individual, field of kg.model.Metrics), in the order of vocab.METRICS.
METRIC_FIELDS = (
    ("hIndex", "h_index"),
    ("paperCount", "paper_count"),
    ("citationCount", "citation_count"),
    ("novelty", "novelty_percent"),
    ("aiScore", "ai_score"),
)

_IRI_SAFE = ":/?#[]@!$&'()*+,;=%-._~"
_TRUE = Literal(True)
_FALSE = Literal(False)


class _K:
    """The SKG terms used here, built once: each `SKG.x` access would build a new URIRef."""

    Authorship = SKG.Authorship
    Category = SKG.Category
    MetricObservation = SKG.MetricObservation
    Organization = SKG.Organization
    Paper = SKG.Paper
    Person = SKG.Person
    ProfileSnapshot = SKG.ProfileSnapshot
    Team = SKG.Team
    UnmappedCategory = SKG.UnmappedCategory
    abstract = SKG.abstract
    agent = SKG.agent
    bareCode = SKG.bareCode
    bylineTruncated = SKG.bylineTruncated
    category = SKG.category
    codeRepository = SKG.codeRepository
    declaredPaperCount = SKG.declaredPaperCount
    describes = SKG.describes
    fileName = SKG.fileName
    hasAuthor = SKG.hasAuthor
    hasAuthorship = SKG.hasAuthorship
    hasCodeBadge = SKG.hasCodeBadge
    lists = SKG.lists
    mentionsURL = SKG.mentionsURL
    metric = SKG.metric
    name = SKG.name
    nameAsPrinted = SKG.nameAsPrinted
    observedAgent = SKG.observedAgent
    observedAt = SKG.observedAt
    ordinal = SKG.ordinal
    primaryCategory = SKG.primaryCategory
    printedAuthorCount = SKG.printedAuthorCount
    publicationDate = SKG.publicationDate
    sha256 = SKG.sha256
    taggedOrganization = SKG.taggedOrganization
    title = SKG.title
    value = SKG.value


@dataclass(frozen=True, slots=True)
class MappedDocument:
    """The triples one document asserts, its provenance, and the IRIs and counts callers need."""

    document_id: str
    graph_iri: URIRef
    inferred_graph_iri: URIRef
    provenance_graph_iri: URIRef
    snapshot: URIRef
    owner: URIRef
    papers: tuple[URIRef, ...]
    asserted: Graph
    provenance: Graph
    person_count: int
    team_count: int
    organization_count: int

    @property
    def paper_count(self) -> int:
        return len(self.papers)


def map_profile(profile: Profile, iris: IRIs, *, ingested_at: dt.datetime, file_sha256: str) -> MappedDocument:
    """The asserted and provenance graphs of one profile; `ingested_at` dates the metrics (naive means UTC)."""
    doc = iris.document_id(profile.source)
    when = Literal(_utc(ingested_at), datatype=XSD.dateTime)
    builder = _Builder(iris, iris.person(profile.author_name))
    builder.owner(profile)
    snapshot = iris.snapshot(doc)
    papers = builder.papers(profile.papers)
    builder.snapshot(snapshot, papers, profile.declared_paper_heading)
    builder.metrics(profile, doc, snapshot, when)
    graph_iri = iris.graph(doc)
    return MappedDocument(
        document_id=doc,
        graph_iri=graph_iri,
        inferred_graph_iri=iris.inferred_graph(doc),
        provenance_graph_iri=iris.provenance_graph(doc),
        snapshot=snapshot,
        owner=builder.owner_iri,
        papers=papers,
        asserted=_graph(builder.triples),
        provenance=_graph(_provenance(graph_iri, snapshot, profile.source, file_sha256, when)),
        person_count=builder.kinds.count(_K.Person),
        team_count=builder.kinds.count(_K.Team),
        organization_count=builder.kinds.count(_K.Organization),
    )


@dataclass(slots=True)
class _Builder:
    """Collects triples; each agent and category is described once, with the first name seen for it."""

    iris: IRIs
    owner_iri: URIRef
    triples: list[Triple] = field(default_factory=list)
    agents: dict[URIRef, URIRef] = field(default_factory=dict)
    categories: set[URIRef] = field(default_factory=set)

    @property
    def kinds(self) -> list[URIRef]:
        return list(self.agents.values())

    def owner(self, profile: Profile) -> None:
        self.agent(self.owner_iri, _K.Person, profile.author_name)
        self.triples.append((self.owner_iri, _K.primaryCategory, self.category(profile.primary_category)))

    def agent(self, iri: URIRef, kind: URIRef, name: str) -> URIRef:
        if iri not in self.agents:
            self.agents[iri] = kind
            self.triples += [(iri, RDF.type, kind), (iri, _K.name, Literal(name))]
        return iri

    def category(self, code: str) -> URIRef:
        iri = self.iris.category(code)
        if iri not in self.categories:
            self.categories.add(iri)
            self.triples += _category(iri, code, self.iris.category_scheme())
        return iri

    def papers(self, papers: Iterable[Paper]) -> tuple[URIRef, ...]:
        """Map each paper once: a repeated entry (same normalised title and year) keeps its first occurrence."""
        seen: dict[URIRef, None] = {}
        for paper in papers:
            iri = self.iris.paper(paper.title, paper.published.year)
            if iri not in seen:
                seen[iri] = None
                self.paper(iri, paper)
        return tuple(seen)

    def paper(self, iri: URIRef, paper: Paper) -> None:
        byline = paper.byline
        self.triples += [
            (iri, RDF.type, _K.Paper),
            (iri, _K.title, Literal(paper.title)),
            (iri, _K.abstract, Literal(paper.abstract)),
            (iri, _K.publicationDate, Literal(paper.published, datatype=XSD.date)),
            (iri, _K.category, self.category(paper.category_code)),
            (iri, _K.bylineTruncated, _TRUE if byline.truncated else _FALSE),
            (iri, _K.printedAuthorCount, Literal(len(byline.slots), datatype=XSD.integer)),
            (iri, _K.hasCodeBadge, _TRUE if paper.has_code_badge else _FALSE),
            (iri, _K.hasAuthor, self.owner_iri),
        ]
        self.byline(iri, byline)
        for tag in byline.organizations:
            org = self.agent(self.iris.organization(tag), _K.Organization, tag)
            self.triples.append((iri, _K.taggedOrganization, org))
        self.triples += _url_triples(iri, paper.urls)

    def byline(self, paper: URIRef, byline: Byline) -> None:
        for slot in byline.slots:
            if slot.kind is AgentKind.TEAM:
                agent = self.agent(self.iris.team(slot.name), _K.Team, slot.name)
            else:
                agent = self.agent(self.iris.person(slot.name), _K.Person, slot.name)
            node = self.iris.authorship(paper, slot.ordinal)
            self.triples += [
                (paper, _K.hasAuthorship, node),
                (paper, _K.hasAuthor, agent),
                (node, RDF.type, _K.Authorship),
                (node, _K.ordinal, Literal(slot.ordinal, datatype=XSD.integer)),
                (node, _K.nameAsPrinted, Literal(slot.name)),
                (node, _K.agent, agent),
            ]

    def snapshot(self, snapshot: URIRef, papers: tuple[URIRef, ...], declared: int) -> None:
        self.triples += [
            (snapshot, RDF.type, _K.ProfileSnapshot),
            (snapshot, _K.describes, self.owner_iri),
            (snapshot, _K.declaredPaperCount, Literal(declared, datatype=XSD.integer)),
        ]
        self.triples += [(snapshot, _K.lists, paper) for paper in papers]

    def metrics(self, profile: Profile, doc: str, snapshot: URIRef, when: Literal) -> None:
        for metric, attribute in METRIC_FIELDS:
            node = self.iris.observation(doc, metric)
            value = getattr(profile.metrics, attribute)
            self.triples += [
                (node, RDF.type, _K.MetricObservation),
                (node, _K.observedAgent, self.owner_iri),
                (node, _K.metric, SKG[metric]),
                (node, _K.value, Literal(value, datatype=XSD.integer)),
                (node, _K.observedAt, when),
                (node, PROV.wasDerivedFrom, snapshot),
            ]


def _category(iri: URIRef, code: str, scheme: URIRef) -> list[Triple]:
    notation = ARXIV_NOTATIONS.get(code)
    triples: list[Triple] = [
        (iri, RDF.type, _K.Category),
        (iri, SKOS.notation, Literal(notation or code)),
        (iri, _K.bareCode, Literal(code)),
        (iri, SKOS.inScheme, scheme),
        (scheme, RDF.type, SKOS.ConceptScheme),
        (scheme, SKOS.prefLabel, Literal("arXiv category taxonomy", lang="en")),
    ]
    if notation is None:
        triples += [(iri, RDF.type, _K.UnmappedCategory), (iri, SKOS.prefLabel, Literal(code))]
    else:
        triples.append((iri, SKOS.prefLabel, Literal(ARXIV_LABELS.get(notation, notation), lang="en")))
    return triples


def _url_triples(paper: URIRef, urls: Iterable[str]) -> list[Triple]:
    triples: list[Triple] = []
    for url in urls:
        iri = url_iri(url)
        triples.append((paper, _K.mentionsURL, iri))
        if is_code_host(iri):
            triples.append((paper, _K.codeRepository, iri))
    return triples


def url_iri(url: str) -> URIRef:
    """The IRI of a URL found in text: `https://` added when the text has no scheme, unsafe characters escaped."""
    text = url.strip()
    if "://" not in text:
        text = "https://" + text
    return URIRef(quote(text, safe=_IRI_SAFE))


def is_code_host(url: str) -> bool:
    """Whether the URL is on a code or model host (GitHub, GitLab, Bitbucket, Hugging Face, GitHub Pages)."""
    try:
        host = (urlsplit(url).hostname or "").removeprefix("www.")
    except ValueError:  # a malformed port or bracketed host: not a code host
        return False
    return host in CODE_HOSTS or host.endswith(".github.io")


def _provenance(graph_iri: URIRef, snapshot: URIRef, source: str, sha256: str, when: Literal) -> list[Triple]:
    return [
        (graph_iri, PROV.wasDerivedFrom, snapshot),
        (graph_iri, PROV.generatedAtTime, when),
        (snapshot, _K.fileName, Literal(source.replace("\\", "/").rsplit("/", 1)[-1])),
        (snapshot, _K.sha256, Literal(sha256)),
        (snapshot, PROV.generatedAtTime, when),
    ]


def _graph(triples: Iterable[Triple]) -> Graph:
    graph = Graph()
    add = graph.add
    for triple in triples:
        add(triple)
    return graph


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
