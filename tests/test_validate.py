"""SHACL shapes and kg.validate: a conforming document, each structural violation, each quality finding, the seeds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path

import pyoxigraph
import pyshacl
import pytest
from rdflib import RDF, RDFS, SH, Graph, URIRef
from rdflib.compare import isomorphic

from kg import validate as validate_module
from kg.mapping import map_profile
from kg.parse import parse_file
from kg.resources import data_dir, shapes_files
from kg.validate import (
    CROSS_DOCUMENT_QUERIES,
    Finding,
    ValidationReport,
    Validator,
    compact,
    cross_document_findings,
    load_shapes,
)
from kg.vocab import SKGSH, IRIs

DATA = Path(__file__).parent / "data" / "shapes"
BASE = "https://w3id.org/scholarkg/"
PREFIXES = """
@prefix xsd:      <http://www.w3.org/2001/XMLSchema#> .
@prefix skos:     <http://www.w3.org/2004/02/skos/core#> .
@prefix prov:     <http://www.w3.org/ns/prov#> .
@prefix skg:      <https://w3id.org/scholarkg/ontology#> .
@prefix person:   <https://w3id.org/scholarkg/person/> .
@prefix team:     <https://w3id.org/scholarkg/team/> .
@prefix org:      <https://w3id.org/scholarkg/org/> .
@prefix paper:    <https://w3id.org/scholarkg/paper/> .
@prefix category: <https://w3id.org/scholarkg/category/> .
@prefix snapshot: <https://w3id.org/scholarkg/snapshot/> .
@prefix slot1:    <https://w3id.org/scholarkg/paper/p1/author/> .
@prefix slot2:    <https://w3id.org/scholarkg/paper/p2/author/> .
@prefix metric:   <https://w3id.org/scholarkg/snapshot/doc1/metric/> .
"""
P1, P2 = BASE + "paper/p1", BASE + "paper/p2"
SNAPSHOT = BASE + "snapshot/doc1"
ADA = BASE + "person/ada-lovelace"


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator()


@pytest.fixture(scope="module")
def conforming() -> Graph:
    return Graph().parse(DATA / "conforming.ttl", format="turtle")


def variant(base: Graph, remove: Iterable[str] = (), add: str = "") -> Graph:
    """A copy of `base` without the triples matching each `remove` pattern ("s p" or "s p o", prefixed names)
    and with the Turtle `add`."""
    graph = Graph()
    graph += base
    names = Graph().parse(data=PREFIXES, format="turtle").namespace_manager
    for pattern in remove:
        terms = [names.expand_curie(part) for part in pattern.split()]
        graph.remove((terms[0], terms[1], terms[2] if len(terms) > 2 else None))
    graph.parse(data=PREFIXES + add, format="turtle")
    return graph


def _matching(findings: Iterable[Finding], shape: str, focus: str) -> list[Finding]:
    return [f for f in findings if f.shape == str(SKGSH[shape]) and f.focus_node == focus]


# ------------------------------------------------------------------------------------------ conforming


def test_a_conforming_document_has_no_findings(validator: Validator, conforming: Graph) -> None:
    report = validator.validate(conforming)
    assert report.conforms
    assert report.findings == ()
    assert report.to_text() == ""


def test_the_report_graph_is_a_shacl_report(validator: Validator, conforming: Graph) -> None:
    report = validator.validate(variant(conforming, add="paper:p1 skg:title 'Second' ."))
    graph = report.to_graph()
    reports = list(graph.subjects(RDF.type, SH.ValidationReport))
    assert len(reports) == 1
    assert graph.value(reports[0], SH.conforms).toPython() is False
    assert len(list(graph.subjects(RDF.type, SH.ValidationResult))) == len(report.findings) == 1


def test_validation_leaves_the_data_graph_alone(validator: Validator, conforming: Graph) -> None:
    data = variant(conforming, add="paper:p1 skg:title 'Second' .")
    before, namespaces = variant(data), sorted(data.namespaces())
    validator.validate(data)
    assert isomorphic(data, before)
    assert sorted(data.namespaces()) == namespaces


# ------------------------------------------------------------------------------------------ violations

VIOLATIONS = [
    # (case, remove, add, shape, focus, expected message)
    ("two titles", [], "paper:p1 skg:title 'Other' .", "PaperTitleShape", P1,
     "expected exactly one title, a non-empty string, found 2"),
    ("no title", ["paper:p1 skg:title"], "", "PaperTitleShape", P1,
     "expected exactly one title, a non-empty string, found 0"),
    ("empty title", ["paper:p1 skg:title"], "paper:p1 skg:title '' .", "PaperTitleShape", P1,
     'expected exactly one title, a non-empty string, got ""'),
    ("no date", ["paper:p1 skg:publicationDate"], "", "PaperDateShape", P1,
     "expected exactly one publication date, an xsd:date, found 0"),
    ("date as a string", ["paper:p1 skg:publicationDate"], "paper:p1 skg:publicationDate '1843-09-01' .",
     "PaperDateShape", P1, 'expected exactly one publication date, an xsd:date, got "1843-09-01"'),
    ("impossible date", ["paper:p1 skg:publicationDate"], "paper:p1 skg:publicationDate '1843-02-30'^^xsd:date .",
     "PaperDateShape", P1, 'expected exactly one publication date, an xsd:date, got "1843-02-30"^^xsd:date'),
    ("no category", ["paper:p1 skg:category"], "", "PaperCategoryShape", P1,
     "expected exactly one category, a skg:Category, found 0"),
    ("category not a Category", ["paper:p1 skg:category"], "paper:p1 skg:category org:deepmind .",
     "PaperCategoryShape", P1, f"expected exactly one category, a skg:Category, got <{BASE}org/deepmind>"),
    ("no byline flag", ["paper:p1 skg:bylineTruncated"], "", "PaperBylineTruncatedShape", P1,
     "expected exactly one bylineTruncated flag, an xsd:boolean, found 0"),
    ("no author", ["paper:p1 skg:hasAuthor"], "", "PaperAuthorShape", P1, "expected at least one author, found 0"),
    ("no byline slot", ["paper:p2 skg:hasAuthorship"], "", "PaperAuthorshipShape", P2,
     "expected at least one byline slot, each a skg:Authorship, found 0"),
    ("paper not listed", ["snapshot:doc1 skg:lists paper:p2"], "", "PaperListedShape", P2,
     "expected the paper to be listed by a skg:ProfileSnapshot, found 0"),
    ("repeated ordinal", ["slot1:2 skg:ordinal"], "slot1:2 skg:ordinal '1'^^xsd:integer .",
     "BylineOrderShape", SNAPSHOT, f"expected the byline ordinals of listed paper <{P1}> to be 1..n, each once, "
     "found 1, 1"),
    ("gap in ordinals", ["slot2:2 skg:ordinal"], "slot2:2 skg:ordinal '3'^^xsd:integer .",
     "BylineOrderShape", SNAPSHOT, f"expected the byline ordinals of listed paper <{P2}> to be 1..n, each once, found"),
    ("ordinal 0", ["slot1:1 skg:ordinal"], "slot1:1 skg:ordinal '0'^^xsd:integer .",
     "AuthorshipOrdinalShape", P1 + "/author/1",
     'expected exactly one ordinal, an xsd:integer of at least 1, got "0"^^xsd:integer'),
    ("no ordinal", ["slot1:1 skg:ordinal"], "", "AuthorshipOrdinalShape", P1 + "/author/1",
     "expected exactly one ordinal, an xsd:integer of at least 1, found 0"),
    ("no printed name", ["slot1:1 skg:nameAsPrinted"], "", "AuthorshipNameShape", P1 + "/author/1",
     "expected exactly one name as printed, a non-empty string, found 0"),
    ("two agents", [], "slot1:1 skg:agent person:charles-babbage .", "AuthorshipAgentShape", P1 + "/author/1",
     "expected exactly one agent, found 2"),
    ("slot names a paper", ["slot1:2 skg:agent"], "slot1:2 skg:agent paper:p2 .", "AgentTypeShape", P2,
     "expected an agent, typed skg:Person, skg:Team or skg:Organization, got skg:Paper"),
    ("untyped author", [], "paper:p1 skg:hasAuthor person:nobody . person:nobody skg:name 'Nobody' .",
     "AgentTypeShape", BASE + "person/nobody",
     "expected an agent, typed skg:Person, skg:Team or skg:Organization, found 0"),
    ("agent without name", ["person:charles-babbage skg:name"], "", "AgentNameShape", BASE + "person/charles-babbage",
     "expected exactly one name, a non-empty string, found 0"),
    ("team with two names", [], "team:analytical-team skg:name 'The Team' .", "AgentNameShape",
     BASE + "team/analytical-team", "expected exactly one name, a non-empty string, found 2"),
    ("category without notation", ["category:XY skos:notation"], "", "CategoryNotationShape", BASE + "category/XY",
     "expected exactly one notation, a literal, found 0"),
    ("category without bare code", ["category:cs.LG skg:bareCode"], "", "CategoryBareCodeShape",
     BASE + "category/cs.LG", "expected exactly one bare code, a non-empty literal, found 0"),
    ("snapshot without owner", ["snapshot:doc1 skg:describes"], "", "SnapshotDescribesShape", SNAPSHOT,
     "expected exactly one profile owner, a skg:Person, found 0"),
    ("snapshot describing a team", ["snapshot:doc1 skg:describes"],
     "snapshot:doc1 skg:describes team:analytical-team .",
     "SnapshotDescribesShape", SNAPSHOT,
     f"expected exactly one profile owner, a skg:Person, got <{BASE}team/analytical-team>"),
    ("snapshot listing an organization", [], "snapshot:doc1 skg:lists org:deepmind .", "SnapshotListsShape",
     SNAPSHOT, f"expected every listed item to be a skg:Paper, got <{BASE}org/deepmind>"),
    ("declared count as a string", ["snapshot:doc1 skg:declaredPaperCount"],
     "snapshot:doc1 skg:declaredPaperCount '2' .",
     "SnapshotDeclaredCountShape", SNAPSHOT,
     'expected at most one declared paper count, an xsd:integer of at least 0, got "2"'),
    ("observation without agent", ["metric:hIndex skg:observedAgent"], "", "ObservationAgentShape",
     SNAPSHOT + "/metric/hIndex", "expected exactly one observed agent, a skg:Person, found 0"),
    ("unknown metric", ["metric:aiScore skg:metric"], "metric:aiScore skg:metric skg:karma .",
     "ObservationMetricShape", SNAPSHOT + "/metric/aiScore",
     "expected exactly one metric among skg:hIndex, skg:paperCount, skg:citationCount, skg:novelty, skg:aiScore, "
     "got skg:karma"),
    ("negative value", ["metric:citationCount skg:value"], "metric:citationCount skg:value -1 .",
     "ObservationValueShape", SNAPSHOT + "/metric/citationCount",
     'expected exactly one value, an xsd:integer of at least 0, got "-1"^^xsd:integer'),
    ("value as a string", ["metric:aiScore skg:value"], "metric:aiScore skg:value '43' .", "ObservationValueShape",
     SNAPSHOT + "/metric/aiScore", 'expected exactly one value, an xsd:integer of at least 0, got "43"'),
    ("no observation time", ["metric:novelty skg:observedAt"], "", "ObservationTimeShape",
     SNAPSHOT + "/metric/novelty", "expected exactly one observation time, an xsd:dateTime, found 0"),
    ("observation time as a date", ["metric:novelty skg:observedAt"],
     "metric:novelty skg:observedAt '2025-01-01'^^xsd:date .",
     "ObservationTimeShape", SNAPSHOT + "/metric/novelty",
     'expected exactly one observation time, an xsd:dateTime, got "2025-01-01"^^xsd:date'),
    ("novelty over 100", ["metric:novelty skg:value"], "metric:novelty skg:value 150 .", "NoveltyPercentShape",
     SNAPSHOT + "/metric/novelty", "expected a novelty value of at most 100 (percent)"),
]


@pytest.mark.parametrize(("remove", "add", "shape", "focus", "message"),
                         [case[1:] for case in VIOLATIONS], ids=[case[0] for case in VIOLATIONS])
def test_each_structural_break_is_refused_with_its_message(
        validator: Validator, conforming: Graph, remove: list[str], add: str, shape: str, focus: str,
        message: str) -> None:
    report = validator.validate(variant(conforming, remove, add))
    assert not report.conforms
    found = _matching(report.violations, shape, focus)
    assert found, report.to_text()
    assert found[0].message.startswith(message), found[0].message


def test_a_violation_reads_as_one_line(validator: Validator, conforming: Graph) -> None:
    report = validator.validate(variant(conforming, add="paper:p1 skg:title 'Other' ."))
    (finding,) = report.violations
    assert finding.to_text() == (f"Violation: <{P1}> skg:title: expected exactly one title, a non-empty string, "
                                 "found 2")
    assert report.to_text() == finding.to_text()
    assert (finding.severity, finding.path, finding.value) == ("Violation", BASE[:-1] + "/ontology#title", None)
    assert finding.shape == str(SKGSH.PaperTitleShape)


def test_an_inverse_path_reads_with_a_caret(validator: Validator, conforming: Graph) -> None:
    report = validator.validate(variant(conforming, ["snapshot:doc1 skg:lists paper:p2"]))
    (finding,) = _matching(report.violations, "PaperListedShape", P2)
    assert finding.path == "^https://w3id.org/scholarkg/ontology#lists"
    assert finding.to_text().startswith(f"Violation: <{P2}> ^skg:lists: expected the paper")


@pytest.mark.parametrize("value", ["0", "100"])
def test_novelty_bounds_are_inclusive(validator: Validator, conforming: Graph, value: str) -> None:
    graph = variant(conforming, ["metric:novelty skg:value"], f"metric:novelty skg:value {value} .")
    report = validator.validate(graph)
    assert report.conforms and not report.findings


def test_an_unmapped_category_is_a_category(validator: Validator, conforming: Graph) -> None:
    graph = variant(conforming, ["category:XY skos:notation"], "category:XY skos:notation 'XY' .")
    assert validator.validate(graph).conforms


# ------------------------------------------------------------------------------------------ quality

FINDINGS = [
    # (case, remove, add, severity, shape, value, message)
    ("h-index above paper count", ["metric:hIndex skg:value"], "metric:hIndex skg:value 3 .", "Warning",
     "HIndexWithinPaperCountShape", "3",
     "h-index 3 is greater than the number of papers 2: an h-index of h needs at least h papers"),
    ("h-index squared above citations", ["metric:citationCount skg:value"], "metric:citationCount skg:value 3 .",
     "Warning", "HIndexWithinCitationsShape", "2",
     "h-index 2 squared (4) is greater than the number of citations 3: an h-index of h needs at least h² citations"),
    ("fewer listed than declared", ["snapshot:doc1 skg:declaredPaperCount"],
     "snapshot:doc1 skg:declaredPaperCount '3'^^xsd:integer .", "Info", "ListedPapersShape", "2",
     "the profile lists 2 papers but declares 3: only part of the author's papers is described"),
    ("fewer listed than the paper-count metric", ["metric:paperCount skg:value"], "metric:paperCount skg:value 4 .",
     "Info", "ListedPapersShape", "2",
     "the profile lists 2 papers but declares 4: only part of the author's papers is described"),
    ("owner hidden in et al.", ["paper:p2 skg:hasAuthorship slot2:2"], "", "Info", "OwnerInTruncatedBylineShape", "1",
     "truncated bylines of listed papers that do not print the profile owner (hidden in et al.): 1"),
    ("owner absent from a complete byline", ["slot1:1 skg:agent"], "slot1:1 skg:agent person:charles-babbage .",
     "Warning", "OwnerInFullBylineShape", P1,
     f"the profile owner is not printed in the complete byline of listed paper <{P1}>"),
    ("code badge without repository", ["paper:p1 skg:codeRepository"], "", "Warning", "CodeRepositoryShape", P1,
     f"listed paper <{P1}> shows a Code badge but names no code repository"),
]


@pytest.mark.parametrize(("remove", "add", "severity", "shape", "value", "message"),
                         [case[1:] for case in FINDINGS], ids=[case[0] for case in FINDINGS])
def test_each_quality_finding_is_reported_and_the_document_kept(
        validator: Validator, conforming: Graph, remove: list[str], add: str, severity: str, shape: str,
        value: str, message: str) -> None:
    report = validator.validate(variant(conforming, remove, add))
    assert report.conforms, report.to_text()
    (finding,) = report.findings
    assert (finding.severity, finding.shape, finding.focus_node) == (severity, str(SKGSH[shape]), SNAPSHOT)
    assert finding.value == value
    assert finding.message == message


def test_findings_come_violations_first(validator: Validator, conforming: Graph) -> None:
    graph = variant(conforming, ["metric:hIndex skg:value", "paper:p1 skg:codeRepository"],
                    "metric:hIndex skg:value 3 . paper:p1 skg:title 'Other' .")
    report = validator.validate(graph)
    assert [f.severity for f in report.findings] == ["Violation", "Warning", "Warning"]
    assert len(report.violations) == 1 and len(report.warnings) == 2 and report.infos == ()
    assert report.to_text().splitlines()[1].startswith(f"Warning: <{SNAPSHOT}>")


# ------------------------------------------------------------------------------------------ the seeds


def _seed(name: str) -> Graph:
    profile = parse_file(data_dir("seeds") / name)
    return map_profile(profile, IRIs(BASE), ingested_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                       file_sha256="0" * 64).asserted


def test_the_seeds_conform_and_report_their_quality_findings(validator: Validator) -> None:
    iqbal = validator.validate(_seed("000_88a5c554b0bac8dd.txt"))
    mordatch = validator.validate(_seed("004_7f9c7e5bf4acffa9.txt"))
    assert iqbal.conforms and mordatch.conforms
    assert not iqbal.violations and not mordatch.violations
    shapes = {name: {f.shape.rsplit("#", 1)[1] for f in report.findings}
              for name, report in (("iqbal", iqbal), ("mordatch", mordatch))}
    assert {"HIndexWithinPaperCountShape", "HIndexWithinCitationsShape"} <= shapes["iqbal"]
    assert "HIndexWithinPaperCountShape" in shapes["mordatch"]
    assert "HIndexWithinCitationsShape" not in shapes["mordatch"]  # 117² = 13,689 <= 35,895
    assert "ListedPapersShape" not in shapes["iqbal"]  # 15 listed, 15 declared
    assert [w.message for w in iqbal.warnings if w.shape.endswith("PaperCountShape")] == [
        "h-index 117 is greater than the number of papers 15: an h-index of h needs at least h papers"]
    assert [w.message for w in mordatch.warnings if w.shape.endswith("PaperCountShape")] == [
        "h-index 117 is greater than the number of papers 67: an h-index of h needs at least h papers"]
    (listed,) = [f for f in mordatch.infos if f.shape.endswith("ListedPapersShape")]
    assert listed.message.startswith("the profile lists 50 papers but declares 67")


def test_sparql_constraints_are_parsed_once(validator: Validator) -> None:
    graph = _seed("000_88a5c554b0bac8dd.txt")
    validator.validate(graph)
    before = validate_module._prepared.cache_info()
    validator.validate(graph)
    after = validate_module._prepared.cache_info()
    assert after.misses == before.misses
    assert after.hits > before.hits


# ------------------------------------------------------------------------------------------ the shapes


def test_the_shapes_are_well_formed_shacl() -> None:
    conforms, _, text = pyshacl.validate(load_shapes(), meta_shacl=True, shacl_graph=Graph())
    assert conforms, text


def test_every_shape_is_named_labelled_explained_and_has_a_severity_and_message() -> None:
    for path in shapes_files():
        graph = Graph().parse(path, format="turtle")
        shapes = set(graph.subjects(RDF.type, SH.NodeShape)) | set(graph.subjects(RDF.type, SH.PropertyShape))
        allowed = {SH.Violation} if path.stem == "structure" else {SH.Warning, SH.Info}
        for shape in shapes:
            assert isinstance(shape, URIRef) and shape.startswith(str(SKGSH)), shape
            assert graph.value(shape, RDFS.label) and graph.value(shape, RDFS.comment), shape
            assert graph.value(shape, SH.severity) in allowed, shape
            constraint = graph.value(shape, SH.sparql)
            assert graph.value(constraint or shape, SH.message), shape
            if constraint is not None:
                assert "severity" not in str(graph.value(constraint, SH.select)).lower(), shape


def test_shapes_target_by_class() -> None:
    graph = load_shapes()
    targeted = {s for p in (SH.targetClass, SH.targetObjectsOf) for s in graph.subjects(p, None)}
    top_level = set(graph.subjects(RDF.type, SH.NodeShape)) | set(graph.subjects(RDF.type, SH.PropertyShape))
    assert top_level == targeted
    assert not set(graph.subjects(SH.targetNode, None)) and not set(graph.subjects(SH.targetSubjectsOf, None))


def test_the_validator_hands_pyshacl_graphs_and_no_inference(monkeypatch: pytest.MonkeyPatch,
                                                              conforming: Graph) -> None:
    calls: list[tuple[object, dict[str, object]]] = []
    real = pyshacl.validate

    def spy(data: object, **kwargs: object) -> object:
        calls.append((data, kwargs))
        return real(data, **kwargs)

    monkeypatch.setattr(validate_module.pyshacl, "validate", spy)
    Validator().validate(conforming)
    ((data, kwargs),) = calls
    assert isinstance(data, Graph) and isinstance(kwargs["shacl_graph"], Graph)
    assert kwargs["inference"] == "none" and not kwargs.get("ont_graph")


def test_an_empty_report_and_compact_names() -> None:
    report = ValidationReport(True, ())
    assert report.violations == report.warnings == report.infos == ()
    assert compact("https://w3id.org/scholarkg/ontology#title") == "skg:title"
    assert compact("https://example.org/x") == "<https://example.org/x>"


# ------------------------------------------------------------------------------------------ across documents

DOC_A = PREFIXES + """
paper:p1 skg:title "Notes on the Analytical Engine" ; skg:publicationDate "1843-09-01"^^xsd:date ;
    skg:hasAuthorship slot1:1 .
