"""Checks one document's asserted graph against the SHACL shapes (the only importer of pyshacl) into a typed report.

Also holds the cross-document checks, SPARQL queries the ingest/server runs over the store. Knows no store and
no reasoner: the graph given is validated as asserted, with no inference and no ontology mixed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, cast

import pyshacl
from rdflib import RDF, SH, XSD, Graph
from rdflib import Literal as RDFLiteral
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query
from rdflib.term import Identifier, Node, URIRef

from kg.resources import shapes_files
from kg.vocab import PREFIXES, SKG, SKGSH

Severity = Literal["Violation", "Warning", "Info"]
_SEVERITY_RANK: dict[str, int] = {"Violation": 0, "Warning": 1, "Info": 2}
_COUNT_COMPONENTS = {SH.MinCountConstraintComponent, SH.MaxCountConstraintComponent}
_SELF_DESCRIBING_COMPONENTS = {SH.SPARQLConstraintComponent} | _COUNT_COMPONENTS
_SHOWN_CHARACTERS = 80


@dataclass(frozen=True, slots=True)
class Finding:
    """One result: its severity, the node it is about, the property path and value concerned, in words.

    IRIs are plain strings; `path` and `value` are None when the check concerns the node as a whole; an inverse
    path is written `^` + IRI. A literal value is given by its lexical form.
    """

    severity: Severity
    focus_node: str
    path: str | None
    value: str | None
    message: str
    shape: str

    def to_text(self) -> str:
        """One line: `Violation: <focus> skg:title: expected exactly one title, a non-empty string, found 2`."""
        where = f" {compact(self.path)}" if self.path else ""
        return f"{self.severity}: {compact(self.focus_node)}{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The findings of one validation; `conforms` is True when none of them is a Violation."""

    conforms: bool
    findings: tuple[Finding, ...]
    graph: Graph | None = field(default=None, compare=False, repr=False)  # None once dropped (without_graph)

    @property
    def violations(self) -> tuple[Finding, ...]:
        return self._of("Violation")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return self._of("Warning")

    @property
    def infos(self) -> tuple[Finding, ...]:
        return self._of("Info")

    def _of(self, severity: Severity) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == severity)

    def to_text(self) -> str:
        """One line per finding, Violations first; "" when there is none."""
        return "\n".join(finding.to_text() for finding in self.findings)

    def to_graph(self) -> Graph:
        """The SHACL validation report as RDF (`sh:ValidationReport`), e.g. for an HTTP 422 body."""
        if self.graph is None:
            raise ValueError("this report kept its findings only (without_graph); validate again for the RDF")
        return self.graph

    def without_graph(self) -> ValidationReport:
        """The same findings without pyshacl's report graph (~55 KB a document): light to keep and to pickle."""
        return ValidationReport(self.conforms, self.findings)


class Validator:
    """Validates documents against the bundled shapes (or the `shapes` given), read once at construction."""

    def __init__(self, shapes: Graph | None = None) -> None:
        self.shapes = shapes if shapes is not None else load_shapes()

    def validate(self, data: Graph) -> ValidationReport:
        """Validate one document's asserted graph; the graph is neither copied nor changed."""
        _, results, _ = pyshacl.validate(
            _QueryCachingGraph(store=data.store, identifier=data.identifier, bind_namespaces="none"),
            shacl_graph=self.shapes,  # a Graph, never a string: pyshacl would fetch a string that looks like a URL
            inference="none",  # reasoning happens once, elsewhere (kg/reason.py)
            advanced=False,
            allow_warnings=True,  # so that the report graph's sh:conforms means "no Violation", as ours does
            allow_infos=True,
        )
        report_graph = cast(Graph, results)
        findings = tuple(sorted(_findings(report_graph, data), key=_order))
        return ValidationReport(not any(f.severity == "Violation" for f in findings), findings, report_graph)


def load_shapes() -> Graph:
    """The bundled shapes (`shapes/*.ttl`) as one graph."""
    graph = Graph()
    for path in shapes_files():
        graph.parse(path, format="turtle")
    return graph


