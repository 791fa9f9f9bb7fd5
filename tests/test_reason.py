"""kg.reason: the alignment view; the fast compiled rules give exactly what the owlrl reference gives."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF, OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from kg.errors import UsageError
from kg.mapping import MappedDocument, map_profile
from kg.model import AgentKind, Byline, BylineSlot, Metrics, Paper, Profile
from kg.reason import AlignmentReasoner
from kg.resources import ontology_files
from kg.vocab import BIBO, DBLP, FABIO, SCHEMA, SKG, SOA, SOSA, WD, WDT, IRIs

BASE = "https://w3id.org/scholarkg/"
IRI = IRIs(BASE)
WHEN = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
EX = Namespace("http://example.org/")


@pytest.fixture(scope="module")
def rules() -> AlignmentReasoner:
    return AlignmentReasoner()


@pytest.fixture(scope="module")
def reference() -> AlignmentReasoner:
    return AlignmentReasoner(mode="owlrl")


def _map(profile: Profile) -> MappedDocument:
    return map_profile(profile, IRI, ingested_at=WHEN, file_sha256="0" * 64)


@pytest.fixture(scope="module")
def seeds() -> list[MappedDocument]:
    from kg.parse import parse_profile

    docs = []
    for path in SEEDS:
        data = path.read_bytes()
        docs.append(map_profile(parse_profile(data, str(path)), IRI, ingested_at=WHEN,
                                file_sha256=hashlib.sha256(data).hexdigest()))
    return docs


def _slot(ordinal: int, name: str, kind: AgentKind = AgentKind.PERSON) -> BylineSlot:
    return BylineSlot(ordinal, name, kind)


def _paper(title: str, slots: tuple[BylineSlot, ...], *, truncated: bool = False, code: str = "LG",
           orgs: tuple[str, ...] = (), urls: tuple[str, ...] = ()) -> Paper:
    return Paper(code, dt.date(2023, 5, 4), bool(urls), title, Byline(slots, truncated, orgs), "An abstract.", urls, 1)


def _profile(*papers: Paper, owner: str = "Ada Lovelace", primary: str = "LG") -> Profile:
    return Profile("tests/data/hand.txt", owner, primary, Metrics(1, 2, 3, 4, 5), len(papers), papers)


def hand_made() -> MappedDocument:
    """A team byline, the owner hidden behind et al., an unmapped category, org tags and code URLs."""
    return _map(_profile(
        _paper("Engines", (_slot(1, "Gemini Team", AgentKind.TEAM), _slot(2, "Ada Lovelace"),
                           _slot(3, "Charles Babbage")), orgs=("deepmind",),
               urls=("https://github.com/ada/engine", "https://example.org/x")),
        _paper("Notes", (_slot(1, "Luigi Menabrea"),), truncated=True, code="XYZ"),
        primary="XYZ",
    ))


def _with(doc: MappedDocument, *extra: tuple[Node, Node, Node]) -> Graph:
    graph = Graph()
    for triple in [*doc.asserted, *extra]:
        graph.add(triple)
    return graph


def _edge_cases() -> dict[str, Callable[[], Graph]]:
    paper = IRI.paper("Engines", 2023)
    return {
        "hand-made": lambda: hand_made().asserted,
        "no papers": lambda: _map(_profile()).asserted,
        "only a team": lambda: _map(_profile(_paper("T", (_slot(1, "Gemma Team", AgentKind.TEAM),)))).asserted,
        "already asserted alignment": lambda: _with(hand_made(), (paper, SCHEMA.name, Literal("Engines")),
                                                    (paper, RDF.type, SCHEMA.ScholarlyArticle)),
        "functional property with two values": lambda: _with(hand_made(), (paper, SKG.title, Literal("Other"))),
        "schema triples in the data": lambda: _with(hand_made(), (EX.Preprint, RDFS.subClassOf, SKG.Paper),
                                                    (EX.p, RDF.type, EX.Preprint)),
        "blank node and object-only agent": lambda: _with(hand_made(), (BNode("b1"), RDF.type, SKG.Person),
                                                          (paper, SKG.hasAuthor, EX.onlyObject)),
        "wikidata-shaped data": lambda: _with(hand_made(), (EX.q, WDT.P31, WD.Q13442814)),
    }


# --- the two modes agree ---------------------------------------------------------------------------------------

def test_both_modes_agree_on_the_seeds(rules: AlignmentReasoner, reference: AlignmentReasoner,
                                       seeds: list[MappedDocument]) -> None:
    for doc in seeds:
        fast, full = rules.infer(doc.asserted), reference.infer(doc.asserted)
        assert set(fast) == set(full)
        assert isomorphic(fast, full)
        assert len(fast) > len(doc.asserted)


@pytest.mark.parametrize("case", sorted(_edge_cases()))
def test_both_modes_agree_on_edge_cases(rules: AlignmentReasoner, reference: AlignmentReasoner, case: str) -> None:
    asserted = _edge_cases()[case]()
    fast, full = rules.infer_triples(asserted), reference.infer_triples(asserted)
    assert fast == full


def test_schema_triples_in_the_data_are_honoured(rules: AlignmentReasoner) -> None:
    inferred = rules.infer_triples(_edge_cases()["schema triples in the data"]())
    assert (EX.p, RDF.type, SCHEMA.ScholarlyArticle) in inferred
    assert (EX.p, WDT.P31, WD.Q13442814) in inferred


def test_infer_returns_the_triples_as_a_graph(rules: AlignmentReasoner) -> None:
    doc = hand_made()
    assert set(rules.infer(doc.asserted)) == rules.infer_triples(doc.asserted)


def test_input_graph_is_not_modified(rules: AlignmentReasoner, reference: AlignmentReasoner) -> None:
    doc = hand_made()
    before = set(doc.asserted)
    rules.infer(doc.asserted)
    reference.infer(doc.asserted)
    assert set(doc.asserted) == before


# --- what the view holds ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def view(rules: AlignmentReasoner, seeds: list[MappedDocument]) -> list[tuple[MappedDocument, Graph]]:
    return [(doc, rules.infer(doc.asserted)) for doc in [*seeds, hand_made()]]


def test_papers_in_every_vocabulary(view: list[tuple[MappedDocument, Graph]]) -> None:
    for doc, inferred in view:
        for paper in doc.papers:
            types = set(inferred.objects(paper, RDF.type))
            assert {SCHEMA.ScholarlyArticle, FABIO.ScholarlyWork, BIBO.AcademicArticle, DBLP.Publication,
                    SOA.Work} <= types
            (title,) = doc.asserted.objects(paper, SKG.title)
            (date,) = doc.asserted.objects(paper, SKG.publicationDate)
            for prop in (SCHEMA.name, DCTERMS.title, DBLP.title, WDT.P1476):
                assert set(inferred.objects(paper, prop)) == {title}
            for prop in (SCHEMA.datePublished, DCTERMS.issued, WDT.P577):
                assert set(inferred.objects(paper, prop)) == {date}
            assert set(inferred.objects(paper, WDT.P31)) == {WD.Q13442814}


def test_authors_in_every_vocabulary(view: list[tuple[MappedDocument, Graph]]) -> None:
    for doc, inferred in view:
        g = doc.asserted
        for paper in doc.papers:
            byline = {o for s in g.objects(paper, SKG.hasAuthorship) for o in g.objects(s, SKG.agent)}
            authors = byline | {doc.owner}
            for prop in (SCHEMA.author, DCTERMS.creator, DBLP.authoredBy, WDT.P50):
                assert set(inferred.objects(paper, prop)) == authors


def test_agents_in_every_vocabulary(view: list[tuple[MappedDocument, Graph]]) -> None:
    for doc, inferred in view:
        for person in doc.asserted.subjects(RDF.type, SKG.Person):
            (name,) = doc.asserted.objects(person, SKG.name)
            assert {SCHEMA.Person, FOAF.Person, DBLP.Person, SKG.Agent} <= set(inferred.objects(person, RDF.type))
            assert set(inferred.objects(person, SCHEMA.name)) == {name} == set(inferred.objects(person, FOAF.name))
        for team in doc.asserted.subjects(RDF.type, SKG.Team):
            types = set(inferred.objects(team, RDF.type))
            assert {FOAF.Group, DBLP.Group, SCHEMA.Organization} <= types
            assert not types & {SCHEMA.Person, FOAF.Person, DBLP.Person}
        for org in doc.asserted.subjects(RDF.type, SKG.Organization):
            assert {SCHEMA.Organization, FOAF.Organization} <= set(inferred.objects(org, RDF.type))


def test_bylines_observations_and_categories(view: list[tuple[MappedDocument, Graph]]) -> None:
    doc, inferred = view[-1]
    paper = IRI.paper("Engines", 2023)
    slot = IRI.authorship(paper, 2)
    assert (paper, DBLP.hasSignature, slot) in inferred
    assert (slot, RDF.type, DBLP.AuthorSignature) in inferred
    assert (slot, DBLP.signatureCreator, doc.owner) in inferred
    assert set(inferred.objects(slot, DBLP.signatureOrdinal)) == set(doc.asserted.objects(slot, SKG.ordinal))
    assert set(inferred.objects(paper, SCHEMA.codeRepository)) == {URIRef("https://github.com/ada/engine")}
    observation = IRI.observation(doc.document_id, "hIndex")
    assert (observation, RDF.type, SOSA.Observation) in inferred
    assert (observation, SOSA.hasFeatureOfInterest, doc.owner) in inferred
    assert (observation, SOSA.observedProperty, SKG.hIndex) in inferred
    category = IRI.category("XYZ")
    assert (category, RDF.type, SKG.UnmappedCategory) in doc.asserted
    assert set(inferred.objects(category, RDF.type)) == {SKOS.Concept}  # skg:Category is asserted already
    assert (paper, DCTERMS.subject, IRI.category("LG")) in inferred


def test_the_view_holds_only_new_non_trivial_triples_about_the_document(
        view: list[tuple[MappedDocument, Graph]]) -> None:
    for doc, inferred in view:
        nodes = {n for s, _, o in doc.asserted for n in (s, o)}
        for triple in inferred:
            s, p, o = triple
            assert triple not in doc.asserted
            assert s in nodes and not str(s).startswith(str(SKG))
            assert not isinstance(s, Literal) and not isinstance(o, BNode)
            assert not (p == RDF.type and o in (OWL.Thing, RDFS.Resource))
            assert p != OWL.sameAs


def test_ordinals_gain_no_semopenalex_or_wikidata_position(view: list[tuple[MappedDocument, Graph]]) -> None:
    for _, inferred in view:
        predicates = set(inferred.predicates())
        assert not [p for p in predicates if str(p).startswith(str(SOA)) or "P1545" in str(p)]


# --- modes, bad ontologies (speed is measured in bench/, not here) ---

def test_unknown_mode_is_refused() -> None:
    with pytest.raises(UsageError, match="expected 'rules' or 'owlrl'"):
        AlignmentReasoner(mode="hermit")


def test_rules_refuse_an_ontology_they_cannot_compile(tmp_path: Path) -> None:
    extra = tmp_path / "extra.ttl"
    extra.write_text("@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
                     "<http://example.org/partOf> a owl:ObjectProperty, owl:TransitiveProperty .\n")
    files = [*ontology_files(), extra]
    with pytest.raises(UsageError, match="TransitiveProperty"):
        AlignmentReasoner(files=files)
    reasoner = AlignmentReasoner(mode="owlrl", files=files)
    graph = Graph()
    for triple in [(EX.a, EX.partOf, EX.b), (EX.b, EX.partOf, EX.c)]:
        graph.add(triple)
    assert (EX.a, EX.partOf, EX.c) in reasoner.infer_triples(graph)


def test_unreadable_ontology_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("this is not turtle")
    with pytest.raises(UsageError, match=r"bad\.ttl: expected an ontology in Turtle"):
        AlignmentReasoner(files=[bad])


def test_missing_ontology_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"missing\.ttl: expected a readable ontology file"):
        AlignmentReasoner(files=[tmp_path / "missing.ttl"])


def test_reasoners_from_unchanged_files_share_the_compiled_rules() -> None:
    first, second = AlignmentReasoner(), AlignmentReasoner()
    assert first.ontology is second.ontology
