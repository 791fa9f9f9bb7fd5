"""What Virtuoso 7 needs beyond the SPARQL 1.1 protocols: its system graphs kept private, graph replacement as
one update operation, and its limits on one request and one answer.

Found by trying Virtuoso 7.2.5 (Debian); docs/scaling.md says what is atomic there. Knows nothing of HTTP clients.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

import pyoxigraph
from pyoxigraph import RdfFormat

from kg.errors import StoreError
from kg.store.rdf import as_bytes, node

# Graphs a replacement is staged in before one operation moves them into place.
STAGING = "urn:x-scholarkg:staging:"
# A graph that never exists: named in a dataset to make its named part empty (Virtuoso treats "no
# named-graph-uri" as "every graph", where the protocol means "none").
NO_GRAPH = "urn:x-scholarkg:no-graph"
# Triples per INSERT DATA request. Virtuoso's parser stack overflows at about 5,000 triples in one block.
INSERT_BATCH = 2000
# Without it, Virtuoso compiles an INSERT DATA into SQL with its constants inlined: it then refuses more than
# ~1,000 triples (10,000 lines of SQL), and it merges constants of equal value, storing "false"^^xsd:boolean
# as a "0"^^xsd:nonNegativeInteger written before it, or "1"^^xsd:long as "1"^^xsd:integer. With it, the
# constants are passed as parameters and stored as written. (Templates, INSERT { … } WHERE { }, still merge.)
_AS_PARAMETERS = "define sql:big-data-const 1 "
# Virtuoso's Turtle loader (Graph Store protocol, bulk loader) stores an xsd:integer outside 32 bits as an
# xsd:decimal; INSERT DATA with _AS_PARAMETERS keeps it.
_LOADER_INTEGERS = range(-(2**31), 2**31)
_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
_TRANSIENT = re.compile(r"\b40001\b|\bSR172\b|retry", re.IGNORECASE)
# Graphs a fresh Virtuoso 7.2 keeps in the quad store beside the data; two are named after [URIQA] DefaultHost.
SYSTEM_GRAPHS = ("http://www.openlinksw.com/schemas/virtrdf#", "http://www.w3.org/ns/ldp#",
                 "http://www.w3.org/2002/07/owl#", "http://{host}/sparql", "http://{host}/DAV/")
# Whether a reader sees Virtuoso's system graphs: a cheap query whose `Server` header also names the server.
PROBE = f"ASK {{ GRAPH <{SYSTEM_GRAPHS[0]}> {{ ?s ?p ?o }} }}"
_PRIVATE = "http://www.openlinksw.com/schemas/virtrdf#PrivateGraphs"


def is_virtuoso(server_header: str) -> bool:
    """Whether an HTTP `Server` header names Virtuoso (e.g. `Virtuoso/07.20.3229 (Linux) …`)."""
    return server_header.strip().lower().startswith("virtuoso")


def hide_system_graphs_sql(default_host: str = "localhost:8890") -> list[str]:
    """isql statements that make Virtuoso's system graphs private, so that the anonymous /sparql endpoint's
    union default graph and GRAPH ?g see only data; writers authenticated as dba still see everything.

    `default_host` is [URIQA] DefaultHost of virtuoso.ini. (Virtuoso's `define input:default-graph-exclude`
    pragmas would do it per query, but with them `GRAPH <g> { … }` matches even when <g> is empty.)
    """
    graphs = [graph.format(host=default_host) for graph in SYSTEM_GRAPHS]
    return [f"DB.DBA.RDF_GRAPH_GROUP_CREATE ('{_PRIVATE}', 1)",
            *(f"DB.DBA.RDF_GRAPH_GROUP_INS ('{_PRIVATE}', '{graph}')" for graph in graphs),
            "DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 0, 1)",  # no access to private graphs
            "DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 1, 0)"]  # read access to every other graph


def system_graphs_visible(url: str) -> StoreError:
    """The error for a Virtuoso whose system graphs would join the union default graph."""
    statements = ";\n".join(hide_system_graphs_sql())
    return StoreError(f"{url}: Virtuoso's system graphs (<{SYSTEM_GRAPHS[0]}> …) are visible to queries, so they "
                      "would join the knowledge graph's union default graph; expected them private: run once, "
                      f"as dba in isql (see docs/scaling.md):\n{statements};")


def swap_operation(drop: Sequence[str], staged: Sequence[tuple[str, str]]) -> str:
    """One update operation that empties the graphs `drop` and copies each staging graph into its target.

    One operation, because Virtuoso commits the operations of a request one by one: a later one failing
    leaves the earlier ones applied. Its deletions happen before its insertions, as SPARQL 1.1 Update says,
    so a triple both in an old graph and in its replacement stays. The DELETE clause stays even with nothing to
    drop: Virtuoso applies an INSERT-only operation into a variable graph, then answers HTTP 500 (SR002).
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
    """INSERT DATA requests that add an N-Triples blob without blank nodes to `graph`, each small enough for
    Virtuoso and storing every literal as written. StoreError for a blob with blank nodes: Virtuoso refuses
    them in INSERT DATA, and the INSERT … WHERE {} that takes them merges constants (see _AS_PARAMETERS)."""
    triples = [quad.triple for quad in pyoxigraph.parse(ntriples, RdfFormat.N_TRIPLES)]
    target = node(graph)
    if any(has_blank_node(triple) for triple in triples):
        raise StoreError(f"graph {target}: Virtuoso cannot store these triples exactly: blank nodes go only through "
                         "its Graph Store endpoint (gsp=…/sparql-graph-crud-auth in the store spec), whose loader "
                         "turns xsd:integer values beyond 32 bits into xsd:decimal")
    for start in range(0, len(triples), INSERT_BATCH):
        batch = _ntriples(triples[start:start + INSERT_BATCH])
        yield f"{_AS_PARAMETERS}INSERT DATA {{ GRAPH {target} {{\n{batch}}} }}"


def has_blank_node(triple: pyoxigraph.Triple) -> bool:
    return isinstance(triple.subject, pyoxigraph.BlankNode) or isinstance(triple.object, pyoxigraph.BlankNode)


def loader_keeps(ntriples: bytes) -> bool:
    """Whether Virtuoso's Turtle loader stores every literal of an N-Triples blob as written."""
    if _INTEGER.encode() not in ntriples:
        return True
    for quad in pyoxigraph.parse(ntriples, RdfFormat.N_TRIPLES):
        term = quad.object
        if isinstance(term, pyoxigraph.Literal) and term.datatype.value == _INTEGER:
            try:
                if int(term.value) not in _LOADER_INTEGERS:
                    return False
            except ValueError:  # not an integer at all: stored as written
                continue
    return True


def describe(sparql: str) -> str:
    """A DESCRIBE query asking for the concise bounded description, as Oxigraph gives: Virtuoso's default mode
    returned nothing for resources whose triples were copied into their graph (as replace_graphs does)."""
    if re.match(r"\s*define\s", sparql, re.IGNORECASE):
        return sparql  # the query chose its own pragmas
    return f'define sql:describe-mode "CBD"\n{sparql}'


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
