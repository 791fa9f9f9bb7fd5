"""Data-quality findings for an author's page: the quality shapes' own SPARQL constraints run on the store over
each of the author's snapshot graphs, and the cross-document checks bound to the author. No HTTP, no templates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from rdflib import SH, Graph

from kg.resources import shapes_files
from kg.server.sparqlrows import Row, ref, select, value
from kg.store import Store
from kg.vocab import SKG, SKGSH

Finding = dict[str, Any]  # {severity (IRI), message, focus (IRI), focus_label?, path?} as person.html shows it

_REPORTED = (SH.Warning, SH.Info)  # Violations never reach the store: ingest and writes refuse them
_PLACEHOLDER = re.compile(r"\{[?$](\w+)\}")
_RANK = {str(SH.Violation): 0, str(SH.Warning): 1, str(SH.Info): 2}
# Why the shapes' own queries and not pyshacl again: one definition of each check, and ~2 ms per snapshot at any
# store size (each query's dataset is one document's asserted graph) where pyshacl takes seconds per document.


@dataclass(frozen=True, slots=True)
class SnapshotCheck:
    """A SPARQL constraint of a shape targeting skg:ProfileSnapshot: its query, message template and severity."""

    shape: str
    severity: str
    query: str
    message: str

    def sparql(self, snapshot: str) -> str:
        """The query with `$this` pre-bound to `snapshot` (a trailing VALUES, as SHACL pre-binding means)."""
        return self.query.replace("$this", "?this") + f"\nVALUES ?this {{ {ref(snapshot)} }}"

    def finding(self, row: Row, snapshot: str) -> Finding:
        focus = value(row, "value") if row.get("value", {}).get("type") == "uri" else snapshot
        text = _PLACEHOLDER.sub(lambda m: value(row, m.group(1), snapshot if m.group(1) == "this" else ""),
                                self.message)
        return {"severity": self.severity, "message": text, "focus": focus, "path": value(row, "path") or None,
                "shape": self.shape}


@cache
def snapshot_checks() -> tuple[SnapshotCheck, ...]:
    """The Warning and Info SPARQL constraints of the bundled shapes on skg:ProfileSnapshot, read once."""
    shapes = Graph()
    for path in shapes_files():
        shapes.parse(path, format="turtle")
    checks = []
    for shape in sorted(shapes.subjects(SH.targetClass, SKG.ProfileSnapshot), key=str):
        severity = shapes.value(shape, SH.severity, default=SH.Violation)
        if severity not in _REPORTED or shapes.value(shape, SH.deactivated) is not None:
            continue
        for constraint in sorted(shapes.objects(shape, SH.sparql), key=str):
            query = shapes.value(constraint, SH.select)
            if query is not None:
                checks.append(SnapshotCheck(str(shape), str(severity), _prefixes(shapes, constraint) + str(query),
                                            str(shapes.value(constraint, SH.message, default=shape))))
    return tuple(checks)


def _prefixes(shapes: Graph, constraint: Any) -> str:
    lines = []
    for holder in shapes.objects(constraint, SH.prefixes):
        for declaration in shapes.objects(holder, SH.declare):
            lines.append(f"PREFIX {shapes.value(declaration, SH.prefix)}: <{shapes.value(declaration, SH.namespace)}>")
    return "\n".join(sorted(lines)) + "\n"


_NAME_VARIANTS = """
SELECT DISTINCT ?value ?graph WHERE {
  GRAPH ?graph { ?slot skg:agent $iri ; skg:nameAsPrinted ?value }
  FILTER (!STRENDS(STR(?graph), "/inferred"))
}
"""
# A UNION of constant predicates, not VALUES ?p: with a variable predicate inside GRAPH ?graph, pyoxigraph scanned
# every quad (216 ms at 1M triples; 0.3 ms this way).
_PAPER_CONFLICTS = """
SELECT DISTINCT ?focus ?p ?value ?graph WHERE {
  ?focus skg:hasAuthor $iri .
  { GRAPH ?graph { ?focus skg:title ?value } BIND (skg:title AS ?p) }
  UNION
  { GRAPH ?graph { ?focus skg:publicationDate ?value } BIND (skg:publicationDate AS ?p) }
  FILTER (!STRENDS(STR(?graph), "/inferred"))
}
"""
_LABELS = """
SELECT ?focus (MIN(?l) AS ?label) WHERE { VALUES ?focus { $focus } ?focus skg:title|skg:fileName|skg:name ?l }
GROUP BY ?focus
"""
_CONFLICTS = {str(SKG.title): "one paper with different titles", str(SKG.publicationDate):
              "one paper with different publication dates", str(SKG.nameAsPrinted): "one agent printed differently"}


def author_findings(store: Store, person: str, snapshots: Sequence[tuple[str, str]]) -> list[Finding]:
    """Findings about an author: the snapshot checks over each (snapshot, asserted graph) of `snapshots` and the
    cross-document conflicts (the author printed differently; the author's papers with two titles or dates)."""
    found: list[Finding] = []
    for snapshot, graph in snapshots:
        for check in snapshot_checks():
            found += [check.finding(row, snapshot) for row in select(store, check.sparql(snapshot), graphs=[graph])]
    names = select(store, _NAME_VARIANTS, iri=ref(person))
    found += _conflicts({(person, str(SKG.nameAsPrinted)): names})
    grouped: dict[tuple[str, str], list[Row]] = {}
    for row in select(store, _PAPER_CONFLICTS, iri=ref(person)):
        grouped.setdefault((value(row, "focus"), value(row, "p")), []).append(row)
    found += _conflicts(grouped)
    _label_focus(store, found)
    return sorted(found, key=lambda f: (_RANK.get(f["severity"], 3), f["message"], f["focus"]))


def _conflicts(groups: dict[tuple[str, str], list[Row]]) -> list[Finding]:
    findings = []
    for (focus, path), rows in sorted(groups.items()):
        values: dict[str, set[str]] = {}
        for row in rows:
            values.setdefault(value(row, "value"), set()).add(value(row, "graph"))
        if len(values) > 1:
            shown = "; ".join(f"“{text}” in {', '.join(sorted(graphs))}" for text, graphs in sorted(values.items()))
            findings.append({"severity": str(SH.Warning), "message": f"{_CONFLICTS[path]}: {shown}",
                             "focus": focus, "path": path, "shape": str(SKGSH.term(_shape_of(path)))})
    return findings


def _shape_of(path: str) -> str:
    return {str(SKG.title): "PaperTitleConflict", str(SKG.publicationDate): "PaperDateConflict"}.get(
        path, "AgentNameVariants")


def _label_focus(store: Store, findings: list[Finding]) -> None:
    """Give each finding's focus (a paper, snapshot or agent) its title, file name or name as link label."""
    focus = sorted({f["focus"] for f in findings})
    if not focus:
        return
    labels = {value(r, "focus"): value(r, "label")
              for r in select(store, _LABELS, focus=" ".join(ref(iri) for iri in focus))}
    for finding in findings:
        if finding["focus"] in labels:
            finding["focus_label"] = labels[finding["focus"]]
