"""SERVICE clauses evaluated by us, never by the engines: bindings shipped in VALUES batches to allowed endpoints,
each SERVICE replaced by its rows as inline data, and the whole query then run locally by the store.

Works on the query text (a small SPARQL lexer finds each clause); rdflib's parser checks every piece it cuts.
"""

from __future__ import annotations

import gc
import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from kg.errors import QueryError, QueryRefused, RemoteServiceError
from kg.query import lexer
from kg.query.lexer import FORMS, Token, brackets
from kg.store import QueryResult, QueryResultsFormat, QuerySolutions, Store, parse_query_results

if TYPE_CHECKING:
    from kg.query import QueryInfo

__all__ = ["BATCH_ROWS", "MAX_BINDINGS", "has_service", "new_client", "post_query", "run_federated"]

BATCH_ROWS = 200  # VALUES rows per remote request
MAX_BINDINGS = 10_000  # distinct local bindings shipped for one SERVICE; more is refused, not sent in 50+ calls
MAX_REMOTE_ROWS = 100_000  # rows one SERVICE may bring back, over all its requests
MAX_RESPONSE_BYTES = 64 << 20  # bytes of one remote answer
ACCEPT = "application/sparql-results+json"  # only JSON: XML result parsers are open to entity expansion
SKOLEM = "urn:x-scholarkg:service-bnode:"  # remote blank nodes become IRIs: VALUES cannot hold blank nodes


def has_service(info: QueryInfo) -> bool:
    """True when the query names a SERVICE (kg.query found it on the parse tree, in any spelling)."""
    return bool(info.service_iris)


def run_federated(store: Store, info: QueryInfo, *, service_allow: Sequence[str], timeout: float,
                  default_graph_uris: Sequence[str] | None, named_graph_uris: Sequence[str] | None,
                  batch_rows: int = BATCH_ROWS, client: httpx.Client | None = None) -> QueryResult:
    """Evaluate each SERVICE clause of `info.text` (document order) against its endpoint, which must be one of
    `service_allow` (QueryRefused otherwise), with `timeout` seconds per HTTP call; then run the query, with each
    clause replaced by its rows as VALUES, on `store` over the given dataset (None: the union of all graphs).

    The bindings shipped to an endpoint are the distinct values of the shared variables given by the patterns
    before the SERVICE in its group (FILTERs left out). A failing endpoint raises RemoteServiceError, unless the
    clause says SILENT: it then gives one empty solution, as SPARQL 1.1 Federated Query prescribes.
    """
    plan = _Plan.of(info.text)
    plan.check(info.form, service_allow)
    own = client is None
    http = client or new_client(timeout)
    try:
        resolver = _Resolver(plan, store, http, timeout, batch_rows, (default_graph_uris, named_graph_uris))
        for clause in plan.clauses:
            plan.values[clause.start] = resolver.values_for(clause)
    finally:
        if own:
            http.close()
    return store.query(plan.render(0, len(plan.text)), default_graph_uris=default_graph_uris,
                       named_graph_uris=named_graph_uris)


# ---------------------------------------------------------------------------------------------------- planning


@dataclass(frozen=True, slots=True)
class _Clause:
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
class _Plan:
    """The query text cut into SERVICE clauses; `values` receives each clause's replacement, keyed by start."""

    text: str
    tokens: list[Token]
    match: dict[int, int]
    parent: list[int]
    clauses: list[_Clause]
    prologue: str
    endpoints: dict[int, str] = field(default_factory=dict)
    values: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, text: str) -> _Plan:
        tokens = lexer.tokens(text)
        match, parent = brackets(tokens)
        form = next((i for i, t in enumerate(tokens) if t.is_word(*FORMS) and parent[i] == -1), 0)
        plan = cls(text, tokens, match, parent, [], text[: tokens[form].start] if tokens else "")
        plan.clauses = [plan._clause(i) for i, token in enumerate(tokens) if token.is_word("SERVICE")]
        return plan

    def _clause(self, index: int) -> _Clause:
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
        return _Clause(tokens[index].start, tokens[close].end, index, at + 1, close, silent, self._prefix(index))

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
    from kg.query import inspect_query  # here, not at the top: kg.query calls this module

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


# ---------------------------------------------------------------------------------------------------- evaluating