slot1:1 skg:agent person:ada-lovelace ; skg:nameAsPrinted "Ada Lovelace" .
"""
DOC_B = PREFIXES + """
paper:p1 skg:title "Notes on the analytical engine" ; skg:publicationDate "1843-10-01"^^xsd:date ;
    skg:hasAuthorship slot1:1 .
slot1:1 skg:agent person:ada-lovelace ; skg:nameAsPrinted "ADA LOVELACE" .
"""
DOC_C = DOC_A  # agrees with DOC_A: no finding of its own


def _oxigraph_query(documents: dict[str, str]) -> validate_module.QueryFunction:
    store = pyoxigraph.Store()
    for name, text in documents.items():
        for graph in (f"{BASE}graph/{name}", f"{BASE}graph/{name}/inferred"):  # the inferred graph is not listed
            store.load(text.encode(), pyoxigraph.RdfFormat.TURTLE, to_graph=pyoxigraph.NamedNode(graph))

    def run(query: str) -> Iterable[Mapping[str, object]]:
        solutions = store.query(query)
        names = [v.value for v in solutions.variables]  # type: ignore[union-attr]
        return [{n: s[n] for n in names if s[n] is not None} for s in solutions]  # type: ignore[union-attr]

    return run


def test_cross_document_conflicts_are_found() -> None:
    findings = cross_document_findings(_oxigraph_query({"a": DOC_A, "b": DOC_B, "c": DOC_C}))
    by_shape = {f.shape.rsplit("#", 1)[1]: f for f in findings}
    assert set(by_shape) == {"PaperTitleConflict", "PaperDateConflict", "AgentNameVariants"}
    assert all(f.severity == "Warning" for f in findings)
    title = by_shape["PaperTitleConflict"]
    assert (title.focus_node, title.path) == (P1, "https://w3id.org/scholarkg/ontology#title")
    assert title.message == ('one paper with different titles: "Notes on the Analytical Engine" in '
                             f"<{BASE}graph/a>, <{BASE}graph/c>; \"Notes on the analytical engine\" in <{BASE}graph/b>")
    assert by_shape["AgentNameVariants"].focus_node == ADA
    assert '"ADA LOVELACE" in' in by_shape["AgentNameVariants"].message


def test_agreeing_documents_have_no_cross_document_finding() -> None:
    assert cross_document_findings(_oxigraph_query({"a": DOC_A, "c": DOC_C})) == []


def test_cross_document_rows_may_be_plain_strings() -> None:
    rows = {"PaperDateConflict": [{"focus": P1, "value": "1843-09-01", "graph": BASE + "graph/a"},
                                  {"focus": P1, "value": "1843-10-01", "graph": BASE + "graph/b"}]}
    (finding,) = cross_document_findings(
        lambda query: next((r for name, r in rows.items() if CROSS_DOCUMENT_QUERIES[name] == query), []))
    assert finding.to_text() == (f'Warning: <{P1}> skg:publicationDate: one paper with different publication dates: '
                                 f'"1843-09-01" in <{BASE}graph/a>; "1843-10-01" in <{BASE}graph/b>')
    assert finding.value == "1843-09-01"


def test_every_cross_document_check_is_declared_in_the_shapes() -> None:
    graph = load_shapes()
    for name, query in CROSS_DOCUMENT_QUERIES.items():
        assert (SKGSH[name], RDF.type, SKGSH.CrossDocumentCheck) in graph
        assert graph.value(SKGSH[name], RDFS.comment)
        assert query.lstrip().startswith("PREFIX") and "SELECT" in query
