"""The remote store: a SPARQL 1.1 Protocol / Update / Graph Store endpoint (Oxigraph server, Virtuoso, Fuseki).

Answers are parsed into the same pyoxigraph objects the embedded store returns.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import httpx
import pyoxigraph
from pyoxigraph import (
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    RdfFormat,
    Triple,
    parse_query_results,
    serialize,
)

from kg.errors import InputError, NotFound, QueryError, StoreError
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

_ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9, text/turtle;q=0.8"
_RESULTS_JSON = "application/sparql-results+json"


class RemoteStore:
    """A remote endpoint: queries to `query_url`, updates to `update_url` (default: the same), loads of triple
    formats by Graph Store POST to `gsp_url` when given (else INSERT DATA).

    The server must make its default graph the union of the named graphs, as the embedded store does (Oxigraph:
    `--union-default-graph`; Virtuoso does by default; Fuseki: `unionDefaultGraph`): queries are sent unchanged,
    nothing is rewritten for servers without union semantics.
    """

    def __init__(self, query_url: str, update_url: str | None = None, gsp_url: str | None = None,
                 auth: httpx.Auth | None = None, *, timeout: float = 30.0, read_only: bool = False) -> None:
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.gsp_url = gsp_url
        self.auth = auth
        self._read_only = read_only
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

    def query(self, sparql: str, *, default_graph_uris: Sequence[str] | None = None,
              named_graph_uris: Sequence[str] | None = None) -> QueryResult:
        data: dict[str, Any] = {"query": sparql}
        if default_graph_uris is not None or named_graph_uris is not None:
            data["default-graph-uri"] = [node(g).value for g in default_graph_uris or ()]
            data["named-graph-uri"] = [node(g).value for g in named_graph_uris or ()]
        response = self._send(self.query_url, "query", data=data, headers={"Accept": _ACCEPT})
        return _result(response, self.query_url)

    def update(self, sparql_update: str) -> None:
        self._check_writable()
        self._send(self.update_url, "update", data={"update": sparql_update})

    def replace_graphs(self, drop: Iterable[str], add: Iterable[tuple[str, bytes]]) -> None:
        """As EmbeddedStore.replace_graphs, sent as one SPARQL Update request (atomic on the servers named above;
        some servers cap the size of one request: then pass fewer documents at a time)."""
        self._check_writable()
        text = replace_update(drop, add)
        if text:
            self.update(text)

    def named_graphs(self) -> list[str]:
        rows = self._solutions("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return sorted(graph_name(row["g"]) for row in rows)

    def quad_count(self) -> int:
        """Quads in named graphs (a union default graph has no triples of its own to count)."""
        rows = list(self._solutions("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"))
        count = rows[0]["n"] if rows else None
        return int(count.value) if isinstance(count, pyoxigraph.Literal) else 0

    def graph_ntriples(self, graph_iri: str) -> bytes:
        """The graph as N-Triples; NotFound when the server has no triples in it."""
        graph_node = self._existing(graph_iri)
        result = self.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {graph_node} {{ ?s ?p ?o }} }}")
        if isinstance(result, QuerySolutions | QueryBoolean):
            raise StoreError(f"{self.query_url}: answered a CONSTRUCT with query results")
        return as_bytes(serialize(result, format=RdfFormat.N_TRIPLES))

    def dump(self, format: str = "nquads", graph: str | None = None) -> Iterator[bytes]:
        """The named graphs (nquads, trig) or one graph, streamed from one SELECT."""
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
        body = _read(data)
        if self.gsp_url and not fmt.supports_datasets:
            params = {"default": ""} if graph is None else {"graph": node(graph).value}
            self._send(self.gsp_url, "load", params=params, content=body, headers={"Content-Type": fmt.media_type})
            return
        self.update(replace_update((), _blobs_by_graph(body, fmt, graph, str(data)[:80])))

    def backup(self, target_dir: Path) -> None:
        raise StoreError(f"{self.query_url}: a remote store is backed up with its server's own tools")

    def flush(self) -> None:
        """Nothing to do: the server commits each request."""

    def close(self) -> None:
        self._client.close()

    def _check_writable(self) -> None:
        if self._read_only:
            raise StoreError(f"{self.update_url}: the store is open read-only; expected a writable store")

    def _solutions(self, sparql: str) -> QuerySolutions:
        result = self.query(sparql)
        if not isinstance(result, QuerySolutions):
            raise StoreError(f"{self.query_url}: answered a SELECT with something other than query results")
        return result

    def _existing(self, graph_iri: str) -> pyoxigraph.NamedNode:
        graph_node = node(graph_iri)
        if not self.query(f"ASK {{ GRAPH {graph_node} {{ ?s ?p ?o }} }}"):
            raise NotFound(f"graph <{graph_iri}>: no such named graph at {self.query_url}")
        return graph_node

    def _send(self, url: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.post(url, **kwargs)
        except httpx.HTTPError as error:
            raise StoreError(f"{url}: the SPARQL endpoint did not answer the {what}: {error}") from None
        _check_status(response, url, what)
        return response

    def _dump_select(self, sparql: str, graph: pyoxigraph.NamedNode | None, fmt: RdfFormat) -> Iterator[bytes]:
        try:
            with self._client.stream("POST", self.query_url, data={"query": sparql},
                                     headers={"Accept": _RESULTS_JSON}) as response:
                if response.status_code >= 300:
                    response.read()
                _check_status(response, self.query_url, "dump")
                solutions = parse_query_results(io.BufferedReader(_ChunkReader(response.iter_bytes())),
                                                QueryResultsFormat.JSON)
                if isinstance(solutions, QueryBoolean):
                    raise StoreError(f"{self.query_url}: answered a SELECT with a boolean")
                quads = (pyoxigraph.Quad(r["s"], r["p"], r["o"], r["g"] if graph is None else graph)
                         for r in solutions)
                yield from serialize_batches(quads, fmt)
        except httpx.HTTPError as error:
            raise StoreError(f"{self.query_url}: the dump stopped: {error}") from None


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


def _result(response: httpx.Response, url: str) -> QueryResult:
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
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


def _blobs_by_graph(body: bytes, fmt: RdfFormat, graph: str | None, source: str) -> list[tuple[str | None, bytes]]:
    """The document's triples as N-Triples per target graph (None: default graph), for one INSERT DATA."""
    groups: dict[str | None, list[Triple]] = {}
    try:
        for quad in pyoxigraph.parse(body, fmt):
            name = quad.graph_name.value if isinstance(quad.graph_name, pyoxigraph.NamedNode) else graph
            groups.setdefault(name, []).append(quad.triple)
    except SyntaxError as error:
        raise InputError(f"{source}: {error}; expected {fmt.name}") from None
    return [(name, as_bytes(serialize(triples, format=RdfFormat.N_TRIPLES))) for name, triples in groups.items()]


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