@dataclass
class _Rows:
    """Solutions as SPARQL text: variable names, and rows of terms (None: unbound)."""

    names: list[str] = field(default_factory=list)
    rows: list[tuple[str | None, ...]] = field(default_factory=list)

    def values(self) -> str:
        head = " ".join(f"?{name}" for name in self.names)
        body = " ".join("(" + " ".join(term or "UNDEF" for term in row) + ")" for row in self.rows)
        return f"VALUES ({head}) {{ {body} }}"


_EMPTY = _Rows()  # no solution: the join with it is empty
_ONE_EMPTY = _Rows([], [()])  # one solution binding nothing: what a failed SERVICE SILENT gives


@dataclass
class _Resolver:
    """Evaluates one clause after another: local bindings, remote calls in batches, the VALUES text."""

    plan: _Plan
    store: Store
    http: httpx.Client
    timeout: float
    batch_rows: int
    dataset: tuple[Sequence[str] | None, Sequence[str] | None]
    calls: int = 0

    def values_for(self, clause: _Clause) -> str:
        endpoint = self.plan.endpoints[clause.start]
        bindings = self._bindings(clause)
        if bindings is not None and not bindings.rows:
            return _EMPTY.values()  # the patterns before it have no solution: nothing to ask for
        try:
            return self._remote(clause, endpoint, bindings).values()
        except RemoteServiceError:
            if clause.silent:
                return _ONE_EMPTY.values()
            raise

    def _bindings(self, clause: _Clause) -> _Rows | None:
        """Distinct values of the shared variables that every local solution binds; None: ship nothing."""
        plan = self.plan
        if clause.prefix is None:
            return None
        group, end = clause.prefix
        shared = plan.variables(group, end) & plan.variables(clause.group_open, clause.group_close)
        prefix = plan.render(plan.tokens[group].end, plan.tokens[end].start, drop_filters_of=group)
        names = sorted(shared)
        head, limit = (" ".join(f"?{n}" for n in names), MAX_BINDINGS + 1) if names else ("*", 1)
        query = f"{plan.prologue} SELECT DISTINCT {head} WHERE {{ {prefix} }} LIMIT {limit}"
        solutions = self.store.query(query, default_graph_uris=self.dataset[0], named_graph_uris=self.dataset[1])
        return _certain(_local_rows(solutions, names))

    def _remote(self, clause: _Clause, endpoint: str, bindings: _Rows | None) -> _Rows:
        pattern = self.plan.text[self.plan.tokens[clause.group_open].start:clause.end]
        batches = [None] if bindings is None or not bindings.names else [
            _Rows(bindings.names, bindings.rows[i:i + self.batch_rows])
            for i in range(0, len(bindings.rows), self.batch_rows)]
        result = _Rows()
        for batch in batches:
            inline = batch.values() if batch else ""
            query = f"{self.plan.prologue}SELECT * WHERE {{ {inline} {pattern} }}"
            self.calls += 1
            _merge(result, _parse(endpoint, self._post(endpoint, query), self.calls))
            if len(result.rows) > MAX_REMOTE_ROWS:
                raise RemoteServiceError(f"SERVICE <{endpoint}>: more than {MAX_REMOTE_ROWS} rows; expected a "
                                         "narrower pattern (add LIMIT or more bound variables)")
        return result

    def _post(self, endpoint: str, query: str) -> bytes:
        return post_query(self.http, endpoint, query, self.timeout)


def _local_rows(solutions: QueryResult, names: list[str]) -> _Rows:
    if not isinstance(solutions, QuerySolutions):
        raise QueryError("SERVICE: the patterns before it did not give solutions")
    rows = [tuple(None if (term := row[name]) is None else str(term) for name in names) for row in solutions]
    if len(rows) > MAX_BINDINGS:
        raise QueryError(f"SERVICE: the patterns before it give more than {MAX_BINDINGS} distinct bindings of "
                         f"{', '.join('?' + n for n in names)}; expected fewer (narrow them, or bind fewer "
                         "variables shared with the SERVICE pattern)")
    return _Rows(names, rows)


def _certain(local: _Rows) -> _Rows:
    """Keep the variables that every row binds, and not to a blank node (no remote term equals one of ours).

    Rows that bind every shipped variable are pairwise incompatible, so each remote solution joins at most one
    of them: the remote answer keeps the multiplicities the SERVICE pattern alone would give.
    """
    keep = [i for i, _ in enumerate(local.names)
            if all(not str(row[i] or "_:").startswith("_:") for row in local.rows)]
    rows = sorted({tuple(row[i] for i in keep) for row in local.rows}, key=str)
    return _Rows([local.names[i] for i in keep], rows)


