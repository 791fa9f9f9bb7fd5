"""The query text side of federation: find each SERVICE clause with the SPARQL lexer, check every cut with
rdflib's parser and the allow-list, and render the query with each clause replaced by its VALUES. No HTTP."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kg.errors import QueryError, QueryRefused
from kg.query import QueryInfo, inspect_query, lexer
from kg.query.lexer import FORMS, brackets

if TYPE_CHECKING:
    from kg.query.lexer import Token

__all__ = ["Clause", "Plan", "has_service"]


def has_service(info: QueryInfo) -> bool:
    """True when the query names a SERVICE (kg.query found it on the parse tree, in any spelling)."""
    return bool(info.service_iris)


@dataclass(frozen=True, slots=True)
class Clause:
    """One `SERVICE [SILENT] <endpoint> { pattern }`: character span, token positions, and where its bindings
    come from: `prefix` = (group, token), the text inside that `{` before that token (None: nothing bounds them)."""

    start: int
    end: int
    token: int  # index of the SERVICE token
    group_open: int  # index of the `{` of its pattern
    group_close: int
    silent: bool
    prefix: tuple[int, int] | None


@dataclass
class Plan:
    """The query text cut into SERVICE clauses; `values` receives each clause's replacement, keyed by start."""

    text: str
    tokens: list[Token]
    match: dict[int, int]
    parent: list[int]
    clauses: list[Clause]
    prologue: str
    endpoints: dict[int, str] = field(default_factory=dict)
    values: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, text: str) -> Plan:
        tokens = lexer.tokens(text)
        match, parent = brackets(tokens)
        form = next((i for i, t in enumerate(tokens) if t.is_word(*FORMS) and parent[i] == -1), 0)
        plan = cls(text, tokens, match, parent, [], text[: tokens[form].start] if tokens else "")
        plan.clauses = [plan._clause(i) for i, token in enumerate(tokens) if token.is_word("SERVICE")]
        return plan

    def _clause(self, index: int) -> Clause:
        tokens, at = self.tokens, index + 1
        silent = at < len(tokens) and tokens[at].is_word("SILENT")
        at += silent
        if at + 1 >= len(tokens) or tokens[at + 1].text != "{":
            raise QueryError(f"SERVICE at character {tokens[index].start + 1}: expected an endpoint and a group")
        endpoint = tokens[at]
        if endpoint.kind == "var":
            raise QueryRefused(f"SERVICE {endpoint.text}: a variable endpoint is never allowed; name the endpoint")
        close = self.match[at + 1]
        if any(t.is_word("SERVICE") for t in tokens[at + 1:close]):
            raise QueryError(f"SERVICE <{endpoint.text.strip('<>')}>: a SERVICE inside a SERVICE is not supported; "
                             "expected the inner one written beside it")
        return Clause(tokens[index].start, tokens[close].end, index, at + 1, close, silent, self._prefix(index))

    def _prefix(self, index: int) -> tuple[int, int] | None:
        """The nearest non-empty run of patterns before the clause in its group, or else before the construct
        (OPTIONAL, MINUS, UNION, { }) holding it in an outer group: its solutions bound the clause's bindings, as
        the clause's result is joined (or left-joined, or subtracted) with them. None inside GRAPH or EXISTS
        (there the patterns are matched against other graphs or per row) and at a sub-select's boundary."""
        tokens, group = self.tokens, self.parent[index]
        if self._inside("GRAPH", "EXISTS", at=index):
            return None
        while group >= 0:
            if self.text[tokens[group].end:tokens[index].start].strip():
                return group, index
            start = self._construct_start(group)
            outer = self.parent[group]
            if start is None or outer < 0 or tokens[outer + 1].is_word("SELECT"):
                return None
            group, index = outer, start
        return None

    def _inside(self, *words: str, at: int) -> bool:
        group = self.parent[at]
        while group >= 0:
            if any(t.is_word(*words) for t in self.tokens[max(group - 2, 0):group]):
                return True
            group = self.parent[group]
        return False

    def _construct_start(self, group: int) -> int | None:
        """First token of the construct whose group opens at `group`; None for a WHERE group or a GRAPH."""
        before = self.tokens[group - 1] if group > 0 else None
        if before is None or before.is_word("WHERE", "GRAPH", "EXISTS", "SERVICE", "SELECT"):
            return None
        if before.is_word("OPTIONAL", "MINUS"):
            return group - 1
        while group >= 2 and self.tokens[group - 1].is_word("UNION"):
            group = next(i for i, j in self.match.items() if j == group - 2)
        return group

    def check(self, form: str, service_allow: Sequence[str]) -> None:
        """Every clause's endpoint, as the parser resolves it, is allowed; and with every clause cut out, the
        parser reads the same form and no SERVICE is left: no clause escaped the lexer."""
        # on lines of their own: rdflib's parser fails on a `#` (in an IRI or a string) before SERVICE on its line
        pieces = [f"{self.prologue}\nSELECT * WHERE {{\n{self.text[c.start:c.end]}\n}}" for c in self.clauses]
        *found, skeleton = _inspected([*pieces, self.render(0, len(self.text), placeholder="VALUES () { }")])
        for clause, info in zip(self.clauses, found, strict=True):
            if len(info.service_iris) != 1:
                raise QueryError(f"SERVICE at character {clause.start + 1}: cannot be cut out of the query")
            _check_endpoint(info.service_iris[0], service_allow)
            self.endpoints[clause.start] = info.service_iris[0]
        if skeleton.service_iris or skeleton.form != form:
            raise QueryError("SPARQL: the SERVICE clauses of this query cannot be located; expected each written "
                             "as SERVICE [SILENT] <endpoint> { … }")

    def render(self, start: int, end: int, *, placeholder: str | None = None, drop_filters_of: int = -2) -> str:
        """The text from `start` to `end` with the clauses inside replaced (by their VALUES, or `placeholder`),
        and the FILTERs directly in the group `drop_filters_of` replaced by `{}`, a pattern that changes nothing."""
        cuts = [(c.start, c.end, placeholder or self.values.get(c.start, "")) for c in self.clauses
                if start <= c.start and c.end <= end]
        cuts += [(a, b, "{}") for a, b in self._filters(drop_filters_of) if start <= a and b <= end]
        pieces, at = [], start
        for a, b, replacement in sorted(cuts):
            if a < at:
                continue  # inside a cut already made (a SERVICE in a dropped FILTER EXISTS)
            pieces += [self.text[at:a], f" {replacement} "]
            at = b
        return "".join([*pieces, self.text[at:end]])

    def _filters(self, group: int) -> Iterator[tuple[int, int]]:
        for index, token in enumerate(self.tokens):
            if token.is_word("FILTER") and self.parent[index] == group:
                opener = next(i for i in range(index + 1, len(self.tokens)) if self.tokens[i].kind == "open")
                yield token.start, self.tokens[self.match[opener]].end

    def variables(self, first: int, last: int) -> set[str]:
        """Names of the variables written between two token positions (exclusive)."""
        return {t.text[1:] for t in self.tokens[first + 1:last] if t.kind == "var"}


