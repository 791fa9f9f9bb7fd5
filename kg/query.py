"""SPARQL execution with a row limit, result serialisation by media type, and the checks a public endpoint needs.

Knows no HTTP objects (the server and the CLI both call it); pyoxigraph, reached through kg.store, serialises.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, cast

from rdflib.plugins.sparql.algebra import translatePName, translatePrologue, traverse
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import URIRef, Variable

from kg.errors import KGError, NotAcceptable, QueryError, QueryRefused, QuerySyntaxError, RemoteServiceError, StoreError
from kg.store import (
    RDF_FORMATS,
    EmbeddedStore,
    QueryBoolean,
    QueryResult,
    QueryResultsFormat,
    QuerySolutions,
    Store,
    parse_query_results,
    serialize,
)

__all__ = [
    "FORMATS",
    "QueryInfo",
    "QueryOutcome",
    "ResultFormat",
    "check_query_allowed",
    "inspect_query",
    "negotiate",
    "run_query",
]

GRAPH_FORMS = ("CONSTRUCT", "DESCRIBE")


@dataclass(frozen=True, slots=True)
class ResultFormat:
    """A result representation: short name (CLI), media type (HTTP), and whether it holds a graph."""

    name: str
    media_type: str
    graph: bool  # True for CONSTRUCT/DESCRIBE results, False for SELECT/ASK
    alias: bool = False  # offered only when asked for by this exact media type


FORMATS: tuple[ResultFormat, ...] = (  # in order of preference: the first of a kind is its default
    ResultFormat("json", "application/sparql-results+json", False),
    ResultFormat("xml", "application/sparql-results+xml", False),
    ResultFormat("csv", "text/csv", False),
    ResultFormat("tsv", "text/tab-separated-values", False),
    ResultFormat("json", "application/json", False, alias=True),
    ResultFormat("xml", "application/xml", False, alias=True),
    ResultFormat("turtle", "text/turtle", True),
    ResultFormat("ntriples", "application/n-triples", True),
    ResultFormat("nquads", "application/n-quads", True),
    ResultFormat("trig", "application/trig", True),
    ResultFormat("rdfxml", "application/rdf+xml", True),
    ResultFormat("jsonld", "application/ld+json", True),
    ResultFormat("jsonld", "application/json", True, alias=True),
)
_RESULTS_FORMATS = {"json": QueryResultsFormat.JSON, "xml": QueryResultsFormat.XML,
                    "csv": QueryResultsFormat.CSV, "tsv": QueryResultsFormat.TSV}


@dataclass(frozen=True, slots=True)
class QueryInfo:
    """What a parsed query or update does: its form and every IRI it would reach out to.

    `text` is the query with its \\u escapes expanded: run that text, so the store parses what was inspected.
    """

    form: str  # SELECT, ASK, CONSTRUCT, DESCRIBE or UPDATE
    text: str
    service_iris: tuple[str, ...] = ()  # SERVICE endpoints; a variable endpoint appears as "?name"
    from_iris: tuple[str, ...] = ()  # FROM, and USING in updates
    from_named_iris: tuple[str, ...] = ()  # FROM NAMED, and USING NAMED in updates
    load_iris: tuple[str, ...] = ()
    file_iris: tuple[str, ...] = ()  # any file: IRI, wherever it appears
    prefixes: tuple[tuple[str, str], ...] = ()  # the PREFIX declarations, for readable Turtle output

    @property
    def is_update(self) -> bool:
        return self.form == "UPDATE"


@dataclass(frozen=True, slots=True)
class QueryOutcome:
    """A query's serialised answer: `body` yields the bytes of `media_type`; `truncated` when rows were cut."""

    form: str
    format: str
    media_type: str
    body: Iterator[bytes]
    truncated: bool
    count: int  # rows (SELECT), triples (CONSTRUCT/DESCRIBE) or 1 (ASK) in the body


# ---------------------------------------------------------------------------------------------------- running


