"""The remote store: a SPARQL 1.1 Protocol / Update / Graph Store endpoint (Oxigraph server, Virtuoso, Fuseki,
GraphDB, QLever). Answers are parsed into the same pyoxigraph objects the embedded store returns.

Virtuoso's departures from the protocols are handled with `kg.store.virtuoso`; see docs/scaling.md.
"""

from __future__ import annotations

import contextlib
import io
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Self

import httpx
import pyoxigraph
from pyoxigraph import QueryBoolean, QuerySolutions, RdfFormat, parse_query_results

from kg.errors import InputError, NotFound, QueryError, StoreError, UsageError
from kg.store import virtuoso
from kg.store.answers import (
    RESULTS_ACCEPT,
    ChunkReader,
    accept_for,
    check_status,
    query_form,
    result,
    results_format,
)
from kg.store.rdf import (
    QueryResult,
    as_bytes,
    dump_format,
    graph_name,
    load_target,
    node,
    rdf_format,
    replace_update,
    serialize_batches,
)

DIALECTS = ("auto", "standard", "virtuoso")
_RETRIES = (0.5, 2.0)  # pauses before retrying a transient Virtuoso failure


class RemoteStore:
    """A remote endpoint: queries to `query_url`, updates to `update_url` (default: the same), graphs sent by
    Graph Store POST to `gsp_url` when given (else by INSERT DATA).

    The server must make its default graph the union of the named graphs, as the embedded store does (Oxigraph:
    `--union-default-graph`; Virtuoso does, once its system graphs are private; Fuseki: `unionDefaultGraph`);
    queries are sent unchanged. `dialect` is "virtuoso", "standard", or "auto": decided by a first query, whose
    `Server` header names the server and which, on Virtuoso, checks that its system graphs are private.
    """

    def __init__(self, query_url: str, update_url: str | None = None, gsp_url: str | None = None,
                 auth: httpx.Auth | None = None, *, timeout: float = 30.0, read_only: bool = False,
                 dialect: str = "auto") -> None:
        if dialect not in DIALECTS:
            raise UsageError(f"dialect {dialect!r}: expected one of {', '.join(DIALECTS)}")
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.gsp_url = gsp_url
        self.auth = auth
        self._read_only = read_only
        self._dialect = dialect
        self._virtuoso: bool | None = False if dialect == "standard" else None
        self._client = httpx.Client(auth=auth, timeout=timeout, follow_redirects=False,
                                    headers={"User-Agent": "scholar-kg"})

    def __repr__(self) -> str:
        return f"RemoteStore({self.query_url!r}, update_url={self.update_url!r}, gsp_url={self.gsp_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def read_only(self) -> bool:
        return self._read_only

    @property
    def virtuoso(self) -> bool:
        """Whether the server is Virtuoso; the first call checks that its system graphs are private."""
        if self._virtuoso is None:
            response = self._post(self.query_url, "query", data={"query": virtuoso.PROBE},
                                  headers={"Accept": RESULTS_ACCEPT})
            found = self._dialect == "virtuoso" or virtuoso.is_virtuoso(response.headers.get("server", ""))
            if found and bool(result(response, self.query_url)):
                raise virtuoso.system_graphs_visible(self.query_url)
            self._virtuoso = found
        return self._virtuoso

    def query(self, sparql: str, *, default_graph_uris: Sequence[str] | None = None,
              named_graph_uris: Sequence[str] | None = None) -> QueryResult:
        data: dict[str, Any] = {"query": sparql}
        if default_graph_uris is not None or named_graph_uris is not None:
            data.update(self._dataset(default_graph_uris or (), named_graph_uris or ()))
        elif self._virtuoso is None:
            _ = self.virtuoso  # check once that the union default graph holds only data
        if self._virtuoso and query_form(sparql) == "DESCRIBE":
            data["query"] = virtuoso.describe(sparql)
        response = self._post(self.query_url, "query", data=data, headers={"Accept": accept_for(sparql)})
        virtuoso.check_not_cut(response.headers.get("x-sparql-maxrows"), self.query_url)
        return result(response, self.query_url)

    def update(self, sparql_update: str) -> None:
        """Send one update request as it is (Virtuoso commits its operations one by one)."""
        self._check_writable()
        self._post(self.update_url, "update", data={"update": sparql_update})

    def replace_graphs(self, drop: Iterable[str], add: Iterable[tuple[str, bytes]]) -> None:
        """As EmbeddedStore.replace_graphs. Standard servers get one update request (atomic on Oxigraph, Fuseki,
        GraphDB). On Virtuoso the new graphs are staged in scratch graphs, then swapped in by one operation.
        Bad N-Triples raise InputError before anything is sent."""
        self._check_writable()
        drop, add = list(drop), list(add)
        if not self.virtuoso:
            text = replace_update(drop, add)
            if text:
                self.update(text)
            return
        self._replace_staged(drop, [(graph, _canonical(graph, blob)) for graph, blob in add])

    def bulk_add_graphs(self, add: Iterable[tuple[str, bytes]]) -> None:
        """A remote server's own bulk loaders need its file system (docs/scaling.md): one update request here."""
        self.replace_graphs((), add)

    def named_graphs(self) -> list[str]:
        """Named graphs with triples (scratch graphs of a replacement under way left out). GROUP BY, because
        Virtuoso answers `SELECT DISTINCT ?g` from an index that ignores which graphs are private."""
        rows = self._select("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        return sorted(name for row in rows if not (name := graph_name(row["g"])).startswith(virtuoso.STAGING))

    def quad_count(self) -> int:
        """Quads in named graphs (a union default graph has none of its own)."""
        rows = list(self._select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"))
        count = rows[0]["n"] if rows else None
        return int(count.value) if isinstance(count, pyoxigraph.Literal) else 0

    def graph_ntriples(self, graph_iri: str) -> bytes:
        """The graph as N-Triples; NotFound when the server has no triples in it."""
        return b"".join(self.dump("ntriples", graph_iri))

    def dump(self, format: str = "nquads", graph: str | None = None) -> Iterator[bytes]:
        """The named graphs (nquads, trig) or one graph, streamed from one SELECT; StoreError if the server
        cuts the answer (Virtuoso's ResultSetMaxRows)."""
        fmt = dump_format(format, graph)
        if graph is None:
            return self._dump_select("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }", None, fmt)
        graph_node = self._existing(graph)
        return self._dump_select(f"SELECT ?s ?p ?o WHERE {{ GRAPH {graph_node} {{ ?s ?p ?o }} }}", graph_node, fmt)

    def load(self, data: bytes | Path, format: str, graph: str | None = None) -> None:
        """Add a document in one of DUMP_FORMATS; triples go to `graph` (None: the default graph)."""
        fmt = rdf_format(format)
        self._check_writable()
        load_target(fmt, graph)
        body, source = _read(data), str(data)[:80]
        if self.virtuoso:
            blobs = _blobs_by_graph(body, fmt, graph, source)
            if any(name is None for name, _ in blobs):
                raise UsageError(f"{self.update_url}: Virtuoso keeps no default graph of its own; "
                                 "expected a named graph to load into")
            self._replace_staged([], [(name, blob) for name, blob in blobs if name is not None])
        elif self.gsp_url and not fmt.supports_datasets:
            params = {"default": ""} if graph is None else {"graph": node(graph).value}
            self._post(self.gsp_url, "load", params=params, content=body, headers={"Content-Type": fmt.media_type})
        else:
            self.update(replace_update((), _blobs_by_graph(body, fmt, graph, source)))

    def backup(self, target_dir: Path) -> None:
        raise StoreError(f"{self.query_url}: a remote store is backed up with its server's own tools")

    def flush(self) -> None:
        """Nothing to do: the server commits each request."""

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------------------------------------ reads

    def _dataset(self, default: Sequence[str], named: Sequence[str]) -> dict[str, list[str]]:
        """Protocol parameters for an exact dataset. A graph that never exists stands for an empty part where
        leaving the parameter out would mean something else (on Virtuoso: every graph)."""
        defaults, names = [node(g).value for g in default], [node(g).value for g in named]
        if not defaults and not names:
            defaults = [virtuoso.NO_GRAPH]
        if not names and self.virtuoso:
            names = [virtuoso.NO_GRAPH]
        return {"default-graph-uri": defaults, "named-graph-uri": names}

    def _select(self, sparql: str) -> QuerySolutions:
        answer = self.query(sparql)
        if not isinstance(answer, QuerySolutions):
            raise StoreError(f"{self.query_url}: answered a SELECT with something other than query results")
        return answer

    def _existing(self, graph_iri: str) -> pyoxigraph.NamedNode:
        graph_node = node(graph_iri)
        probe = self._select(f"SELECT ?s WHERE {{ GRAPH {graph_node} {{ ?s ?p ?o }} }} LIMIT 1")
        if next(iter(probe), None) is None:
            raise NotFound(f"graph <{graph_iri}>: no such named graph at {self.query_url}")
        return graph_node

    def _dump_select(self, sparql: str, graph: pyoxigraph.NamedNode | None, fmt: RdfFormat) -> Iterator[bytes]:
        if graph is None and self._virtuoso is None:
            _ = self.virtuoso
        try:
            with self._client.stream("POST", self.query_url, data={"query": sparql},
                                     headers={"Accept": RESULTS_ACCEPT}) as response:
                if response.status_code >= 300:
                    response.read()
                check_status(response, self.query_url, "dump")
                virtuoso.check_not_cut(response.headers.get("x-sparql-maxrows"), self.query_url)
                reader = io.BufferedReader(ChunkReader(response.iter_bytes()))
                solutions = parse_query_results(reader, results_format(response, self.query_url))
                if isinstance(solutions, QueryBoolean):
                    raise StoreError(f"{self.query_url}: answered a SELECT with a boolean")
                quads = (pyoxigraph.Quad(r["s"], r["p"], r["o"], r["g"] if graph is None else graph)
                         for r in solutions if graph is not None or not r["g"].value.startswith(virtuoso.STAGING))
                yield from serialize_batches(quads, fmt)
        except httpx.HTTPError as error:
            raise StoreError(f"{self.query_url}: the dump stopped: {error}") from None

    # ----------------------------------------------------------------------------------------------- writes

    def _check_writable(self) -> None:
        if self._read_only:
            raise StoreError(f"{self.update_url}: the store is open read-only; expected a writable store")

    def _replace_staged(self, drop: Sequence[str], add: Sequence[tuple[str, bytes]]) -> None:
        """Stage each new graph in a scratch graph (as many requests as it takes), then swap all of them in with
        one update operation; the scratch graphs are dropped whatever happens."""
        token = uuid.uuid4().hex
        staged = [(f"{virtuoso.STAGING}{token}:{index}", graph) for index, (graph, _) in enumerate(add)]
        try:
            for (stage, _), (_, blob) in zip(staged, add, strict=True):
                self._stage(stage, blob)
            swap = virtuoso.swap_operation(drop, staged)
            if swap:
                self._update_retrying(swap)
        finally:
            if staged:
                with contextlib.suppress(QueryError, StoreError):  # a leftover is harmless; the first error counts
                    self.update(virtuoso.drop_operations(stage for stage, _ in staged))

    def _stage(self, stage: str, blob: bytes) -> None:
        """Add a blob to a scratch graph, exactly: by Graph Store POST (fastest; blank nodes allowed) unless
        Virtuoso's loader would change one of its literals, else by INSERT DATA requests."""
        if not blob.strip():
            return
        if self.gsp_url and virtuoso.loader_keeps(blob):
            self._post(self.gsp_url, "load", params={"graph": stage}, content=blob,
                       headers={"Content-Type": "application/n-triples"})
            return
        for text in virtuoso.insert_requests(stage, blob):
            self.update(text)

    def _update_retrying(self, text: str) -> None:
        for pause in (*_RETRIES, None):
            try:
                self.update(text)
                return
            except (QueryError, StoreError) as error:
                if pause is None or not virtuoso.transient(str(error)):
                    raise
            time.sleep(pause)

    def _post(self, url: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.post(url, **kwargs)
        except httpx.HTTPError as error:
            raise StoreError(f"{url}: the SPARQL endpoint did not answer the {what}: {error}") from None
        check_status(response, url, what)
        return response


def _read(data: bytes | Path) -> bytes:
    if not isinstance(data, Path):
        return data
    try:
        return data.read_bytes()
    except OSError as error:
        raise InputError(f"{data}: cannot be read: {error}") from None


def _canonical(graph: str, blob: bytes) -> bytes:
    """The blob parsed and written again as N-Triples with fresh blank node labels; InputError if it is not
    N-Triples or `graph` is not an IRI."""
    node(graph)
    try:
        triples = [quad.triple for quad in pyoxigraph.parse(blob, RdfFormat.N_TRIPLES, rename_blank_nodes=True)]
    except SyntaxError as error:
        raise InputError(f"N-Triples for graph <{graph}>: {error}; expected valid N-Triples") from None
    return as_bytes(pyoxigraph.serialize(triples, format=RdfFormat.N_TRIPLES))


def _blobs_by_graph(body: bytes, fmt: RdfFormat, graph: str | None, source: str) -> list[tuple[str | None, bytes]]:
    """The document's triples as N-Triples per target graph (None: default graph)."""
    groups: dict[str | None, list[pyoxigraph.Triple]] = {}
    try:
        for quad in pyoxigraph.parse(body, fmt):
            name = quad.graph_name.value if isinstance(quad.graph_name, pyoxigraph.NamedNode) else graph
            groups.setdefault(name, []).append(quad.triple)
    except SyntaxError as error:
        raise InputError(f"{source}: {error}; expected {fmt.name}") from None
    return [(name, as_bytes(pyoxigraph.serialize(triples, format=RdfFormat.N_TRIPLES)))
            for name, triples in groups.items()]