class _QueryCachingGraph(Graph):
    """A view of a data graph whose SPARQL texts are parsed once per process.

    pyshacl hands a SPARQL constraint to rdflib as text once per focus node; parsing costs ~12 ms and
    evaluating ~0.4 ms, so parsing each distinct text once makes SPARQL-based shapes affordable.
    """

    def query(self, query_object: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(query_object, str):
            query_object = _prepared(query_object)
        return super().query(query_object, *args, **kwargs)


@lru_cache(maxsize=256)
def _prepared(text: str) -> Query:
    return prepareQuery(text)


def _findings(report: Graph, data: Graph) -> Iterable[Finding]:
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        path = _path(report, report.value(result, SH.resultPath))
        value = report.value(result, SH.value)
        component = report.value(result, SH.sourceConstraintComponent)
        messages = sorted(str(m) for m in report.objects(result, SH.resultMessage))
        message = "; ".join(messages) or _local_name(component)
        yield Finding(
            severity=cast(Severity, _local_name(report.value(result, SH.resultSeverity))),
            focus_node=str(focus),
            path=path,
            value=None if value is None else str(value),
            message=message + _detail(data, component, focus, path, value),
            shape=str(report.value(result, SH.sourceShape)),
        )


def _path(report: Graph, path: Node | None) -> str | None:
    """A predicate path as its IRI, an inverse path as `^IRI`; None for none (or other path kinds, unused here)."""
    if isinstance(path, URIRef):
        return str(path)
    inverse = None if path is None else report.value(path, SH.inversePath)
    return f"^{inverse}" if isinstance(inverse, URIRef) else None


def _detail(data: Graph, component: Node | None, focus: Node | None, path: str | None, value: Node | None) -> str:
    """What was found, for results whose message cannot say it: how many values, or the offending value."""
    if component in _COUNT_COMPONENTS and path and isinstance(focus, URIRef):
        inverse = path.startswith("^")
        predicate = URIRef(path.lstrip("^"))
        found = data.subjects(predicate, focus) if inverse else data.objects(focus, predicate)
        return f", found {sum(1 for _ in found)}"
    if component in _SELF_DESCRIBING_COMPONENTS or value is None or value == focus:
        return ""
    return f", got {show(value)}"


def _order(finding: Finding) -> tuple[int, str, str, str, str]:
    return (_SEVERITY_RANK[finding.severity], finding.focus_node, finding.path or "", finding.message,
            finding.value or "")


def _local_name(node: Node | None) -> str:
    text = str(node or "")
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def compact(iri: str) -> str:
    """`skg:title` for an IRI in a known namespace (kg.vocab.PREFIXES), else `<iri>`; `^skg:lists` for `^IRI`."""
    if iri.startswith("^"):
        return "^" + compact(iri[1:])
    for prefix, namespace in sorted(PREFIXES.items(), key=lambda item: -len(item[1])):
        local = iri[len(namespace):]
        if iri.startswith(namespace) and local and all(c.isalnum() or c in "_-." for c in local):
            return f"{prefix}:{local}"
    return f"<{iri}>"


def show(term: Node) -> str:
    """A term as a reader would write it in Turtle, long literals shortened."""
    if not isinstance(term, RDFLiteral):
        return compact(str(term)) if isinstance(term, URIRef) else str(term)
    text = str(term)
    text = text if len(text) <= _SHOWN_CHARACTERS else text[: _SHOWN_CHARACTERS - 1] + "…"
    shown = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if term.language:
        return f"{shown}@{term.language}"
    if term.datatype is not None and term.datatype != XSD.string:
        return f"{shown}^^{compact(str(term.datatype))}"
    return shown


# ------------------------------------------------------------------------------------ cross-document checks

QueryFunction = Callable[[str], Iterable[Mapping[str, object]]]

_CONFLICT_QUERY = """PREFIX skg: <https://w3id.org/scholarkg/ontology#>
SELECT DISTINCT ?focus ?value ?graph WHERE {{
    {{ SELECT ?focus WHERE {{ GRAPH ?g {{ {pattern} }} }} GROUP BY ?focus HAVING (COUNT(DISTINCT ?v) > 1) }}
    GRAPH ?graph {{ {value_pattern} }}
    FILTER (!STRENDS(STR(?graph), "/inferred"))
}}"""

#: Cross-document checks, by the local name of their `skgsh:` resource (declared in shapes/quality.ttl).
#: Each SELECT returns one row per (?focus, ?value, ?graph) of a node that carries more than one distinct
#: value across the store's named graphs; `cross_document_findings` turns the rows into Warnings. The
#: patterns read the named graphs only (GRAPH ?g), so they do not depend on the store's default graph.
CROSS_DOCUMENT_QUERIES: dict[str, str] = {
    "PaperTitleConflict": _CONFLICT_QUERY.format(
        pattern="?focus skg:title ?v", value_pattern="?focus skg:title ?value"),
    "PaperDateConflict": _CONFLICT_QUERY.format(
        pattern="?focus skg:publicationDate ?v", value_pattern="?focus skg:publicationDate ?value"),
    "AgentNameVariants": _CONFLICT_QUERY.format(
        pattern="?slot skg:agent ?focus ; skg:nameAsPrinted ?v",
        value_pattern="?slot skg:agent ?focus ; skg:nameAsPrinted ?value"),
}

_CROSS_DOCUMENT_CHECKS: dict[str, tuple[URIRef, str]] = {
    "PaperTitleConflict": (SKG.title, "one paper with different titles"),
    "PaperDateConflict": (SKG.publicationDate, "one paper with different publication dates"),
    "AgentNameVariants": (SKG.nameAsPrinted, "one agent printed differently"),
}


def cross_document_findings(query_fn: QueryFunction) -> list[Finding]:
    """Run every cross-document query through `query_fn` and return their findings (Warnings).

    `query_fn(sparql)` runs a SELECT over the store and yields one mapping per row, from variable name
    (without '?') to the bound term: rdflib or pyoxigraph terms, or plain strings.
    """
    findings: list[Finding] = []
    for name, query in CROSS_DOCUMENT_QUERIES.items():
        findings.extend(_conflicts(name, query_fn(query)))
    return sorted(findings, key=_order)


def _conflicts(name: str, rows: Iterable[Mapping[str, object]]) -> list[Finding]:
    path, what = _CROSS_DOCUMENT_CHECKS[name]
    seen: dict[str, dict[str, set[str]]] = {}
    for row in rows:
        graphs = seen.setdefault(_plain(row["focus"]), {}).setdefault(_plain(row["value"]), set())
        graphs.add(_plain(row["graph"]))
    return [
        Finding("Warning", focus, str(path), min(values), _conflict_message(what, values), str(SKGSH[name]))
        for focus, values in seen.items()
    ]


def _conflict_message(what: str, values: dict[str, set[str]]) -> str:
    shown = "; ".join(
        f"{show(RDFLiteral(value))} in {', '.join(compact(g) for g in sorted(graphs))}"
        for value, graphs in sorted(values.items())
    )
    return f"{what}: {shown}"


def _plain(term: object) -> str:
    """The IRI or lexical form of an rdflib term, a pyoxigraph term (`.value`) or a string."""
    if isinstance(term, Identifier):
        return str(term)
    value = getattr(term, "value", None)
    return value if isinstance(value, str) else str(term)
