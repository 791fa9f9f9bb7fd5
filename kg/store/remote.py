"""The remote store: a SPARQL 1.1 Protocol / Update / Graph Store endpoint (Oxigraph server, Virtuoso, Fuseki,
GraphDB, QLever). Answers are parsed into the same pyoxigraph objects the embedded store returns.

Virtuoso's departures from the protocols are handled through `kg.store.virtuoso`; see docs/scaling.md.
"""

from __future__ import annotations

import contextlib
import io
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import httpx
import pyoxigraph
from pyoxigraph import QueryBoolean, QueryResultsFormat, QuerySolutions, RdfFormat, parse_query_results

from kg.errors import InputError, NotFound, QueryError, StoreError, UsageError
from kg.store import virtuoso
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

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# XML first: Virtuoso writes xsd:boolean values as 1/0 in JSON results, and true/false in XML.
_RESULTS_ACCEPT = "application/sparql-results+xml, application/sparql-results+json;q=0.9"
# Virtuoso answers a CONSTRUCT with SPARQL results when those are acceptable: ask graph queries for RDF only.
_GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9"
_RETRIES = (0.5, 2.0)  # pauses before retrying a transient Virtuoso failure
DIALECTS = ("auto", "standard", "virtuoso")


class RemoteStore:
    """A remote endpoint: queries to `query_url`, updates to `update_url` (default: the same), graph loads by
    Graph Store POST to `gsp_url` when given (else INSERT DATA).

    The server must make its default graph the union of the named graphs, as the embedded store does (Oxigraph:
    `--union-default-graph`; Virtuoso does; Fuseki: `unionDefaultGraph`). Graphs in `exclude` are not part of
    the knowledge graph: named_graphs, quad_count and dump leave them out. On Virtuoso they are joined by its
    own system graphs and by graphs being staged, and queries without a dataset get pragmas that leave them
    out of the default graph and of GRAPH ?g (other servers get queries unchanged). `dialect` is "virtuoso",
    "standard", or "auto" (decided from the server's `Server` header).
    """

    def __init__(self, query_url: str, update_url: str | None = None, gsp_url: str | None = None,
                 auth: httpx.Auth | None = None, *, timeout: float = 30.0, read_only: bool = False,
                 exclude: Iterable[str] = (), dialect: str = "auto") -> None:
        if dialect not in DIALECTS:
            raise UsageError(f"dialect {dialect!r}: expected one of {', '.join(DIALECTS)}")
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.gsp_url = gsp_url
        self.auth = auth
        self._read_only = read_only
        self._exclude = frozenset(node(g).value for g in exclude)
        self._virtuoso = None if dialect == "auto" else dialect == "virtuoso"
        self._staging: set[str] = set()
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
        """Whether the server is Virtuoso: from the spec, else from the `Server` header of one cheap query."""
        if self._virtuoso is None:
            response = self._post(self.query_url, "query", data={"query": "ASK {}"},
                                  headers={"Accept": _RESULTS_ACCEPT})
            self._virtuoso = virtuoso.is_virtuoso(response.headers.get("server", ""))
        return self._virtuoso

    @property
    def excluded_graphs(self) -> frozenset[str]:
        """The server's graphs that are not part of the knowledge graph."""
        if not self.virtuoso:
            return self._exclude
        return self._exclude | virtuoso.system_graphs(self.query_url) | self._staging

    def query(self, sparql: str, *, default_graph_uris: Sequence[str] | None = None,
              named_graph_uris: Sequence[str] | None = None) -> QueryResult:
        if default_graph_uris is None and named_graph_uris is None:
            data: dict[str, Any] = {"query": self._prologue() + sparql}
        else:
            data = {"query": sparql, **self._dataset(default_graph_uris or (), named_graph_uris or ())}
        graph_form = query_form(sparql) in ("CONSTRUCT", "DESCRIBE")
        response = self._post(self.query_url, "query", data=data,
                              headers={"Accept": _GRAPH_ACCEPT if graph_form else _RESULTS_ACCEPT})
        virtuoso.check_not_cut(response.headers.get("x-sparql-maxrows"), self.query_url)
        return _result(response, self.query_url)

    def update(self, sparql_update: str) -> None:
        """Send one update request as it is (on Virtuoso its operations are committed one by one)."""
        self._check_writable()
        self._post(self.update_url, "update", data={"update": sparql_update})

    def replace_graphs(self, drop: Iterable[str], add: Iterable[tuple[str, bytes]]) -> None:
        """As EmbeddedStore.replace_graphs. Standard servers get one update request (atomic on Oxigraph, Fuseki,
        GraphDB). Virtuoso gets the new graphs staged in scratch graphs, then one operation that swaps them in.
        Bad N-Triples raise InputError before anything is sent."""
        self._check_writable()
        drop, add = list(drop), list(add)
        if not self.virtuoso:
            text = replace_update(drop, add)
            if text:
                self.update(text)
            return
        self._replace_staged(drop, [(graph, _canonical(graph, blob)) for graph, blob in add])

    def named_graphs(self) -> list[str]:
        rows = self._select(self._over_graphs("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } $FILTER }"))
        return sorted(graph_name(row["g"]) for row in rows)

    def quad_count(self) -> int:
        """Quads in the knowledge graph's named graphs (a union default graph has none of its own)."""
        rows = list(self._select(self._over_graphs("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } $FILTER }")))
        count = rows[0]["n"] if rows else None
        return int(count.value) if isinstance(count, pyoxigraph.Literal) else 0

    def graph_ntriples(self, graph_iri: str) -> bytes:
        """The graph as N-Triples; NotFound when the server has no triples in it."""
        return b"".join(self.dump("ntriples", graph_iri))

    def dump(self, format: str = "nquads", graph: str | None = None) -> Iterator[bytes]:
        """The knowledge graph's named graphs (nquads, trig) or one graph, streamed from one SELECT."""
        fmt = dump_format(format, graph)
        if graph is None:
            return self._dump_select(self._over_graphs("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } $FILTER }"),
                                     None, fmt)
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
        """Protocol parameters for an exact dataset; a graph that never exists stands for an empty part where
        leaving the parameter out would mean something else."""
        defaults, names = [node(g).value for g in default], [node(g).value for g in named]
        if not defaults and not names:
            defaults = [virtuoso.NO_GRAPH]
        if not names and self.virtuoso:
            names = [virtuoso.NO_GRAPH]
        return {"default-graph-uri": defaults, "named-graph-uri": names}

    def _prologue(self) -> str:
        """On Virtuoso, pragmas that keep the excluded graphs out of a query without a dataset."""
        return virtuoso.exclusion_prologue(self.excluded_graphs) if self.virtuoso else ""

    def _over_graphs(self, template: str) -> str:
        """A query over the knowledge graph's named graphs (`$FILTER` marks where a filter on ?g may go):
        Virtuoso pragmas use its graph index; a FILTER on other servers (only when something is excluded)."""
        excluded = sorted(self.excluded_graphs)
        if self.virtuoso or not excluded:
            return self._prologue() + template.replace("$FILTER", "")
        test = f"FILTER(?g NOT IN ({', '.join(str(node(g)) for g in excluded)}))"
        return template.replace("$FILTER", test)

    def _select(self, sparql: str) -> QuerySolutions:
        """A SELECT sent as it is (no exclusions added), checked to be complete."""
        response = self._post(self.query_url, "query", data={"query": sparql}, headers={"Accept": _RESULTS_ACCEPT})
        virtuoso.check_not_cut(response.headers.get("x-sparql-maxrows"), self.query_url)
        result = _result(response, self.query_url)
        if not isinstance(result, QuerySolutions):
            raise StoreError(f"{self.query_url}: answered a SELECT with something other than query results")
        return result

    def _existing(self, graph_iri: str) -> pyoxigraph.NamedNode:
        graph_node = node(graph_iri)
        probe = self._select(f"SELECT ?s WHERE {{ GRAPH {graph_node} {{ ?s ?p ?o }} }} LIMIT 1")
        if graph_node.value in self.excluded_graphs or next(iter(probe), None) is None:
            raise NotFound(f"graph <{graph_iri}>: no such named graph at {self.query_url}")
        return graph_node

    def _dump_select(self, sparql: str, graph: pyoxigraph.NamedNode | None, fmt: RdfFormat) -> Iterator[bytes]:
        try:
            with self._client.stream("POST", self.query_url, data={"query": sparql},
                                     headers={"Accept": _RESULTS_ACCEPT}) as response:
                if response.status_code >= 300:
                    response.read()
                _check_status(response, self.query_url, "dump")
                virtuoso.check_not_cut(response.headers.get("x-sparql-maxrows"), self.query_url)
                reader = io.BufferedReader(_ChunkReader(response.iter_bytes()))
                solutions = parse_query_results(reader, _results_format(response, self.query_url))
                if isinstance(solutions, QueryBoolean):
                    raise StoreError(f"{self.query_url}: answered a SELECT with a boolean")
                quads = (pyoxigraph.Quad(r["s"], r["p"], r["o"], r["g"] if graph is None else graph)
                         for r in solutions)
                yield from serialize_batches(quads, fmt)
        except httpx.HTTPError as error:
            raise StoreError(f"{self.query_url}: the dump stopped: {error}") from None

    # ----------------------------------------------------------------------------------------------- writes

    def _check_writable(self) -> None:
        if self._read_only:
            raise StoreError(f"{self.update_url}: the store is open read-only; expected a writable store")

    def _replace_staged(self, drop: Sequence[str], add: Sequence[tuple[str, bytes]]) -> None:
        """Stage each new graph in a scratch graph (as many requests as it takes), then swap all of them in with
        one update operation; scratch graphs are dropped whatever happens."""
        token = uuid.uuid4().hex
        staged = [(f"{virtuoso.STAGING}{token}:{index}", graph) for index, (graph, _) in enumerate(add)]
        scratch = [stage for stage, _ in staged]
        self._staging.update(scratch)
        try:
            for (stage, _), (_, blob) in zip(staged, add, strict=True):
                self._stage(stage, blob)
            swap = virtuoso.swap_operation(drop, staged)
            if swap:
                self._update_retrying(swap)
        finally:
            self._drop_quietly(scratch)
            self._staging.difference_update(scratch)

    def _stage(self, stage: str, blob: bytes) -> None:
        if not blob.strip():
            return
        if self.gsp_url:
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

    def _drop_quietly(self, graphs: Sequence[str]) -> None:
        """Drop scratch graphs; a failure here is not reported over the one that may be on its way (leftovers
        show in queries: docs/scaling.md says how to find and drop them)."""
        if graphs:
            with contextlib.suppress(QueryError, StoreError):
                self.update(virtuoso.drop_operations(graphs))

    def _post(self, url: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.post(url, **kwargs)
        except httpx.HTTPError as error:
            raise StoreError(f"{url}: the SPARQL endpoint did not answer the {what}: {error}") from None
        _check_status(response, url, what)
        return response


_SKIPPED = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>\s]*>'
                      r"|#[^\n]*")
