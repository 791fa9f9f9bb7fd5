"""A SPARQL endpoint's HTTP answers read for the remote store: status codes as KG errors, bodies as pyoxigraph
results, and the query form that decides which media types to accept. Sends nothing itself.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pyoxigraph
from pyoxigraph import QueryResultsFormat, RdfFormat, parse_query_results

from kg.errors import QueryError, StoreError
from kg.store.rdf import QueryResult

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# XML first: Virtuoso writes xsd:boolean values as 1/0 in JSON results, and true/false in XML.
RESULTS_ACCEPT = "application/sparql-results+xml, application/sparql-results+json;q=0.9"
# Virtuoso answers a CONSTRUCT with SPARQL results when those are acceptable: ask graph queries for RDF only.
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9"

# Virtuoso writes blank nodes in XML results as <bnode>nodeID://b10003</bnode>, not a valid label: drop the scheme.
_VIRTUOSO_BNODE, _BNODE = b"<bnode>nodeID://", b"<bnode>"

_SKIPPED = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>\s]*>'
                      r"|#[^\n]*")
_FORM = re.compile(r"(?<![\w:?$])(SELECT|ASK|CONSTRUCT|DESCRIBE)(?![\w:])", re.IGNORECASE)


def query_form(sparql: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first such keyword outside strings, IRIs and comments."""
    found = _FORM.search(_SKIPPED.sub(" ", sparql))
    return str(found.group(1)).upper() if found else "SELECT"


def accept_for(sparql: str) -> str:
    """The Accept header for a query: RDF for CONSTRUCT and DESCRIBE, SPARQL results otherwise."""
    return GRAPH_ACCEPT if query_form(sparql) in ("CONSTRUCT", "DESCRIBE") else RESULTS_ACCEPT


def check_status(response: httpx.Response, url: str, what: str) -> None:
    """QueryError for a refused request (HTTP 400), StoreError for credentials and server failures."""
    status = response.status_code
    if status < 300:
        return
    detail = response.text.strip()[:300]
    if status == 400:
        raise QueryError(f"{url} refused the {what} (HTTP 400): {detail}")
    if status in (401, 403):
        raise StoreError(f"{url} refused the credentials for the {what} (HTTP {status}); check user and password")
    raise StoreError(f"{url} failed on the {what} (HTTP {status}): {detail}")


def results_format(response: httpx.Response, url: str) -> QueryResultsFormat:
    """The SPARQL results format of the answer's Content-Type; StoreError when it is none."""
    media_type = _media_type(response)
    found = QueryResultsFormat.from_media_type(media_type) if media_type else None
    if found is None:
        raise StoreError(f"{url}: answered a SELECT with {media_type or 'no content type'}; expected SPARQL results")
    return found


def result(response: httpx.Response, url: str) -> QueryResult:
    """The answer as pyoxigraph query results, or as an iterator of triples for an RDF answer."""
    media_type = _media_type(response)
    try:
        found = QueryResultsFormat.from_media_type(media_type) if media_type else None
        if found is not None:
            return parse_query_results(response.content.replace(_VIRTUOSO_BNODE, _BNODE), found)
        rdf = RdfFormat.from_media_type(media_type) if media_type else None
        if rdf is not None:
            return iter([quad.triple for quad in pyoxigraph.parse(response.content, rdf)])
    except SyntaxError as error:
        raise StoreError(f"{url}: unreadable {media_type} answer: {error}") from None
    raise StoreError(f"{url}: answered with {media_type or 'no content type'}; expected SPARQL results or RDF")


def _media_type(response: httpx.Response) -> str:
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";")[0].strip().lower()


def fixed_chunks(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The chunks of an XML results body with Virtuoso's blank node labels made valid, also across chunks."""
    keep = len(_VIRTUOSO_BNODE) - 1
    rest = b""
    for chunk in chunks:
        text = (rest + chunk).replace(_VIRTUOSO_BNODE, _BNODE)
        text, rest = text[:-keep], text[-keep:]
        if text:
            yield text
    if rest:
        yield rest


class ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks (an HTTP response body), for pyoxigraph's parsers."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = fixed_chunks(chunks)
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
