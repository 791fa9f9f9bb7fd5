"""pyoxigraph terms, formats and request text shared by the embedded and the remote store.

With the rest of `kg.store`, the only code that imports pyoxigraph.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeAlias

import pyoxigraph
from pyoxigraph import QueryBoolean, QuerySolutions, QueryTriples, RdfFormat, Triple, serialize

from kg.errors import InputError, UsageError

# What Store.query returns: pyoxigraph's own result objects (a remote CONSTRUCT gives an iterator of Triple).
QueryResult: TypeAlias = QuerySolutions | QueryBoolean | QueryTriples | Iterator[Triple]
GraphNode: TypeAlias = pyoxigraph.NamedNode | pyoxigraph.BlankNode

RDF_FORMATS: dict[str, RdfFormat] = {
    "nquads": RdfFormat.N_QUADS,
    "trig": RdfFormat.TRIG,
    "turtle": RdfFormat.TURTLE,
    "ntriples": RdfFormat.N_TRIPLES,
    "rdfxml": RdfFormat.RDF_XML,
    "jsonld": RdfFormat.JSON_LD,
}
# Formats whose documents can be concatenated, so that dumps stream in batches. Loads accept the same ones:
# RDF/XML can carry entity bombs that abort the process, JSON-LD can name remote contexts.
DUMP_FORMATS = ("nquads", "trig", "turtle", "ntriples")
BATCH = 50_000  # quads per serialised chunk of a dump


def replace_update(drop: Iterable[str], add: Iterable[tuple[str | None, bytes]]) -> str:
    """One SPARQL Update request: drop the graphs `drop`, then insert each N-Triples blob into its graph.

    Each blob is parsed and re-serialised by pyoxigraph, so the request text is well-formed whatever the input,
    and its blank nodes are renamed so that two blobs never share one. A graph None is the default graph.
    Raises InputError for a graph name that is not an absolute IRI or a blob that is not N-Triples.
    """
    operations = [f"DROP SILENT GRAPH {node(graph)}" for graph in drop]
    blocks = [_insert_block(graph, blob) for graph, blob in add]
    if blocks:
        operations.append("INSERT DATA {\n" + "".join(blocks) + "}")
    return " ;\n".join(operations)


def _insert_block(graph: str | None, blob: bytes) -> str:
    try:
        quads = pyoxigraph.parse(blob, RdfFormat.N_TRIPLES, rename_blank_nodes=True)
        text = as_bytes(serialize(quads, format=RdfFormat.N_QUADS)).decode()
    except SyntaxError as error:
        where = "the default graph" if graph is None else f"graph <{graph}>"
        raise InputError(f"N-Triples for {where}: {error}; expected valid N-Triples") from None
    return text if graph is None else f"GRAPH {node(graph)} {{\n{text}}}\n"


def node(value: str) -> pyoxigraph.NamedNode:
    """The graph name `value` as a pyoxigraph IRI; its str() is the `<…>` form, safe to splice into SPARQL."""
    try:
        return pyoxigraph.NamedNode(value)
    except ValueError as error:
        raise InputError(f"graph name {value!r}: expected an absolute IRI ({error})") from None


def graph_name(term: object) -> str:
    """A graph name as text: the IRI, or `_:label` for a blank node."""
    if isinstance(term, pyoxigraph.NamedNode):
        return term.value
    if isinstance(term, pyoxigraph.BlankNode):
        return f"_:{term.value}"
    raise InputError(f"expected a graph name, got {term!r}")


def as_bytes(data: bytes | None) -> bytes:
    return b"" if data is None else data


def rdf_format(name: str, allowed: Sequence[str] = DUMP_FORMATS) -> RdfFormat:
    if name not in allowed:
        raise UsageError(f"format {name!r}: expected one of {', '.join(allowed)}")
    return RDF_FORMATS[name]


def dump_format(name: str, graph: str | None) -> RdfFormat:
    fmt = rdf_format(name)
    if graph is None and not fmt.supports_datasets:
        raise UsageError(f"format {name!r} holds one graph: name a graph, or dump everything as nquads or trig")
    return fmt


def load_target(fmt: RdfFormat, graph: str | None) -> pyoxigraph.NamedNode | pyoxigraph.DefaultGraph | None:
    """Where a load puts triples: `graph`, or the default graph; None for formats that name their own graphs."""
    if fmt.supports_datasets:
        if graph is not None:
            raise UsageError(f"{fmt.name} names its own graphs; expected no target graph")
        return None
    return pyoxigraph.DefaultGraph() if graph is None else node(graph)


def serialize_batches(quads: Iterator[pyoxigraph.Quad], fmt: RdfFormat) -> Iterator[bytes]:
    """Chunks of the serialisation; each chunk is a complete document and their concatenation is one too."""
    while batch := list(itertools.islice(quads, BATCH)):
        items: list[pyoxigraph.Quad] | list[Triple] = batch if fmt.supports_datasets else [q.triple for q in batch]
        yield as_bytes(serialize(items, format=fmt))
