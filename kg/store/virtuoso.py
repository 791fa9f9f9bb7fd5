"""What Virtuoso 7 needs beyond the SPARQL 1.1 protocols: request text that keeps its system graphs out of the
union default graph, graph replacement as one update operation, and its limits on one request and one answer.

Found by trying Virtuoso 7.2.5 (Debian); docs/scaling.md says what is atomic there. Knows nothing of HTTP clients.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from urllib.parse import urlsplit

import pyoxigraph
from pyoxigraph import RdfFormat

from kg.errors import StoreError
from kg.store.rdf import as_bytes, node

# Graphs a replacement is staged in before one operation moves them into place; also kept out of queries.
STAGING = "urn:x-scholarkg:staging:"
# A graph that never exists: named in a dataset to make its named part empty (Virtuoso treats "no
# named-graph-uri" as "every graph", where the protocol means "none").
NO_GRAPH = "urn:x-scholarkg:no-graph"
# Triples per INSERT DATA request: Virtuoso refuses a request that compiles to more than 10,000 lines of SQL
# (about 1,000 to 1,500 triples) and one whose parser stack overflows (about 5,000 triples in one block).
INSERT_BATCH = 400
_TRANSIENT = re.compile(r"\b40001\b|\bSR172\b|retry", re.IGNORECASE)
# Graphs a fresh Virtuoso 7.2 holds in the same quad store as the data; the host-named ones are named after
# [URIQA] DefaultHost (localhost:8890 unless configured), so the endpoint's own host:port is added too.
_SYSTEM_GRAPHS = ("http://www.openlinksw.com/schemas/virtrdf#", "http://www.w3.org/ns/ldp#",
                  "http://www.w3.org/2002/07/owl#")
_HOST_GRAPHS = ("sparql", "DAV/")


def system_graphs(endpoint_url: str) -> frozenset[str]:
    """The graphs of Virtuoso's own that would otherwise show in the union default graph and in GRAPH ?g."""
    hosts = {"localhost:8890", urlsplit(endpoint_url).netloc.rpartition("@")[2]}
    return frozenset(_SYSTEM_GRAPHS) | {f"http://{host}/{path}" for host in hosts for path in _HOST_GRAPHS}


def is_virtuoso(server_header: str) -> bool:
    """Whether an HTTP `Server` header names Virtuoso (e.g. `Virtuoso/07.20.3229 (Linux) …`)."""
    return server_header.strip().lower().startswith("virtuoso")


def exclusion_prologue(graphs: Iterable[str]) -> str:
    """Virtuoso pragmas that take `graphs` out of a query's default graph and out of its named graphs."""
    return "".join(f"define input:default-graph-exclude {node(g)}\ndefine input:named-graph-exclude {node(g)}\n"
                   for g in sorted(set(graphs)))


def swap_operation(drop: Sequence[str], staged: Sequence[tuple[str, str]]) -> str:
    """One update operation that empties the graphs `drop` and copies each staging graph into its target.

    One operation, because Virtuoso commits the operations of a request one by one: a later one failing
    leaves the earlier ones applied. Its deletions happen before its insertions, as SPARQL 1.1 Update says,
    so a triple both in an old graph and in its replacement stays.
    """
    branches = []
    if drop:
        branches.append("{ VALUES ?g { " + " ".join(str(node(g)) for g in drop) + " } GRAPH ?g { ?s ?p ?o } }")
    if staged:
        pairs = " ".join(f"({node(stage)} {node(target)})" for stage, target in staged)
        branches.append("{ VALUES (?stage ?t) { " + pairs + " } GRAPH ?stage { ?s ?p ?o } }")
    if not branches:
        return ""
    return ("DELETE { GRAPH ?g { ?s ?p ?o } } INSERT { GRAPH ?t { ?s ?p ?o } }\nWHERE {\n  "
            + "\n  UNION\n  ".join(branches) + "\n}")


def drop_operations(graphs: Iterable[str]) -> str:
    return " ;\n".join(f"DROP SILENT GRAPH {node(g)}" for g in graphs)


def insert_requests(graph: str, ntriples: bytes) -> Iterator[str]:
    """Update requests that add an N-Triples blob to `graph`, each small enough for Virtuoso.

    Virtuoso refuses blank nodes in INSERT DATA: a blob with blank nodes goes as one INSERT … WHERE {}, whose
    template may hold them, in one request so that each label stays one node (it must fit in one request).
    """
    triples = list(pyoxigraph.parse(ntriples, RdfFormat.N_TRIPLES))
    target = node(graph)
    if any(isinstance(term, pyoxigraph.BlankNode) for triple in triples for term in (triple.subject, triple.object)):
        yield f"INSERT {{ GRAPH {target} {{\n{_ntriples(triples)}}} }} WHERE {{ }}"
        return
    for start in range(0, len(triples), INSERT_BATCH):
        yield f"INSERT DATA {{ GRAPH {target} {{\n{_ntriples(triples[start:start + INSERT_BATCH])}}} }}"


def transient(detail: str) -> bool:
    """Whether a failure is one Virtuoso asks to retry (deadlock, or a transaction cut by a checkpoint)."""
    return bool(_TRANSIENT.search(detail))


def check_not_cut(max_rows_header: str | None, url: str) -> None:
    """StoreError when Virtuoso says (header X-SPARQL-MaxRows) that it returned as many rows as it ever will."""
    if max_rows_header is not None:
        raise StoreError(f"{url}: the server stops answers at {max_rows_header.strip()} rows ([SPARQL] "
                         "ResultSetMaxRows in virtuoso.ini), so this answer may be cut; expected a complete "
                         "answer: raise ResultSetMaxRows above KG_MAX_ROWS, or add a smaller LIMIT")


def _ntriples(triples: list[pyoxigraph.Triple]) -> str:
    return as_bytes(pyoxigraph.serialize(triples, format=RdfFormat.N_TRIPLES)).decode()
