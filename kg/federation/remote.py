"""The remote side of federation: ship local bindings in VALUES batches to a SERVICE endpoint over HTTP, with
timeouts and size limits, and parse its JSON results into rows; errors name the endpoint."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from kg.errors import QueryError, RemoteServiceError
from kg.federation.plan import Clause, Plan
from kg.store import QueryResult, QueryResultsFormat, QuerySolutions, Store, parse_query_results

__all__ = ["ACCEPT", "BATCH_ROWS", "MAX_BINDINGS", "MAX_REMOTE_ROWS", "MAX_RESPONSE_BYTES", "SKOLEM", "Resolver",
           "new_client", "post_query"]

BATCH_ROWS = 200  # VALUES rows per remote request
MAX_BINDINGS = 10_000  # distinct local bindings shipped for one SERVICE; more is refused, not sent in 50+ calls
MAX_REMOTE_ROWS = 100_000  # rows one SERVICE may bring back, over all its requests
MAX_RESPONSE_BYTES = 64 << 20  # bytes of one remote answer
ACCEPT = "application/sparql-results+json"  # only JSON: XML result parsers are open to entity expansion
SKOLEM = "urn:x-scholarkg:service-bnode:"  # remote blank nodes become IRIs: VALUES cannot hold blank nodes


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
class Resolver:
    """Evaluates one clause after another: local bindings, remote calls in batches, the VALUES text."""

    plan: Plan
    store: Store
    http: httpx.Client
    timeout: float
    batch_rows: int
    dataset: tuple[Sequence[str] | None, Sequence[str] | None]
    calls: int = 0

    def values_for(self, clause: Clause) -> str:
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

    def _bindings(self, clause: Clause) -> _Rows | None:
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

    def _remote(self, clause: Clause, endpoint: str, bindings: _Rows | None) -> _Rows:
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
