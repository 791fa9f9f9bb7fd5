"""Prototypes of faster ingest steps, measured against the project's own steps on the same documents.

Each prototype is a candidate change to kg/ (see docs/benchmarks.md); it must give the same bytes, quads or
findings as the step it replaces, and `python -m bench fastpaths` checks that while timing both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyoxigraph
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from bench.findings import FindingKey, report_keys
from kg.validate import Validator

Triple = tuple[Node, Node, Node]


class NTriplesWriter:
    """N-Triples exactly as rdflib's `nt` serializer writes them (same escaping), without its per-term checks.

    IRIs are validated once when minted (kg.vocab), so the writer only caches their `<…>` form.
    """

    def __init__(self) -> None:
        self._iris: dict[URIRef, str] = {}

    def term(self, node: Node) -> str:
        if isinstance(node, Literal):
            return _literal(node)
        if isinstance(node, URIRef):
            text = self._iris.get(node)
            if text is None:
                text = self._iris[node] = node.n3()  # n3() refuses IRIs N-Triples cannot carry
            return text
        if isinstance(node, BNode):
            return f"_:{node}"
        raise TypeError(f"N-Triples: expected an IRI, blank node or literal, got {node!r}")

    def lines(self, triples: Iterable[Triple], graph: str | None = None) -> str:
        """N-Triples, or N-Quads when `graph` (an IRI) is given."""
        term = self.term
        end = " .\n" if graph is None else f" <{graph}> .\n"
        return "".join(f"{term(s)} {term(p)} {term(o)}{end}" for s, p, o in triples)

    def ntriples(self, triples: Iterable[Triple]) -> bytes:
        return self.lines(triples).encode("utf-8")


def _literal(literal: Literal) -> str:
    quoted = '"' + literal.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"').replace("\r", "\\r") + '"'
    if literal.language:
        return f"{quoted}@{literal.language}"
    if literal.datatype:
        return f"{quoted}^^<{literal.datatype}>"
    return quoted


# ------------------------------------------------------------------------------------------------- commit
def nquads_from_ntriples(graphs: Iterable[tuple[str, bytes]]) -> bytes:
    """One N-Quads document from (graph IRI, N-Triples) pairs written by a serializer (one triple per line).

    Valid only for serializer output: a line of N-Triples ends in " .\\n" and nowhere else (newlines inside
    literals are escaped); untrusted N-Triples must be parsed instead (`quads_from_ntriples`).
    """
    return b"".join(blob.replace(b" .\n", f" <{iri}> .\n".encode()) for iri, blob in graphs)


def quads_from_ntriples(graphs: Iterable[tuple[str, bytes]], merged_default: bool = True) -> list[pyoxigraph.Quad]:
    """The quads of (graph IRI, N-Triples) pairs, parsed by pyoxigraph (safe for any input); with
    `merged_default`, each triple also in the default graph (the merge kg.store's embedded store maintains)."""
    quads: list[pyoxigraph.Quad] = []
    for iri, blob in graphs:
        graph = pyoxigraph.NamedNode(iri)
        for q in pyoxigraph.parse(blob, pyoxigraph.RdfFormat.N_TRIPLES):
            quads.append(pyoxigraph.Quad(q.subject, q.predicate, q.object, graph))
            if merged_default:
                quads.append(pyoxigraph.Quad(q.subject, q.predicate, q.object))
    return quads


def load_new_graphs(store: pyoxigraph.Store, graphs: Sequence[tuple[str, bytes]], merged_default: bool = True) -> bool:
    """Add documents whose graphs are all new in ONE transaction (`Store.load`); False (nothing done) otherwise.
    N-Quads lines without a graph go to the default graph: the triples again, for the merged default graph."""
    if any(store.contains_named_graph(pyoxigraph.NamedNode(iri)) for iri, _ in graphs):
        return False
    default = b"".join(blob for _, blob in graphs) if merged_default else b""
    store.load(nquads_from_ntriples(graphs) + default, pyoxigraph.RdfFormat.N_QUADS)
    return True


# --------------------------------------------------------------------------------------------- validation
def validate_batch(validator: Validator, graphs: Sequence[Graph]) -> tuple[list[set[FindingKey]], bool]:
    """Validate several documents in ONE pyshacl call; each finding goes to the documents holding its focus node.

    Also returns whether the result is trustworthy per document: False when a finding's focus node is shared
    by two documents of the batch (their merged values may break a count that neither breaks alone), in which
    case the caller must validate those documents one by one.
    """
    merged = Graph()
    for graph in graphs:
        merged += graph
    keys = report_keys(validator.validate(merged))
    per_document: list[set[FindingKey]] = [set() for _ in graphs]
    exact = True
    for key in keys:
        focus = URIRef(key[1])
        holders = [i for i, graph in enumerate(graphs) if (focus, None, None) in graph]
        exact &= len(holders) == 1
        for i in holders:
            per_document[i].add(key)
    return per_document, exact
