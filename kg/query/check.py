"""What a SPARQL query or update reaches out to (SERVICE, FROM, USING, LOAD, file: IRIs), read from its parse
tree, and the policy a public endpoint applies to it."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rdflib.plugins.sparql.algebra import translatePName, translatePrologue, traverse
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import URIRef, Variable

from kg.errors import KGError, QueryRefused, QuerySyntaxError
from kg.query.lexer import service_on_its_own_line
from kg.store import EmbeddedStore


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
    base_iris: tuple[str, ...] = ()  # the BASE declarations

    @property
    def is_update(self) -> bool:
        return self.form == "UPDATE"


_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_REACHES_OUT = re.compile(r"service|load", re.IGNORECASE)
_POSITION = re.compile(r"at (\d+):(\d+)")
# rdflib's SPARQL parser (pyparsing) is not thread-safe: concurrent parses fail on valid queries
_PARSER_LOCK = threading.Lock()


@functools.lru_cache(maxsize=256)
def inspect_query(text: str) -> QueryInfo:
    """Parse a query or update (rdflib's SPARQL parser) and list what it reaches out to; QuerySyntaxError if
    it is not SPARQL 1.1. Escapes are expanded first, as SPARQL prescribes (`SERV\\u0049CE` is SERVICE), and
    prefixed names and relative IRIs are resolved, so no spelling hides a SERVICE, FROM, LOAD or file: IRI."""
    plain = plain_query(text)
    return plain if plain is not None else parse_query_text(text)


@functools.lru_cache(maxsize=256)
def parse_query_text(text: str) -> QueryInfo:
    """Like inspect_query, but always with the full parse: a syntax error is found here, not when it runs."""
    expanded = _expand_escapes(text)
    with _PARSER_LOCK:
        try:
            form, prologues, bodies = _parse(expanded)
        except QuerySyntaxError as as_written:
            # rdflib misreads a `#` (in an IRI or a string) before SERVICE on its line as a comment start: with
            # SERVICE on a line of its own, a query it wrongly refused parses; a query still refused keeps the
            # error (and the positions) of the text as written.
            separated = service_on_its_own_line(expanded)
            if separated == expanded:
                raise
            try:
                form, prologues, bodies = _parse(separated)
            except QuerySyntaxError:
                raise as_written from None
    found = _Found()
    for tree in bodies:
        found.walk(tree)
    declarations = [d for prologue in prologues for d in prologue]
    prefixes = {str(d.prefix or ""): str(d.iri) for d in declarations if d.name == "PrefixDecl"}
    bases = tuple(str(d.iri) for d in declarations if d.name == "Base")
    return QueryInfo(form, expanded, found.tuple("service"), found.tuple("from"), found.tuple("from_named"),
                     found.tuple("load"), found.tuple("file"), tuple(prefixes.items()), bases)


# A query whose text holds none of these (case-insensitive) cannot reach out: no SERVICE, FROM, LOAD, BASE,
# file: IRI, and no backslash that could spell one. Such texts skip rdflib's parser (10-36 ms, under a global
# lock); pyoxigraph still parses them when they run, so a syntax error is reported all the same.
_MAY_REACH_OUT = re.compile(r"service|from|load|base|file:|\\", re.IGNORECASE)
_IRIREF = r"<[^<>\"{}|^`\\\x00-\x20]*>"
# white space and comments; possessive (no backtracking into it: `#` runs could be split 2^n ways otherwise)
_GAP = r"(?:\s|#[^\r\n]*+)*+"
_PREFIX_DECL = re.compile(_GAP + r"PREFIX" + _GAP + r"([A-Za-z][\w.-]*)?:" + _GAP + "(" + _IRIREF + ")", re.IGNORECASE)
_QUERY_FORM = re.compile(_GAP + r"(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)


def plain_query(text: str) -> QueryInfo | None:
    """The QueryInfo of a query that provably reaches nowhere, read lexically; None to take the full parse.
    (A plain text holds no backslash, so it runs exactly as written.)"""
    if _MAY_REACH_OUT.search(text):
        return None
    prefixes: dict[str, str] = {}
    position = 0
    while match := _PREFIX_DECL.match(text, position):
        prefixes[match.group(1) or ""] = match.group(2)[1:-1]
        position = match.end()
    form = _QUERY_FORM.match(text, position)
    if form is None:
        return None
    return QueryInfo(form.group(1).upper(), text, prefixes=tuple(prefixes.items()))


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


def check_query_allowed(info: QueryInfo, service_allow: Sequence[str], allow_dataset_clauses: bool, *,
                        allow_load: bool = False) -> None:
    """Raise QueryRefused for a file: IRI anywhere, a SERVICE endpoint not exactly in `service_allow` (a
    variable endpoint never is; with a BASE none is), FROM / FROM NAMED / USING unless `allow_dataset_clauses`,
    and LOAD unless `allow_load` (never on public paths)."""
    if info.file_iris:
        raise QueryRefused(f"<{info.file_iris[0]}>: file: IRIs are not accepted here")
    if info.service_iris and info.base_iris:  # two parsers could resolve a relative endpoint differently
        raise QueryRefused(f"SERVICE with BASE <{info.base_iris[0]}>: expected the endpoint as an absolute IRI "
                           "and no BASE")
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
