"""The ontology files: they parse, declare exactly the terms of docs/model.md, and align without punning."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from kg.resources import ontology_files
from kg.vocab import BIBO, DBLP, FABIO, ONTOLOGY_IRI, SCHEMA, SKG, SOA, SOSA, WD, WDT

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "ontology" / "scholarkg.ttl"
ALIGNMENT = ROOT / "ontology" / "alignment.ttl"
ALIGNMENT_IRI = URIRef("https://w3id.org/scholarkg/alignment")
PROV = Namespace("http://www.w3.org/ns/prov#")
KINDS = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.NamedIndividual)


def _parse(path: Path) -> Graph:
    graph = Graph()
    graph.parse(path, format="turtle")
    return graph


@pytest.fixture(scope="module")
def core() -> Graph:
    return _parse(CORE)


@pytest.fixture(scope="module")
def alignment() -> Graph:
    return _parse(ALIGNMENT)


@pytest.fixture(scope="module")
def merged(core: Graph, alignment: Graph) -> Graph:
    return core + alignment


def _skg_terms(graph: Graph) -> set[URIRef]:
    return {s for s in graph.subjects() if isinstance(s, URIRef) and s.startswith(str(SKG))}


def test_resources_find_both_files() -> None:
    assert {p.name for p in ontology_files()} == {"scholarkg.ttl", "alignment.ttl"}


def test_core_header(core: Graph) -> None:
    onto = URIRef(ONTOLOGY_IRI)
    assert (onto, RDF.type, OWL.Ontology) in core
    assert list(core.objects(onto, OWL.versionInfo))
    assert list(core.objects(onto, OWL.versionIRI))
    assert list(core.objects(onto, DCTERMS.license))
    for prop in (RDFS.label, RDFS.comment):
        assert {getattr(lit, "language", None) for lit in core.objects(onto, prop)} == {"en"}
    assert list(core.subjects(RDF.type, OWL.Ontology)) == [onto]


def test_alignment_header_imports_the_core(alignment: Graph) -> None:
    assert list(alignment.subjects(RDF.type, OWL.Ontology)) == [ALIGNMENT_IRI]
    assert (ALIGNMENT_IRI, OWL.imports, URIRef(ONTOLOGY_IRI)) in alignment
    assert list(alignment.objects(ALIGNMENT_IRI, OWL.versionInfo))
    assert list(alignment.objects(ALIGNMENT_IRI, DCTERMS.license))


def test_core_declares_exactly_the_terms_of_the_model(core: Graph) -> None:
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    in_model = {SKG[name] for name in re.findall(r"\bskg:([A-Za-z]\w*)", text)}
    assert _skg_terms(core) == in_model


def test_alignment_declares_no_new_skg_terms(core: Graph, alignment: Graph) -> None:
    assert _skg_terms(alignment) <= _skg_terms(core)
    for term in _skg_terms(alignment):
        assert not set(alignment.objects(term, RDF.type)), f"{term} is typed outside the core"


def test_every_core_term_has_one_kind_an_english_label_and_comment(core: Graph) -> None:
    for term in _skg_terms(core):
        kinds = set(core.objects(term, RDF.type)) & set(KINDS)
        assert len(kinds) == 1 or kinds == {OWL.NamedIndividual}, (term, kinds)
        for prop in (RDFS.label, RDFS.comment):
            values = list(core.objects(term, prop))
            assert len(values) == 1 and isinstance(values[0], Literal) and values[0].language == "en", (term, prop)
            assert str(values[0]).strip()


def test_every_declared_term_has_a_label(merged: Graph) -> None:
    declared = {s for k in KINDS for s in merged.subjects(RDF.type, k)}
    assert not {t for t in declared if not list(merged.objects(t, RDFS.label))}


def test_classes_and_individuals_of_the_model(core: Graph) -> None:
    classes = {s for s in core.subjects(RDF.type, OWL.Class) if str(s).startswith(str(SKG))}
    assert classes == {SKG[c] for c in ("Agent", "Person", "Team", "Organization", "Paper", "Authorship", "Category",
                                        "UnmappedCategory", "ProfileSnapshot", "MetricObservation", "Metric")}
    for sub, sup in [("Person", SKG.Agent), ("Team", SKG.Agent), ("Organization", SKG.Agent),
                     ("Category", SKOS.Concept), ("UnmappedCategory", SKG.Category), ("ProfileSnapshot", PROV.Entity)]:
        assert (SKG[sub], RDFS.subClassOf, sup) in core
    metrics = set(core.subjects(RDF.type, SKG.Metric))
    assert metrics == {SKG[m] for m in ("hIndex", "paperCount", "citationCount", "novelty", "aiScore")}
    assert all((m, RDF.type, OWL.NamedIndividual) in core for m in metrics)


@pytest.mark.parametrize(("prop", "domain", "range_"), [
    ("name", "Agent", XSD.string), ("title", "Paper", XSD.string), ("publicationDate", "Paper", XSD.date),
    ("category", "Paper", SKG.Category), ("ordinal", "Authorship", XSD.integer),
    ("agent", "Authorship", SKG.Agent), ("bylineTruncated", "Paper", XSD.boolean),
    ("printedAuthorCount", "Paper", XSD.integer), ("hasAuthor", "Paper", SKG.Agent),
    ("taggedOrganization", "Paper", SKG.Organization), ("describes", "ProfileSnapshot", SKG.Person),
    ("declaredPaperCount", "ProfileSnapshot", XSD.integer), ("value", "MetricObservation", XSD.integer),
    ("observedAt", "MetricObservation", XSD.dateTime), ("bareCode", "Category", XSD.string),
])
def test_domains_and_ranges(core: Graph, prop: str, domain: str, range_: URIRef) -> None:
    assert set(core.objects(SKG[prop], RDFS.domain)) == {SKG[domain]}
    assert set(core.objects(SKG[prop], RDFS.range)) == {range_}


def test_every_property_has_a_domain_and_object_properties_a_range_where_known(core: Graph) -> None:
    for kind in (OWL.ObjectProperty, OWL.DatatypeProperty):
        for prop in core.subjects(RDF.type, kind):
            if str(prop).startswith(str(SKG)):
                assert list(core.objects(prop, RDFS.domain)), prop
                if prop not in (SKG.mentionsURL, SKG.codeRepository):  # any IRI
                    assert list(core.objects(prop, RDFS.range)), prop


def test_functional_properties(core: Graph) -> None:
    functional = set(core.subjects(RDF.type, OWL.FunctionalProperty))
    for name in ("title", "abstract", "publicationDate", "ordinal", "nameAsPrinted", "agent", "bylineTruncated",
                 "printedAuthorCount", "hasCodeBadge", "value", "observedAt", "metric", "observedAgent"):
        assert SKG[name] in functional, name
    for name in ("hasAuthor", "hasAuthorship", "taggedOrganization", "lists", "name", "mentionsURL"):
        assert SKG[name] not in functional, name


def test_no_punning(merged: Graph) -> None:
    kinds: dict[Node, set[Node]] = {}
    for kind in KINDS:
        for term in merged.subjects(RDF.type, kind):
            kinds.setdefault(term, set()).add(kind)
    mixed = {t: k for t, k in kinds.items() if len(k - {OWL.NamedIndividual}) > 1
             or (OWL.NamedIndividual in k and k & {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty})}
    assert not mixed


def test_every_term_in_an_axiom_is_declared_with_the_right_kind(merged: Graph) -> None:
    def kind_of(term: Node) -> set[Node]:
        return set(merged.objects(term, RDF.type)) & set(KINDS)

    for s, o in merged.subject_objects(RDFS.subClassOf):
        assert kind_of(s) == {OWL.Class}, s
        assert isinstance(o, BNode) or kind_of(o) == {OWL.Class}, o
    for s, o in merged.subject_objects(RDFS.subPropertyOf):
        assert kind_of(s) == kind_of(o) and kind_of(s) <= {OWL.ObjectProperty, OWL.DatatypeProperty}, (s, o)
    for restriction in merged.subjects(RDF.type, OWL.Restriction):
        (on,) = merged.objects(restriction, OWL.onProperty)
        assert kind_of(on) == {OWL.ObjectProperty}
        (value,) = merged.objects(restriction, OWL.hasValue)
        assert OWL.NamedIndividual in set(merged.objects(value, RDF.type))


@pytest.mark.parametrize(("sub", "sup"), [
    (SKG.Paper, [SCHEMA.ScholarlyArticle, FABIO.ScholarlyWork, BIBO.AcademicArticle, DBLP.Publication, SOA.Work]),
    (SKG.Person, [SCHEMA.Person, FOAF.Person, DBLP.Person]),
    (SKG.Team, [FOAF.Group, DBLP.Group, SCHEMA.Organization]),
    (SKG.Organization, [SCHEMA.Organization, FOAF.Organization]),
    (SKG.Authorship, [DBLP.AuthorSignature]),
    (SKG.MetricObservation, [SOSA.Observation]),
])
def test_class_alignments(alignment: Graph, sub: URIRef, sup: list[URIRef]) -> None:
    assert set(sup) <= set(alignment.objects(sub, RDFS.subClassOf))


@pytest.mark.parametrize(("sub", "sup"), [
    ("title", [SCHEMA.name, DCTERMS.title, DBLP.title, WDT.P1476]), ("name", [SCHEMA.name, FOAF.name]),
    ("publicationDate", [SCHEMA.datePublished, DCTERMS.issued, WDT.P577]),
    ("hasAuthor", [SCHEMA.author, DCTERMS.creator, DBLP.authoredBy, WDT.P50]),
    ("abstract", [SCHEMA.abstract, DCTERMS.abstract]), ("category", [DCTERMS.subject]),
    ("hasAuthorship", [DBLP.hasSignature]), ("ordinal", [DBLP.signatureOrdinal]),
    ("agent", [DBLP.signatureCreator]), ("codeRepository", [SCHEMA.codeRepository]),
])
def test_property_alignments(alignment: Graph, sub: str, sup: list[URIRef]) -> None:
    assert set(sup) <= set(alignment.objects(SKG[sub], RDFS.subPropertyOf))


def test_papers_are_wikidata_scholarly_articles(alignment: Graph) -> None:
    restrictions = [o for o in alignment.objects(SKG.Paper, RDFS.subClassOf) if isinstance(o, BNode)]
    assert len(restrictions) == 1
    (r,) = restrictions
    assert (r, RDF.type, OWL.Restriction) in alignment
    assert (r, OWL.onProperty, WDT.P31) in alignment
    assert (r, OWL.hasValue, WD.Q13442814) in alignment


def test_byline_ordinals_are_never_equated_with_other_positions(merged: Graph) -> None:
    assert set(merged.objects(SKG.ordinal, RDFS.subPropertyOf)) == {DBLP.signatureOrdinal}
    assert not list(merged.objects(SKG.ordinal, OWL.equivalentProperty))
    assert not list(merged.subjects(OWL.equivalentProperty, SKG.ordinal))
    assert not list(merged.subjects(RDFS.subPropertyOf, SKG.ordinal))
    # SemOpenAlex positions are 0-based, Wikidata's series ordinal (P1545) is a string: neither may appear.
    soa_terms = {n for t in merged for n in t if isinstance(n, URIRef) and n.startswith(str(SOA))}
    assert soa_terms <= {SOA.Work, URIRef(str(SOA))}
    assert not {n for t in merged for n in t if isinstance(n, URIRef) and ("P1545" in n or "position" in n.lower())}


def test_alignments_only_refine_never_equate(merged: Graph) -> None:
    assert not list(merged.triples((None, OWL.equivalentClass, None)))
    assert not list(merged.triples((None, OWL.equivalentProperty, None)))


def test_the_core_alone_has_no_alignments(core: Graph) -> None:
    external = (str(SCHEMA), str(DBLP), str(SOA), str(WDT), str(FOAF), str(SOSA), str(FABIO), str(BIBO))
    assert not [t for t in core if any(isinstance(n, URIRef) and str(n).startswith(external) for n in t)]


def _mapped_graphs() -> list[Graph]:
    import datetime as dt

    from kg.mapping import map_profile
    from kg.model import AgentKind, Byline, BylineSlot, Metrics, Paper, Profile
    from kg.parse import parse_profile
    from kg.vocab import IRIs

    iris, when = IRIs("https://w3id.org/scholarkg/"), dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    team = Byline((BylineSlot(1, "Gemini Team", AgentKind.TEAM),), True, ("deepmind",))
    entry = Paper("XYZ", dt.date(2024, 1, 2), True, "T", team, "See github.com/a/b", ("https://github.com/a/b",), 9)
    made = Profile("x.txt", "A B", "XYZ", Metrics(1, 2, 3, 4, 5), 1, (entry,))
    profiles = [made] + [parse_profile(p.read_bytes(), str(p)) for p in sorted((ROOT / "seeds").glob("*.txt"))]
    graphs = []
    for profile in profiles:
        doc = map_profile(profile, iris, ingested_at=when, file_sha256="0" * 64)
        graphs += [doc.asserted, doc.provenance]
    return graphs


def test_every_skg_term_the_mapping_uses_is_declared_with_label_and_comment(core: Graph) -> None:
    used: set[URIRef] = set()
    for graph in _mapped_graphs():
        used.update(n for t in graph for n in t if isinstance(n, URIRef) and n.startswith(str(SKG)))
    assert SKG.Team in used and SKG.UnmappedCategory in used and SKG.codeRepository in used
    for term in used:
        assert set(core.objects(term, RDF.type)) & set(KINDS), f"{term} is not declared"
        assert list(core.objects(term, RDFS.label)) and list(core.objects(term, RDFS.comment)), term
