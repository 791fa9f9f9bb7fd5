"""Whole-graph exports: N-Quads/TriG keep every named graph; Turtle/JSON-LD hold the merge of all graphs."""

from __future__ import annotations

from collections.abc import Iterator

from rdflib import Graph

from kg.errors import UsageError
from kg.jsonld import graph_to_jsonld
from kg.query import run_query
from kg.store import Store
from kg.vocab import PREFIXES

EXPORT_FORMATS = ("turtle", "jsonld", "nquads", "trig")
MEDIA_TYPES = {
    "turtle": "text/turtle",
    "jsonld": "application/ld+json",
    "nquads": "application/n-quads",
    "trig": "application/trig",
}
_PROLOGUE = "".join(f"PREFIX {prefix}: <{iri}>\n" for prefix, iri in PREFIXES.items())
# The merge of all graphs: a triple asserted by two documents is written once.
MERGE_QUERY = _PROLOGUE + "CONSTRUCT { ?s ?p ?o } WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"


def export_chunks(store: Store, format: str, *, graph: str | None = None) -> Iterator[bytes]:
    """The export as a stream of byte chunks; `graph` limits it to one named graph."""
    check_export_format(format)
    if format == "jsonld":
        return iter([graph_to_jsonld(_merged_graph(store, graph))])
    if format in ("nquads", "trig") or graph is not None:
        return store.dump(format, graph)
    outcome = run_query(store, MERGE_QUERY, accept="turtle", max_rows=2**62)
    return outcome.body


def check_export_format(format: str) -> None:
    """UsageError unless `format` is one of EXPORT_FORMATS."""
    if format not in EXPORT_FORMATS:
        raise UsageError(f"--format {format!r}: expected one of {', '.join(EXPORT_FORMATS)}")


def _merged_graph(store: Store, graph: str | None) -> Graph:
    merged = Graph()
    for prefix, iri in PREFIXES.items():
        merged.bind(prefix, iri)
    if graph is not None:
        merged.parse(data=store.graph_ntriples(graph), format="nt")
        return merged
    outcome = run_query(store, MERGE_QUERY, accept="ntriples", max_rows=2**62)
    merged.parse(data=b"".join(outcome.body), format="nt")
    return merged