def run_query(store: Store, text: str, *, accept: str | None, max_rows: int,
              default_graph_uris: Sequence[str] = (), named_graph_uris: Sequence[str] = (),
              service_allow: Sequence[str] | None = None) -> QueryOutcome:
    """Run a SELECT/ASK/CONSTRUCT/DESCRIBE query and serialise at most `max_rows` rows or triples.

    `accept` is an HTTP Accept header or a short format name (json, xml, csv, tsv, turtle, ntriples, nquads,
    trig, rdfxml, jsonld); NotAcceptable when nothing fits. The dataset: the protocol's graph IRIs when given,
    else the query's FROM / FROM NAMED, else the union of all graphs. With `service_allow`, the query is
    first checked by check_query_allowed (dataset clauses allowed). Evaluation happens here, so its errors
    (QuerySyntaxError, RemoteServiceError, StoreError) come before any byte of the body.
    """
    info = inspect_query(text)
    if info.is_update:
        raise QueryError("expected a query (SELECT, ASK, CONSTRUCT or DESCRIBE), got a SPARQL Update")
    if service_allow is not None:
        check_query_allowed(info, service_allow, allow_dataset_clauses=True)
    fmt = negotiate(accept, info.form)
    default, named = _dataset(info, default_graph_uris, named_graph_uris)
    result = store.query(info.text, default_graph_uris=default, named_graph_uris=named)
    with _evaluation_errors(info):
        body, count, truncated = _serialised(result, fmt, max(max_rows, 0), info)
    return QueryOutcome(info.form, fmt.name, fmt.media_type, _chunks(body), truncated, count)


def _dataset(info: QueryInfo, default: Sequence[str], named: Sequence[str]) -> tuple[list[str] | None, ...]:
    if default or named:
        return list(default), list(named)
    if info.from_iris or info.from_named_iris:
        return list(info.from_iris), list(info.from_named_iris)
    return None, None


@contextmanager
def _evaluation_errors(info: QueryInfo) -> Iterator[None]:
    """pyoxigraph evaluates lazily and reports failures as OSError/RuntimeError: name what failed."""
    try:
        yield
    except (OSError, RuntimeError) as error:
        if info.service_iris:
            raise RemoteServiceError(f"SERVICE {', '.join(info.service_iris)}: the call failed: {error}") from None
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
    header, *rows = writer.lines()
    truncated = len(rows) > max_rows
    del rows[max_rows:]
    tsv = b"".join(line + b"\n" for line in (header, *rows))
    if fmt.name == "tsv":
        return tsv, len(rows), truncated
    body = parse_query_results(tsv, QueryResultsFormat.TSV).serialize(format=_RESULTS_FORMATS[fmt.name])
    return body or b"", len(rows), truncated


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

    def lines(self) -> list[bytes]:
        """The complete lines written (at least the header line)."""
        data = b"".join(self.parts)
        return data[: data.rfind(b"\n") + 1].split(b"\n")[:-1] or [b""]


def _chunks(body: bytes, size: int = 1 << 16) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start:start + size]


# ---------------------------------------------------------------------------------------------------- negotiation


def negotiate(accept: str | None, form: str) -> ResultFormat:
    """The representation for a `form` query's answer: by Accept header (q-values, `type/*`, `*/*`; the most
    specific range decides an offer's q; ties go to the client's earlier range, then to our order) or by short
    format name. None or blank: the default (SPARQL results JSON, or Turtle for graphs)."""
    offers = [f for f in FORMATS if f.graph == (form in GRAPH_FORMS)]
    if accept is None or not accept.strip():
        return offers[0]
    wanted = accept.strip().lower()
    if "/" not in wanted and wanted != "*":
        return _by_name(wanted, offers, form)
    ranges = _accept_ranges(accept)
    ranked = [(rank, -position, offer) for position, offer in enumerate(offers)
              if (rank := _rank(offer, ranges)) is not None]
    if not ranked:
        available = ", ".join(f.media_type for f in offers if not f.alias)
        raise NotAcceptable(f"Accept: {accept!r}: no representation of a {form} result fits; "
                            f"expected one of {available}")
    return max(ranked, key=lambda item: item[:2])[2]


def _by_name(name: str, offers: list[ResultFormat], form: str) -> ResultFormat:
    for offer in offers:
        if offer.name == name:
            return offer
    names = ", ".join(dict.fromkeys(f.name for f in offers))
    raise NotAcceptable(f"format {name!r} does not fit a {form} query; expected one of {names}")


def _accept_ranges(header: str) -> list[tuple[str, float]]:
    ranges = []
    for part in header.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        media = "*/*" if media == "*" else media.lower()
        q = _q_value(params)
        if "/" in media and q is not None:
            ranges.append((media, q))
    return ranges


def _q_value(params: Iterable[str]) -> float | None:
    """The q parameter (default 1), or None when malformed: such a range is ignored."""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                return None
    return 1.0