_FORM = re.compile(r"(?<![\w:?$])(SELECT|ASK|CONSTRUCT|DESCRIBE)(?![\w:])", re.IGNORECASE)


def query_form(sparql: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first such keyword outside strings, IRIs and comments."""
    found = _FORM.search(_SKIPPED.sub(" ", sparql))
    return str(found.group(1)).upper() if found else "SELECT"


def _read(data: bytes | Path) -> bytes:
    if not isinstance(data, Path):
        return data
    try:
        return data.read_bytes()
    except OSError as error:
        raise InputError(f"{data}: cannot be read: {error}") from None


def _check_status(response: httpx.Response, url: str, what: str) -> None:
    status = response.status_code
    if status < 300:
        return
    detail = response.text.strip()[:300]
    if status == 400:
        raise QueryError(f"{url} refused the {what} (HTTP 400): {detail}")
    if status in (401, 403):
        raise StoreError(f"{url} refused the credentials for the {what} (HTTP {status}); check user and password")
    raise StoreError(f"{url} failed on the {what} (HTTP {status}): {detail}")


def _media_type(response: httpx.Response) -> str:
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";")[0].strip().lower()


def _results_format(response: httpx.Response, url: str) -> QueryResultsFormat:
    media_type = _media_type(response)
    results_format = QueryResultsFormat.from_media_type(media_type) if media_type else None
    if results_format is None:
        raise StoreError(f"{url}: answered a SELECT with {media_type or 'no content type'}; expected SPARQL results")
    return results_format


def _result(response: httpx.Response, url: str) -> QueryResult:
    media_type = _media_type(response)
    try:
        results_format = QueryResultsFormat.from_media_type(media_type) if media_type else None
        if results_format is not None:
            return parse_query_results(response.content, results_format)
        rdf = RdfFormat.from_media_type(media_type) if media_type else None
        if rdf is not None:
            return iter([quad.triple for quad in pyoxigraph.parse(response.content, rdf)])
    except SyntaxError as error:
        raise StoreError(f"{url}: unreadable {media_type} answer: {error}") from None
    raise StoreError(f"{url}: answered with {media_type or 'no content type'}; expected SPARQL results or RDF")


def _canonical(graph: str, blob: bytes) -> bytes:
    """The blob parsed and written again as N-Triples (fresh blank node labels): InputError if it is not N-Triples."""
    try:
        triples = [quad.triple for quad in pyoxigraph.parse(blob, RdfFormat.N_TRIPLES, rename_blank_nodes=True)]
    except SyntaxError as error:
        raise InputError(f"N-Triples for graph <{graph}>: {error}; expected valid N-Triples") from None
    node(graph)
    return as_bytes(pyoxigraph.serialize(triples, format=RdfFormat.N_TRIPLES))


def _blobs_by_graph(body: bytes, fmt: RdfFormat, graph: str | None, source: str) -> list[tuple[str | None, bytes]]:
    """The document's triples as N-Triples per target graph (None: default graph), for one INSERT DATA."""
    groups: dict[str | None, list[pyoxigraph.Triple]] = {}
    try:
        for quad in pyoxigraph.parse(body, fmt):
            name = quad.graph_name.value if isinstance(quad.graph_name, pyoxigraph.NamedNode) else graph
            groups.setdefault(name, []).append(quad.triple)
    except SyntaxError as error:
        raise InputError(f"{source}: {error}; expected {fmt.name}") from None
    return [(name, as_bytes(pyoxigraph.serialize(triples, format=RdfFormat.N_TRIPLES)))
            for name, triples in groups.items()]


class _ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks (an HTTP response body), for pyoxigraph's parsers."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._rest:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._rest = chunk
        view = memoryview(buffer).cast("B")
        size = min(len(view), len(self._rest))
        view[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size
