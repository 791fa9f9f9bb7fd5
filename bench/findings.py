"""Validation findings as comparable keys (severity, focus node, path, shape), from kg reports or pyshacl graphs.

Blank-node shapes (nested property shapes) have no identity across processes: they compare as "_:".
"""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import RDF, SH, BNode, Graph, URIRef

from kg.validate import ValidationReport

FindingKey = tuple[str, str, str, str]


def shape_key(shape: str) -> str:
    """The shape IRI, or "_:" for a blank node (rdflib prints blank nodes without a scheme)."""
    return shape if ":" in shape else "_:"


def report_keys(report: ValidationReport) -> set[FindingKey]:
    """The keys of one kg.validate report."""
    return {(f.severity, f.focus_node, f.path or "", shape_key(f.shape)) for f in report.findings}


def graph_keys(report: Graph) -> set[FindingKey]:
    """The keys of a raw pyshacl results graph (as kg.validate reads it: a non-IRI path counts as none)."""
    keys: set[FindingKey] = set()
    for result in report.subjects(RDF.type, SH.ValidationResult):
        severity = str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1]
        path = report.value(result, SH.resultPath)
        shape = report.value(result, SH.sourceShape)
        keys.add((severity, str(report.value(result, SH.focusNode)), str(path) if isinstance(path, URIRef) else "",
                  "_:" if isinstance(shape, BNode) else str(shape)))
    return keys


def to_json(keys: Iterable[FindingKey]) -> list[list[str]]:
    return [list(key) for key in sorted(keys)]


def from_json(rows: Iterable[list[str]]) -> set[FindingKey]:
    return {(r[0], r[1], r[2], r[3]) for r in rows}


def compare(reference: set[FindingKey], other: set[FindingKey], shown: int = 10) -> dict[str, object]:
    """Equal or not, with counts and a few examples of each difference."""
    only_reference, only_other = sorted(reference - other), sorted(other - reference)
    return {
        "equal": not only_reference and not only_other,
        "reference": len(reference),
        "other": len(other),
        "only_in_reference": [list(k) for k in only_reference[:shown]],
        "only_in_other": [list(k) for k in only_other[:shown]],
        "only_in_reference_count": len(only_reference),
        "only_in_other_count": len(only_other),
    }
