"""Running a query with a row limit and serialising its answer in the negotiated format, by pyoxigraph in Rust."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, cast

from kg.errors import QueryError, StoreError
from kg.query.check import QueryInfo, check_query_allowed, inspect_query
from kg.query.negotiate import ResultFormat, negotiate
from kg.store import (
    RDF_FORMATS,
    QueryBoolean,
    QueryResult,
    QueryResultsFormat,
    QuerySolutions,
    Store,
    parse_query_results,
    serialize,
)

_RESULTS_FORMATS = {"json": QueryResultsFormat.JSON, "xml": QueryResultsFormat.XML,
                    "csv": QueryResultsFormat.CSV, "tsv": QueryResultsFormat.TSV}


@dataclass(frozen=True, slots=True)
class QueryOutcome:
    """A query's serialised answer: `body` yields the bytes of `media_type`; `truncated` when rows were cut."""

    form: str
    format: str
    media_type: str
    body: Iterator[bytes]
    truncated: bool
    count: int  # rows (SELECT), triples (CONSTRUCT/DESCRIBE) or 1 (ASK) in the body


def run_query(store: Store, text: str, *, accept: str | None, max_rows: int,
              default_graph_uris: Sequence[str] = (), named_graph_uris: Sequence[str] = (),
              service_allow: Sequence[str] | None = None, service_timeout: float = 10.0) -> QueryOutcome:
    """Run a SELECT/ASK/CONSTRUCT/DESCRIBE query and serialise at most `max_rows` rows or triples.

    `accept` is an HTTP Accept header or a short format name (json, xml, csv, tsv, turtle, ntriples, nquads,
    trig, rdfxml, jsonld); NotAcceptable when nothing fits. The dataset: the protocol's graph IRIs when given,
    else the query's FROM / FROM NAMED, else the union of all graphs. With `service_allow`, the query is
    first checked by check_query_allowed (dataset clauses allowed). A query with SERVICE is evaluated by
    kg.federation (bindings shipped in VALUES batches, `service_timeout` seconds per remote call); without
    `service_allow` every SERVICE is refused. Evaluation happens here, so its errors (QuerySyntaxError,
    RemoteServiceError, StoreError) come before any byte of the body.
    """
    info = inspect_query(text)
    if info.is_update:
        raise QueryError("expected a query (SELECT, ASK, CONSTRUCT or DESCRIBE), got a SPARQL Update")
    if service_allow is not None:
        check_query_allowed(info, service_allow, allow_dataset_clauses=True)
    fmt = negotiate(accept, info.form)
    default, named = _dataset(info, default_graph_uris, named_graph_uris)
    # Evaluated in a callee: rdflib's parser (above) leaves reference cycles that keep this frame alive, and a
    # pyoxigraph result held here could then be freed by the garbage collector on another thread (an error).
    body, count, truncated = _evaluate(store, info, fmt, max(max_rows, 0), default, named, service_allow,
                                       service_timeout)
    return QueryOutcome(info.form, fmt.name, fmt.media_type, _chunks(body), truncated, count)


def _evaluate(store: Store, info: QueryInfo, fmt: ResultFormat, max_rows: int, default: list[str] | None,
              named: list[str] | None, service_allow: Sequence[str] | None,
              service_timeout: float) -> tuple[bytes, int, bool]:
    if info.service_iris:
        from kg.federation import run_federated  # here: kg.federation reads queries with this package

        result = run_federated(store, info, service_allow=service_allow or (), timeout=service_timeout,
                               default_graph_uris=default, named_graph_uris=named)
    else:
        result = store.query(info.text, default_graph_uris=default, named_graph_uris=named)
    with _evaluation_errors():
        return _serialised(result, fmt, max_rows, info)


def _dataset(info: QueryInfo, default: Sequence[str], named: Sequence[str]) -> tuple[list[str] | None, ...]:
    if default or named:
        return list(default), list(named)
    if info.from_iris or info.from_named_iris:
        return list(info.from_iris), list(info.from_named_iris)
    return None, None


@contextmanager
def _evaluation_errors() -> Iterator[None]:
    """pyoxigraph evaluates lazily and reports failures as OSError/RuntimeError: name what failed.

    Remote calls happen before this point (kg.federation), so a failure here is a local one."""
    try:
        yield
    except (OSError, RuntimeError) as error:
        raise StoreError(f"the query failed while running: {error}") from None


def _serialised(result: QueryResult, fmt: ResultFormat, max_rows: int, info: QueryInfo) -> tuple[bytes, int, bool]:
    if isinstance(result, QueryBoolean | QuerySolutions) == fmt.graph:
        raise QueryError(f"a {info.form} query gave an answer of the wrong kind for {fmt.media_type}")
    if isinstance(result, QueryBoolean):
        return result.serialize(format=_RESULTS_FORMATS[fmt.name]) or b"", 1, False
    if isinstance(result, QuerySolutions):
        return _solutions_body(result, fmt, max_rows)
    triples = list(itertools.islice(result, max_rows + 1))
    truncated = len(triples) > max_rows
    del triples[max_rows:]
    prefixes = dict(info.prefixes) if fmt.name in ("turtle", "trig") else None
    return serialize(triples, format=RDF_FORMATS[fmt.name], prefixes=prefixes) or b"", len(triples), truncated


def _solutions_body(solutions: QuerySolutions, fmt: ResultFormat, max_rows: int) -> tuple[bytes, int, bool]:
    """pyoxigraph writes TSV (one row a line) until one row past the limit; the kept rows are re-read and
    written in the wanted format, all in Rust: no row becomes a Python object."""
    writer = _LineLimit(max_rows + 2)  # the header, max_rows rows, and one more to tell truncation
    try:
        solutions.serialize(cast(IO[bytes], writer), format=QueryResultsFormat.TSV)
    except _Enough:
        pass
    except OSError:
        if not writer.full:
            raise
    tsv, count, truncated = writer.kept(max_rows)
    if fmt.name == "tsv":
        return tsv, count, truncated
    body = parse_query_results(tsv, QueryResultsFormat.TSV).serialize(format=_RESULTS_FORMATS[fmt.name])
    return body or b"", count, truncated


class _Enough(Exception):
    """Raised into pyoxigraph's serialiser to stop it (and the query's evaluation) once enough rows are out."""


class _LineLimit:
    """A binary write target keeping what is written until it holds `limit` lines."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.count = 0
        self.full = False

    def write(self, data: bytes) -> int:
        if self.full:
            raise _Enough
        chunk = bytes(data)
        self.parts.append(chunk)
        self.count += chunk.count(b"\n")
        if self.count >= self.limit:
            self.full = True
            raise _Enough
        return len(chunk)

    def flush(self) -> None:
        """Nothing is buffered here."""

    def kept(self, max_rows: int) -> tuple[bytes, int, bool]:
        """(the header and at most `max_rows` rows as TSV, the number of rows, whether rows were cut)."""
        data = b"".join(self.parts)
        if not self.full and data.endswith(b"\n"):  # everything was written: no need to cut
            return data, data.count(b"\n") - 1, False
        header, *rows = self.lines()
        truncated = len(rows) > max_rows
        del rows[max_rows:]
        return b"".join(line + b"\n" for line in (header, *rows)), len(rows), truncated

    def lines(self) -> list[bytes]:
        """The complete lines written (at least the header line)."""
        data = b"".join(self.parts)
        return data[: data.rfind(b"\n") + 1].split(b"\n")[:-1] or [b""]


def _chunks(body: bytes, size: int = 1 << 16) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start:start + size]
