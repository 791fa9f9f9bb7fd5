"""kg.mapping: records -> asserted and provenance triples, exactly as docs/model.md says."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import PROV, RDF, SKOS, XSD
from rdflib.term import Node

from kg.mapping import MappedDocument, is_code_host, map_profile, url_iri
from kg.model import AgentKind, Byline, BylineSlot, Metrics, Paper, Profile
from kg.vocab import ARXIV_NOTATIONS, SKG, IRIs

BASE = "https://w3id.org/scholarkg/"
IRI = IRIs(BASE)
WHEN = dt.datetime(2025, 3, 1, 12, 30, tzinfo=dt.UTC)
SEEDS = sorted((Path(__file__).resolve().parent.parent / "seeds").glob("*.txt"))
GEMINI_15 = "Gemini 1.5: Unlocking multimodal understanding across millions of tokens of context"


def slot(ordinal: int, name: str, kind: AgentKind = AgentKind.PERSON) -> BylineSlot:
    return BylineSlot(ordinal, name, kind)


def paper(title: str, *, code: str = "LG", date: dt.date = dt.date(2023, 5, 4), slots: tuple[BylineSlot, ...] = (),
          truncated: bool = False, orgs: tuple[str, ...] = (), urls: tuple[str, ...] = (),
          badge: bool = False) -> Paper:
    return Paper(code, date, badge, title, Byline(slots, truncated, orgs), f"Abstract of {title}.", urls, 10)


def hand_profile() -> Profile:
    """Owner in a full byline with a team and org tags; owner hidden behind et al.; an unmapped category; a repeat."""
    return Profile(
        source="tests/data/ada_lovelace.txt",
        author_name="Ada Lovelace",
        primary_category="LG",
        metrics=Metrics(h_index=12, paper_count=3, citation_count=1_234, novelty_percent=58, ai_score=43),
        declared_paper_heading=4,
        papers=(
            paper("Engines: A Study", slots=(slot(1, "Gemini Team", AgentKind.TEAM), slot(2, "Ada Lovelace"),
                                            slot(3, "Charles Babbage")),
                  orgs=("deepmind", "mila"), badge=True,
                  urls=("https://github.com/ada/engine", "https://example.org/notes", "ada.github.io/site")),
            paper("Notes on the Analytical Engine", code="XYZ", date=dt.date(2022, 1, 31),
                  slots=(slot(1, "Luigi Menabrea"), slot(2, "Charles Babbage")), truncated=True),
            paper("ENGINES: a study!", date=dt.date(2023, 9, 9), slots=(slot(1, "Someone Else"),)),
        ),
    )


def mapped(profile: Profile, iris: IRIs = IRI, when: dt.datetime = WHEN) -> MappedDocument:
    return map_profile(profile, iris, ingested_at=when, file_sha256="ab" * 32)


def seed_documents() -> list[tuple[Profile, MappedDocument]]:
    from kg.parse import parse_profile

    documents = []
    for path in SEEDS:
        data = path.read_bytes()
        profile = parse_profile(data, str(path))
        documents.append((profile, map_profile(profile, IRI, ingested_at=WHEN,
                                               file_sha256=hashlib.sha256(data).hexdigest())))
    return documents


@pytest.fixture(scope="module")
def hand() -> MappedDocument:
    return mapped(hand_profile())


@pytest.fixture(scope="module")
def seeds() -> list[tuple[Profile, MappedDocument]]:
    return seed_documents()


def _one(graph: Graph, s: Node, p: Node) -> object:
    values = list(graph.objects(s, p))
    assert len(values) == 1, (s, p, values)
    return values[0]


# --- determinism and identity -----------------------------------------------------------------------------------

def test_same_input_gives_the_same_graphs_and_iris() -> None:
    first, second = mapped(hand_profile()), mapped(hand_profile())
    assert set(first.asserted) == set(second.asserted)
    assert isomorphic(first.asserted, second.asserted)
    assert isomorphic(first.provenance, second.provenance)
    assert (first.document_id, first.graph_iri, first.papers) == (second.document_id, second.graph_iri, second.papers)


def test_graph_iris_follow_the_model(hand: MappedDocument) -> None:
    assert hand.document_id == "ada-lovelace"
    assert hand.graph_iri == URIRef(BASE + "graph/ada-lovelace")
    assert hand.inferred_graph_iri == URIRef(BASE + "graph/ada-lovelace/inferred")
    assert hand.provenance_graph_iri == URIRef(BASE + "graph/ada-lovelace/provenance")
    assert hand.snapshot == URIRef(BASE + "snapshot/ada-lovelace")
    assert hand.owner == URIRef(BASE + "person/ada-lovelace")
    graphs = (hand.graph_iri, hand.inferred_graph_iri, hand.provenance_graph_iri)
    assert IRI.document_graphs(str(hand.graph_iri)) == graphs
    escaped = IRI.graph("000_a b/é")  # a file name's characters, percent-encoded in the IRI
    assert IRI.document_graphs(str(escaped)) == (escaped, IRI.inferred_graph("000_a b/é"),
                                                 IRI.provenance_graph("000_a b/é"))


def test_every_entity_lives_under_the_configured_base() -> None:
    other = mapped(hand_profile(), IRIs("http://example.org/kg/"))
    nodes = {n for t in other.asserted for n in (t[0], t[2]) if isinstance(n, URIRef)}
    outside = {n for n in nodes if not str(n).startswith(("http://example.org/kg/", str(SKG), str(SKOS)))}
    assert outside == {URIRef("https://github.com/ada/engine"), URIRef("https://example.org/notes"),
                       URIRef("https://ada.github.io/site")}


def test_no_blank_nodes(hand: MappedDocument, seeds: list[tuple[Profile, MappedDocument]]) -> None:
    for doc in [hand] + [m for _, m in seeds]:
        for graph in (doc.asserted, doc.provenance):
            assert not [t for t in graph if any(isinstance(n, BNode) for n in t)]


def test_gemini_paper_has_one_iri_across_both_seeds(seeds: list[tuple[Profile, MappedDocument]]) -> None:
    found = set()
    for _, doc in seeds:
        papers = list(doc.asserted.subjects(SKG.title, Literal(GEMINI_15)))
        assert len(papers) == 1
        found.add(papers[0])
        assert papers[0] in doc.papers
    assert len(found) == 1
    assert found == {IRI.paper(GEMINI_15, 2024)}


def test_a_repeated_entry_is_mapped_once(hand: MappedDocument) -> None:
    assert hand.paper_count == 2
    repeated = IRI.paper("Engines: A Study", 2023)
    assert _one(hand.asserted, repeated, SKG.title) == Literal("Engines: A Study")


# --- papers and bylines -----------------------------------------------------------------------------------------

def test_paper_core_triples(hand: MappedDocument) -> None:
    g, p = hand.asserted, IRI.paper("Engines: A Study", 2023)
    assert (p, RDF.type, SKG.Paper) in g
    assert _one(g, p, SKG.abstract) == Literal("Abstract of Engines: A Study.")
    assert _one(g, p, SKG.publicationDate) == Literal("2023-05-04", datatype=XSD.date)
    assert _one(g, p, SKG.category) == URIRef(BASE + "category/cs.LG")
    assert _one(g, p, SKG.hasCodeBadge) == Literal(True)
    assert _one(g, p, SKG.bylineTruncated) == Literal(False)
    assert _one(g, p, SKG.printedAuthorCount) == Literal(3, datatype=XSD.integer)


def test_byline_slots_keep_order_name_and_agent(hand: MappedDocument) -> None:
    g, p = hand.asserted, IRI.paper("Engines: A Study", 2023)
    slots = sorted(g.objects(p, SKG.hasAuthorship), key=str)
    assert slots == [URIRef(f"{p}/author/{n}") for n in (1, 2, 3)]
    expected = [("Gemini Team", BASE + "team/gemini-team"), ("Ada Lovelace", BASE + "person/ada-lovelace"),
                ("Charles Babbage", BASE + "person/charles-babbage")]
    for ordinal, (node, (name, agent)) in enumerate(zip(slots, expected, strict=True), start=1):
        assert (node, RDF.type, SKG.Authorship) in g
        assert _one(g, node, SKG.ordinal) == Literal(ordinal, datatype=XSD.integer)
        assert _one(g, node, SKG.nameAsPrinted) == Literal(name)
        assert _one(g, node, SKG.agent) == URIRef(agent)
    assert set(g.objects(p, SKG.hasAuthor)) == {URIRef(a) for _, a in expected}


def test_team_bylines_are_teams_not_persons(hand: MappedDocument) -> None:
    team = URIRef(BASE + "team/gemini-team")
    assert set(hand.asserted.objects(team, RDF.type)) == {SKG.Team}
    assert _one(hand.asserted, team, SKG.name) == Literal("Gemini Team")
    assert hand.team_count == 1


def test_owner_hidden_behind_et_al_is_author_without_a_slot(hand: MappedDocument) -> None:
    g, p = hand.asserted, IRI.paper("Notes on the Analytical Engine", 2022)
    assert _one(g, p, SKG.bylineTruncated) == Literal(True)
    assert _one(g, p, SKG.printedAuthorCount) == Literal(2, datatype=XSD.integer)
    assert (p, SKG.hasAuthor, hand.owner) in g
    slot_agents = {_one(g, s, SKG.agent) for s in g.objects(p, SKG.hasAuthorship)}
    assert hand.owner not in slot_agents
    assert len(slot_agents) == 2


def test_owner_is_author_of_every_listed_paper(hand: MappedDocument,
                                               seeds: list[tuple[Profile, MappedDocument]]) -> None:
    for doc in [hand] + [m for _, m in seeds]:
        listed = set(doc.asserted.objects(doc.snapshot, SKG.lists))
        assert listed == set(doc.papers)
        assert listed == set(doc.asserted.subjects(RDF.type, SKG.Paper))
        assert all((p, SKG.hasAuthor, doc.owner) in doc.asserted for p in listed)


def test_org_tags_belong_to_the_paper_not_to_persons(hand: MappedDocument,
                                                     seeds: list[tuple[Profile, MappedDocument]]) -> None:
    g, p = hand.asserted, IRI.paper("Engines: A Study", 2023)
    orgs = {URIRef(BASE + "org/deepmind"), URIRef(BASE + "org/mila")}
    assert set(g.objects(p, SKG.taggedOrganization)) == orgs
    assert all(_one(g, o, RDF.type) == SKG.Organization for o in orgs)
    assert _one(g, URIRef(BASE + "org/mila"), SKG.name) == Literal("mila")
    for doc in [hand] + [m for _, m in seeds]:
        all_orgs = set(doc.asserted.subjects(RDF.type, SKG.Organization))
        persons = set(doc.asserted.subjects(RDF.type, SKG.Person))
        assert all_orgs and persons
        assert not [t for t in doc.asserted if t[0] in persons and t[2] in all_orgs]
        assert {s for s, _, o in doc.asserted if o in all_orgs} <= set(doc.papers)


def test_urls_are_mentioned_and_code_hosts_are_repositories(hand: MappedDocument) -> None:
    g, p = hand.asserted, IRI.paper("Engines: A Study", 2023)
    github, notes, pages = (URIRef("https://github.com/ada/engine"), URIRef("https://example.org/notes"),
                            URIRef("https://ada.github.io/site"))
    assert set(g.objects(p, SKG.mentionsURL)) == {github, notes, pages}
    assert set(g.objects(p, SKG.codeRepository)) == {github, pages}
    other = IRI.paper("Notes on the Analytical Engine", 2022)
    assert not list(g.objects(other, SKG.mentionsURL))


@pytest.mark.parametrize(("url", "expected"), [
    ("https://github.com/a/b", True), ("http://www.github.com/a", True), ("https://gitlab.com/x", True),
    ("https://bitbucket.org/x/y", True), ("https://huggingface.co/m", True), ("https://x-y.github.io/p/", True),
    ("https://sites.google.com/view/x", False), ("https://github.community/x", False),
    ("https://notgithub.com/x", False), ("https://example.org/github.com", False), ("http://[::1/", False),
])
def test_code_hosts(url: str, expected: bool) -> None:
    assert is_code_host(url) is expected


def test_url_iris_get_a_scheme_and_safe_characters() -> None:
    assert url_iri("velo-code.github.io") == URIRef("https://velo-code.github.io")
    assert url_iri("https://a.org/x y") == URIRef("https://a.org/x%20y")
    assert url_iri("https://a.org/p?q=1&r=2#f") == URIRef("https://a.org/p?q=1&r=2#f")


# --- categories, snapshot, metrics, provenance -------------------------------------------------------------------

def test_mapped_category_has_notation_code_label_and_scheme(hand: MappedDocument) -> None:
    g, c = hand.asserted, URIRef(BASE + "category/cs.LG")
    assert set(g.objects(c, RDF.type)) == {SKG.Category}
    assert _one(g, c, SKOS.notation) == Literal("cs.LG")
    assert _one(g, c, SKG.bareCode) == Literal("LG")
    assert _one(g, c, SKOS.prefLabel) == Literal("Machine Learning", lang="en")
    assert _one(g, c, SKOS.inScheme) == IRI.category_scheme()
    assert (IRI.category_scheme(), RDF.type, SKOS.ConceptScheme) in g
    assert _one(g, hand.owner, SKG.primaryCategory) == c


def test_unmapped_category_is_flagged(hand: MappedDocument) -> None:
    assert "XYZ" not in ARXIV_NOTATIONS
    g, c = hand.asserted, URIRef(BASE + "category/XYZ")
    assert set(g.objects(c, RDF.type)) == {SKG.Category, SKG.UnmappedCategory}
    assert _one(g, c, SKOS.notation) == Literal("XYZ")
    assert _one(g, c, SKG.bareCode) == Literal("XYZ")
    assert set(g.subjects(RDF.type, SKG.UnmappedCategory)) == {c}


def test_seed_categories_are_all_mapped(seeds: list[tuple[Profile, MappedDocument]]) -> None:
    for _, doc in seeds:
        assert not list(doc.asserted.subjects(RDF.type, SKG.UnmappedCategory))


def test_snapshot(hand: MappedDocument) -> None:
    g, s = hand.asserted, hand.snapshot
    assert _one(g, s, RDF.type) == SKG.ProfileSnapshot
    assert _one(g, s, SKG.describes) == hand.owner
    assert _one(g, s, SKG.declaredPaperCount) == Literal(4, datatype=XSD.integer)


def test_five_metric_observations(hand: MappedDocument) -> None:
    g = hand.asserted
    observations = set(g.subjects(RDF.type, SKG.MetricObservation))
    assert len(observations) == 5
    values = {}
    for node in observations:
        assert _one(g, node, SKG.observedAgent) == hand.owner
        assert _one(g, node, SKG.observedAt) == Literal("2025-03-01T12:30:00+00:00", datatype=XSD.dateTime)
        assert _one(g, node, PROV.wasDerivedFrom) == hand.snapshot
        metric = _one(g, node, SKG.metric)
        assert node == URIRef(f"{hand.snapshot}/metric/{str(metric).rsplit('#', 1)[1]}")
        value = _one(g, node, SKG.value)
        assert isinstance(value, Literal) and value.datatype == XSD.integer
        values[metric] = value.toPython()
    assert values == {SKG.hIndex: 12, SKG.paperCount: 3, SKG.citationCount: 1234, SKG.novelty: 58, SKG.aiScore: 43}


def test_naive_ingest_time_counts_as_utc() -> None:
    naive = mapped(hand_profile(), when=dt.datetime(2025, 3, 1, 12, 30))
    other_zone = mapped(hand_profile(), when=dt.datetime(2025, 3, 1, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    reference = mapped(hand_profile())
    assert set(naive.asserted) == set(reference.asserted) == set(other_zone.asserted)


def test_provenance_graph(hand: MappedDocument) -> None:
    when = Literal("2025-03-01T12:30:00+00:00", datatype=XSD.dateTime)
    expected = Graph()
    for triple in [
        (hand.graph_iri, PROV.wasDerivedFrom, hand.snapshot),
        (hand.graph_iri, PROV.generatedAtTime, when),
        (hand.snapshot, SKG.fileName, Literal("ada_lovelace.txt")),
        (hand.snapshot, SKG.sha256, Literal("ab" * 32)),
        (hand.snapshot, PROV.generatedAtTime, when),
    ]:
        expected.add(triple)
    assert isomorphic(hand.provenance, expected)


# --- counts ------------------------------------------------------------------------------------------------------

def test_exact_triple_count_of_the_hand_made_profile(hand: MappedDocument) -> None:
    agents = 2 * 6  # Ada, Gemini Team, Charles, deepmind, mila, Luigi ("Someone Else" is only in the repeat)
    categories = 5 + 6 + 2  # cs.LG, XYZ (unmapped: one more type), the scheme
    engines = 8 + 3 + 3 * 5 + 2 + 3 + 2  # 8 paper triples, hasAuthor x3, slots, org tags, URLs, code URLs
    notes = 8 + 3 + 2 * 5  # 8 paper triples, hasAuthor x3 (two printed + the hidden owner), slots
    snapshot, metrics, primary_category = 3 + 2, 5 * 6, 1
    assert len(hand.asserted) == agents + categories + engines + notes + snapshot + metrics + primary_category == 115
    assert (hand.person_count, hand.team_count, hand.organization_count) == (3, 1, 2)
    assert len(hand.provenance) == 5


def _expected_count(profile: Profile) -> int:
    """Counts the triples docs/model.md asks for, straight from the records."""
    owner = IRI.person(profile.author_name)
    agents, categories, papers, total = {owner}, {profile.primary_category}, set(), 1
    for entry in profile.papers:
        iri = IRI.paper(entry.title, entry.published.year)
        if iri in papers:
            continue
        papers.add(iri)
        slots = entry.byline.slots
        slot_agents = {IRI.team(s.name) if s.kind is AgentKind.TEAM else IRI.person(s.name) for s in slots}
        orgs = {IRI.organization(t) for t in entry.byline.organizations}
        urls = {url_iri(u) for u in entry.urls}
        total += 8 + len(slot_agents | {owner}) + 5 * len(slots) + len(orgs) + len(urls)
        total += len({u for u in urls if is_code_host(u)})
        agents |= slot_agents | orgs
        categories.add(entry.category_code)
    total += 2 * len(agents) + 2 + sum(5 if c in ARXIV_NOTATIONS else 6 for c in categories)
    return total + 3 + len(papers) + 5 * 6


def test_seed_triple_counts_match_the_model(seeds: list[tuple[Profile, MappedDocument]]) -> None:
    for profile, doc in seeds:
        assert len(doc.asserted) == _expected_count(profile)
        assert doc.paper_count == len(profile.papers)
    assert [doc.paper_count for _, doc in seeds] == [15, 50]


def test_expected_count_formula_agrees_on_the_hand_made_profile(hand: MappedDocument) -> None:
    assert len(hand.asserted) == _expected_count(hand_profile())


def test_mapping_is_fast(seeds: list[tuple[Profile, MappedDocument]]) -> None:
    import time

    profile = seeds[-1][0]
    start = time.perf_counter()
    for _ in range(20):
        mapped(profile)
    assert (time.perf_counter() - start) / 20 < 0.25  # ~0.02 s here; 10k profiles must map in minutes
