"""Writes rdflib terms as N-Triples without building an rdflib Graph (for triples computed as a plain set)."""

from __future__ import annotations

from collections.abc import Iterable

from rdflib.term import BNode, Literal, Node, URIRef

Triple = tuple[Node, Node, Node]


def ntriples(triples: Iterable[Triple]) -> bytes:
    """The triples, one per line, UTF-8, with rdflib's `nt` escaping: `\\\\`, `\\n`, `\\"` and `\\r` in literals,
    IRIs as given. Each IRI's `<…>` form is made once per call: rdflib's `n3()` checks it (it refuses IRIs
    N-Triples cannot carry), and a document repeats its IRIs many times. Nothing is kept between calls."""
    iris: dict[URIRef, str] = {}

    def term(node: Node) -> str:
        if isinstance(node, Literal):
            return _literal(node)
        if isinstance(node, URIRef):
            text = iris.get(node)
            if text is None:
                text = iris[node] = node.n3()
            return text
        if isinstance(node, BNode):
            return f"_:{node}"
        raise TypeError(f"N-Triples: expected an IRI, blank node or literal, got {node!r}")

    return "".join(f"{term(s)} {term(p)} {term(o)} .\n" for s, p, o in triples).encode("utf-8")


def _literal(literal: Literal) -> str:
    quoted = '"' + (literal.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
                    .replace("\r", "\\r")) + '"'
    if literal.language:
        return f"{quoted}@{literal.language}"
    if literal.datatype:
        return f"{quoted}^^<{literal.datatype}>"
    return quoted