def new_client(timeout: float) -> httpx.Client:
    """An HTTP client for SPARQL endpoints: JSON results, `timeout` seconds per call, redirects never followed
    (the allow-list names exact URLs, and a redirect could lead anywhere)."""
    from kg import __version__

    return httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False,
                        headers={"Accept": ACCEPT, "User-Agent": f"scholar-kg/{__version__} (federated query)"})


def post_query(http: httpx.Client, endpoint: str, query: str, timeout: float, *, where: str = "") -> bytes:
    """POST `query` (form-encoded, as every SPARQL 1.1 endpoint accepts) and return the SPARQL results JSON body;
    RemoteServiceError for a redirect, an HTTP error, another media type, a body over the size limit, or no
    whole answer within `timeout` seconds. Messages start with `where` (default: `SERVICE <endpoint>`)."""
    where = where or f"SERVICE <{endpoint}>"
    deadline = time.monotonic() + timeout
    try:
        with http.stream("POST", endpoint, data={"query": query}) as response:
            _check_response(where, response)
            return _read_capped(where, response, deadline)
    except httpx.TimeoutException:
        raise RemoteServiceError(f"{where}: no answer within {timeout:g} s "
                                 "(setting service_timeout, env KG_SERVICE_TIMEOUT)") from None
    except httpx.HTTPError as error:
        raise RemoteServiceError(f"{where}: the call failed: {error}") from None


def _check_response(where: str, response: httpx.Response) -> None:
    if response.is_redirect:
        target = response.headers.get("location", "?")
        raise RemoteServiceError(f"{where}: redirected (HTTP {response.status_code}) to <{target}>; redirects "
                                 "are not followed: expected the final URL (for SERVICE, listed in KG_SERVICE_ALLOW)")
    if response.status_code != 200:
        snippet = next(response.iter_bytes(), b"")[:200].decode("utf-8", "replace").strip()
        raise RemoteServiceError(f"{where}: answered HTTP {response.status_code} "
                                 f"{response.reason_phrase}: {snippet}")
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in (ACCEPT, "application/json"):
        raise RemoteServiceError(f"{where}: answered {media or 'no media type'}; "
                                 f"expected {ACCEPT}")


def _read_capped(where: str, response: httpx.Response, deadline: float) -> bytes:
    """The body, up to MAX_RESPONSE_BYTES and until `deadline` (httpx times each read, not the whole body)."""
    parts, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise RemoteServiceError(f"{where}: answer larger than {MAX_RESPONSE_BYTES >> 20} MiB")
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the whole answer took too long")
        parts.append(chunk)
    return b"".join(parts)


def _parse(endpoint: str, body: bytes, call: int) -> _Rows:
    try:
        solutions = parse_query_results(body, QueryResultsFormat.JSON)
        if not isinstance(solutions, QuerySolutions):
            raise ValueError("a boolean answer")
        names = [v.value for v in solutions.variables]
        rows = [tuple(_remote_term(endpoint, row[name], call) for name in names) for row in solutions]
    except (SyntaxError, ValueError, OSError) as error:
        raise RemoteServiceError(f"SERVICE <{endpoint}>: expected SPARQL results JSON with solutions, "
                                 f"got a bad body ({error})") from None
    return _Rows(names, rows)


def _remote_term(endpoint: str, term: object, call: int) -> str | None:
    if term is None:
        return None
    text = str(term)
    if text.startswith("_:"):  # scoped to one answer: the call number keeps two answers' nodes apart
        digest = hashlib.sha256(f"{endpoint} {call}".encode()).hexdigest()[:12]
        return f"<{SKOLEM}{digest}:{text[2:]}>"
    if text.startswith("<<"):
        raise ValueError("an RDF-star triple term, which VALUES cannot hold")
    return text


def _merge(into: _Rows, more: _Rows) -> None:
    """Append `more` to `into`, widening both to the union of their variables."""
    for name in more.names:
        if name not in into.names:
            into.names.append(name)
            into.rows = [(*row, None) for row in into.rows]
    positions = [more.names.index(n) if n in more.names else None for n in into.names]
    into.rows += [tuple(None if p is None else row[p] for p in positions) for row in more.rows]