def _inspected(texts: list[str]) -> list[QueryInfo]:
    """kg.query.inspect_query on each text, in a short-lived thread. rdflib's parser (pyparsing) leaves garbage
    cycles through exception tracebacks that hold every frame up the stack; from our callers' frames they would
    keep the pyoxigraph results those later hold, which the garbage collector may then free on another thread,
    which pyoxigraph refuses. A new thread's stack holds nothing of theirs; and no collection runs while it
    works, so that it never frees what other threads left."""
    with _collection_paused(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="kg-sparql-check") as pool:
        return list(pool.map(inspect_query, texts))


@dataclass
class _Pause:
    """Who holds automatic garbage collection off, and whether it was on before the first of them."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    holders: int = 0
    was_enabled: bool = True


_PAUSE = _Pause()


@contextmanager
def _collection_paused() -> Iterator[None]:
    with _PAUSE.lock:
        if _PAUSE.holders == 0:
            _PAUSE.was_enabled = gc.isenabled()
            gc.disable()
        _PAUSE.holders += 1
    try:
        yield
    finally:
        with _PAUSE.lock:
            _PAUSE.holders -= 1
            if _PAUSE.holders == 0 and _PAUSE.was_enabled:
                gc.enable()


def _check_endpoint(endpoint: str, service_allow: Sequence[str]) -> None:
    if endpoint not in service_allow or not endpoint.startswith(("http://", "https://")):
        allowed = ", ".join(f"<{url}>" for url in service_allow) or "none"
        raise QueryRefused(f"SERVICE <{endpoint}>: not an allowed endpoint; expected one of {allowed} "
                           "(setting service_allow, env KG_SERVICE_ALLOW)")