def _rank(offer: ResultFormat, ranges: list[tuple[str, float]]) -> tuple[float, int, int] | None:
    matches = [(specificity, -index, q) for index, (media, q) in enumerate(ranges)
               if (specificity := _specificity(media, offer.media_type)) and (specificity == 3 or not offer.alias)]
    if not matches:
        return None
    specificity, position, q = max(matches)  # the most specific range decides; among equals, the first listed
    return None if q <= 0 else (q, specificity, position)


def _specificity(media_range: str, media_type: str) -> int:
    if media_range == media_type:
        return 3
    if media_range == "*/*":
        return 1
    return 2 if media_range.endswith("/*") and media_type.startswith(media_range[:-1]) else 0


# ---------------------------------------------------------------------------------------------------- inspection

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_REACHES_OUT = re.compile(r"service|load", re.IGNORECASE)
_POSITION = re.compile(r"at (\d+):(\d+)")


@functools.lru_cache(maxsize=256)
def inspect_query(text: str) -> QueryInfo:
    """Parse a query or update (rdflib's SPARQL parser) and list what it reaches out to; QuerySyntaxError if
    it is not SPARQL 1.1. Escapes are expanded first, as SPARQL prescribes (`SERV\\u0049CE` is SERVICE), and
    prefixed names and relative IRIs are resolved, so no spelling hides a SERVICE, FROM, LOAD or file: IRI."""
    expanded = _expand_escapes(text)
    form, prologues, bodies = _parse(expanded)
    found = _Found()
    for tree in bodies:
        found.walk(tree)
    prefixes = tuple((str(d.prefix or ""), str(d.iri)) for p in prologues for d in p if d.name == "PrefixDecl")
    return QueryInfo(form, expanded, found.tuple("service"), found.tuple("from"), found.tuple("from_named"),
                     found.tuple("load"), found.tuple("file"), tuple(dict(prefixes).items()))


def _expand_escapes(text: str) -> str:
    """Expand \\uXXXX and \\UXXXXXXXX everywhere, once; refuse escapes that spell escapes, which two
    parsers could read differently (one seeing SERVICE inside a string, the other running it)."""
    expanded = _ESCAPE.sub(_code_point, text)
    if _ESCAPE.search(expanded):
        raise QuerySyntaxError("SPARQL: an escape sequence spells another escape (as in \\u005Cu0041); "
                               "expected the character itself")
    return expanded


def _code_point(match: re.Match[str]) -> str:
    value = int(match.group(1) or match.group(2), 16)
    if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
        raise QuerySyntaxError(f"SPARQL: {match.group(0)} at character {match.start() + 1}: "
                               "expected the escape of a Unicode character")
    return chr(value)


def _parse(text: str) -> tuple[str, list[Any], list[Any]]:
    """(form, prologues, bodies with prefixed names resolved). rdflib's parser signals bad input with
    pyparsing errors, plain Exceptions (an undeclared prefix) or RecursionError: all mean "not SPARQL"."""
    try:
        parsed = parseQuery(text)
    except Exception as query_error:  # the update parser gets its chance before we call it a syntax error
        try:
            update = parseUpdate(text)
        except Exception as update_error:
            raise QuerySyntaxError(_syntax_message(text, query_error, update_error)) from None
        return _update_parts(update)
    try:
        return parsed[1].name.removesuffix("Query").upper(), [parsed[0]], [_resolved(parsed[0], parsed[1], None)]
    except Exception as error:
        raise QuerySyntaxError(f"SPARQL: {error}") from None


def _update_parts(update: Any) -> tuple[str, list[Any], list[Any]]:
    prologues, bodies, prologue = [], [], None
    try:
        for declarations, request in zip(update.prologue or [], update.request or [], strict=False):
            prologue = translatePrologue(declarations, None, None, prologue)
            prologues.append(declarations)
            bodies.append(traverse(request, visitPost=functools.partial(translatePName, prologue=prologue)))
    except Exception as error:
        raise QuerySyntaxError(f"SPARQL update: {error}") from None
    return "UPDATE", prologues, bodies


def _resolved(declarations: Any, body: Any, previous: Any) -> Any:
    prologue = translatePrologue(declarations, None, None, previous)
    return traverse(body, visitPost=functools.partial(translatePName, prologue=prologue))


def _syntax_message(text: str, query_error: Exception, update_error: Exception) -> str:
    """Oxigraph's message when it also refuses the text (it names line and column precisely); else the message
    of the rdflib parser that got further (pyparsing's carry a line and column too)."""
    precise = _oxigraph_syntax_error(text)
    if precise:
        return precise
    error = update_error if getattr(update_error, "loc", -1) > getattr(query_error, "loc", -1) else query_error
    if isinstance(error, RecursionError):
        return "SPARQL: the query nests too deeply to be checked"
    return f"SPARQL syntax error (or a form this endpoint cannot check): {error}"


def _oxigraph_syntax_error(text: str) -> str | None:
    """Oxigraph's syntax error for `text`, got by running it on an empty scratch store; never done for a text
    that could reach out (SERVICE, LOAD: escapes are already expanded, so these words cannot hide)."""
    if _REACHES_OUT.search(text):
        return None
    scratch = EmbeddedStore(None)
    messages = []
    for attempt in (scratch.query, scratch.update):
        try:
            attempt(text)
        except QuerySyntaxError as error:
            messages.append(str(error))
        except KGError:
            return None
        else:
            return None  # Oxigraph reads it: only our checker cannot
    return max(messages, key=_error_position)


def _error_position(message: str) -> tuple[int, int]:
    match = _POSITION.search(message)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


# parse-tree node -> (its key, the kind of IRI found there)
_NOTED = {
    "ServiceGraphPattern": (("term", "service"),),
    "Load": (("iri", "load"),),
    "DatasetClause": (("default", "from"), ("named", "from_named")),
    "UsingClause": (("default", "from"), ("named", "from_named")),
}


@dataclass
class _Found:
    """IRIs collected from a parse tree, by kind, in order of appearance."""

    iris: dict[str, dict[str, None]] = field(default_factory=dict)

    def add(self, kind: str, term: Any) -> None:
        text = f"?{term}" if isinstance(term, Variable) else str(term)
        self.iris.setdefault(kind, {})[text] = None

    def tuple(self, kind: str) -> tuple[str, ...]:
        return tuple(self.iris.get(kind, {}))

    def walk(self, tree: Any) -> None:
        stack = [tree]
        while stack:
            item = stack.pop()
            if isinstance(item, URIRef):
                if item.lower().startswith("file:"):
                    self.add("file", item)
            elif isinstance(item, CompValue):
                self._note(item)
                stack.extend(reversed([value for key, value in item.items() if not str(key).startswith("_")]))
            elif isinstance(item, Mapping):
                stack.extend(reversed(list(item.values())))
            elif isinstance(item, Iterable) and not isinstance(item, str | bytes):
                stack.extend(reversed(list(item)))

    def _note(self, node: CompValue) -> None:
        for key, kind in _NOTED.get(node.name, ()):
            if key in node:  # not node.get(key): CompValue.get returns the key itself when it is missing
                self.add(kind, node[key])

# ---------------------------------------------------------------------------------------------------- policy


def check_query_allowed(info: QueryInfo, service_allow: Sequence[str], allow_dataset_clauses: bool, *,
                        allow_load: bool = False) -> None:
    """Raise QueryRefused for a file: IRI anywhere, a SERVICE endpoint not exactly in `service_allow` (a
    variable endpoint never is), FROM / FROM NAMED / USING unless `allow_dataset_clauses`, and LOAD unless
    `allow_load` (never on public paths)."""
    if info.file_iris:
        raise QueryRefused(f"<{info.file_iris[0]}>: file: IRIs are not accepted here")
    for endpoint in info.service_iris:
        if endpoint.startswith("?") or endpoint not in service_allow:
            allowed = ", ".join(f"<{url}>" for url in service_allow) or "none"
            shown = endpoint if endpoint.startswith("?") else f"<{endpoint}>"
            raise QueryRefused(f"SERVICE {shown}: not an allowed endpoint; expected one of {allowed} "
                               "(setting service_allow, env KG_SERVICE_ALLOW)")
    if not allow_dataset_clauses and (info.from_iris or info.from_named_iris):
        first = (info.from_iris + info.from_named_iris)[0]
        raise QueryRefused(f"FROM <{first}>: dataset clauses are not accepted here; the default graph is already "
                           "the union of all graphs, and GRAPH <iri> { … } picks one")
    if info.load_iris and not allow_load:
        raise QueryRefused(f"LOAD <{info.load_iris[0]}>: loading from URLs is not accepted here")
