"""Answers given before FastAPI's routing (kg.server.fastpath): /sparql cache hits, bounded queries and cached pages
carry byte for byte the status line, headers and body the application's own answer has (CORS, gzip, security
headers, Vary, X-KG-Cache, Content-Length ...), a write invalidates them, and HEAD, POST and limits behave as before."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from conftest import LiveServer

from kg.config import Settings
from kg.server import pages, sparql
from kg.server.cache import HEADER

TOKEN = "fastpath-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE = Settings().base_iri
ORIGIN = "https://client.example.org"
JSON = "application/sparql-results+json"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
PERSONS = (f"SELECT ?s WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), '{BASE}person/')) }} ORDER BY ?s LIMIT 1")
MANY = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 300"  # over gzip's 1 KiB minimum


@pytest.fixture(scope="module")
def live(make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server(update_token=TOKEN, cors_origins=(ORIGIN,), max_concurrent_per_client=1)


@pytest.fixture(scope="module")
def person(live: LiveServer) -> str:
    rows = live.get("sparql", params={"query": PERSONS}, headers={"Accept": JSON}).json()["results"]["bindings"]
    return str(rows[0]["s"]["value"])


def raw(server: LiveServer, target: str, headers: dict[str, str] | None = None, method: str = "GET",
        body: bytes = b"") -> tuple[list[str], bytes]:
    """One request on a fresh connection: the response's status line and header lines (in order, Date left
    out: it is the only one that may change between two answers) and the body, exactly as sent."""
    address = urlsplit(server.url)
    lines = [f"{method} {target} HTTP/1.1", f"Host: {address.netloc}", "Connection: close",
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        data = b""
        while chunk := connection.recv(1 << 16):
            data += chunk
    head, _, content = data.partition(b"\r\n\r\n")
    kept = [line for line in head.decode("latin-1").split("\r\n") if not line.lower().startswith("date:")]
    return kept, content


def sparql_target(text: str, **extra: str) -> str:
    return "/sparql?" + urlencode({"query": text, **extra})


def cache_header(head: list[str]) -> str | None:
    return next((line.split(":", 1)[1].strip() for line in head if line.lower().startswith(HEADER.lower() + ":")), None)


@contextmanager
def fast_path(server: LiveServer, enabled: bool) -> Iterator[None]:
    server.app.state.fast_answers = enabled
    try:
        yield
    finally:
        server.app.state.fast_answers = True


@contextmanager
def handlers_refuse(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """While active, the /sparql and document handlers fail: whatever still answers 200 was answered before them."""
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the handler ran; expected the answer from kg.server.fastpath")

    with monkeypatch.context() as patch:
        patch.setattr(sparql, "answer", refuse)
        patch.setattr(pages, "_document", refuse)
        yield


VARIANTS = [{"Accept": JSON}, {"Accept": JSON, "Origin": ORIGIN}, {"Accept": JSON, "Accept-Encoding": "gzip"},
            {"Accept": "text/csv", "Origin": ORIGIN, "Accept-Encoding": "gzip, deflate"}, {}]


@pytest.mark.parametrize("headers", VARIANTS, ids=["json", "cors", "gzip", "csv-cors-gzip", "no-accept"])
def test_a_hit_before_routing_is_byte_for_byte_the_handlers_hit(live: LiveServer, headers: dict[str, str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    target = sparql_target(MANY + f" # {sorted(headers.items())}")
    miss = raw(live, target, headers)
    with fast_path(live, False):
        slow = raw(live, target, headers)
    with handlers_refuse(monkeypatch):
        fast = raw(live, target, headers)
    assert miss[0][0] == "HTTP/1.1 200 OK" and cache_header(miss[0]) == "miss" and cache_header(slow[0]) == "hit"
    assert fast == slow
    assert [line.replace(": hit", ": miss") for line in fast[0]] == miss[0] and fast[1] == miss[1]
    lower = [line.lower() for line in fast[0]]
    assert ("origin" in str(headers).lower()) == (f"access-control-allow-origin: {ORIGIN}" in lower)
    assert ("gzip" in str(headers)) == ("content-encoding: gzip" in lower)


def test_pages_and_redirects_are_answered_before_routing_identically(live: LiveServer, person: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = person.removeprefix(BASE)
    for target, accept in ((f"/doc/{path}.html", "text/html"), (f"/doc/{path}", "text/turtle"),
                           (f"/doc/{path}.jsonld", "*/*"), (f"/{path}", "text/html"), (f"/{path}?format=ttl", "")):
        headers = {"Accept": accept} if accept else {}
        miss = raw(live, target, headers)
        with fast_path(live, False):
            slow = raw(live, target, headers)  # made again by the handler (pages are not looked up there)
        with handlers_refuse(monkeypatch):
            fast = raw(live, target, headers)
        assert miss[0][0].split()[1] in ("200", "303") and cache_header(miss[0]) == "miss", target
        assert cache_header(slow[0]) == "miss" and slow[1] == miss[1], target
        assert [line.replace(": hit", ": miss") for line in fast[0]] == miss[0] and fast[1] == miss[1], target
    html = raw(live, f"/doc/{path}.html", {"Accept": "text/html"})[0]
    assert any(line.lower().startswith("content-security-policy:") for line in html)


def test_a_bounded_query_answered_before_routing_equals_the_handlers(make_server: Callable[..., LiveServer],
                                                                     person: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    uncached = make_server(cache_entries=0, cors_origins=(ORIGIN,))
    target = sparql_target(f"SELECT ?p ?o WHERE {{ <{person}> ?p ?o }}")
    headers = {"Accept": JSON, "Origin": ORIGIN}
    with fast_path(uncached, False):
        slow = raw(uncached, target, headers)
    before = uncached.app.state.queries.status().get("fast_lane", 0)
    with handlers_refuse(monkeypatch):
        fast = raw(uncached, target, headers)
    assert fast == slow and fast[0][0] == "HTTP/1.1 200 OK" and len(fast[1]) > 100
    assert uncached.app.state.queries.status()["fast_lane"] == before + 1
    assert cache_header(fast[0]) is None


def test_errors_of_bounded_queries_are_the_applications(live: LiveServer) -> None:
    target = sparql_target("SELECT ?o WHERE { undeclared:x ?p ?o }")
    fast = raw(live, target, {"Accept": "application/json"})
    with fast_path(live, False):
        slow = raw(live, target, {"Accept": "application/json"})
    assert fast == slow and fast[0][0].startswith("HTTP/1.1 400") and b"Prefix not found" in fast[1]
    assert raw(live, target, {"Accept": "application/x-nothing"})[0][0].startswith("HTTP/1.1 406")


def query(server: LiveServer, text: str) -> tuple[str | None, list[str]]:
    head, body = raw(server, sparql_target(text), {"Accept": "text/csv"})
    assert head[0] == "HTTP/1.1 200 OK", body
    return cache_header(head), body.decode().splitlines()[1:]


def put_label(server: LiveServer, graph: str, subject: str, label: str) -> None:
    body = f'<{subject}> <{LABEL}> "{label}" .\n'.encode()
    done = server.put_graph(graph, body)
    assert done.status_code in (200, 201, 204), done.text


def test_writes_invalidate_answers_given_before_routing(live: LiveServer, person: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    text = f"SELECT ?l WHERE {{ <{person}> <{LABEL}> ?l FILTER(STRSTARTS(?l, 'fast')) }}"
    graph = f"{BASE}graph/fastpath-test"
    document = f"/doc/{person.removeprefix(BASE)}.ttl"
    assert query(live, text) == ("miss", [])
    assert cache_header(raw(live, document)[0]) == "miss"
    with handlers_refuse(monkeypatch):
        assert query(live, text) == ("hit", [])
        assert cache_header(raw(live, document)[0]) == "hit"
    put_label(live, graph, person, "fast one")  # Graph Store PUT
    assert query(live, text) == ("miss", ["fast one"])
    page = raw(live, document)
    assert cache_header(page[0]) == "miss" and b"fast one" in page[1]
    with handlers_refuse(monkeypatch):
        assert query(live, text) == ("hit", ["fast one"])
        assert b"fast one" in raw(live, document)[1]
    update = f"INSERT DATA {{ GRAPH <{graph}> {{ <{person}> <{LABEL}> 'fast two' }} }}"
    done = live.update(update)
    assert done.status_code == 200, done.text  # SPARQL Update
    assert query(live, text) == ("miss", ["fast one", "fast two"])
    assert b"fast two" in raw(live, document)[1]
    deleted = live.request("DELETE", "graph-store", params={"graph": graph}, headers=AUTH)
    assert deleted.status_code in (200, 204)  # Graph Store DELETE
    assert query(live, text) == ("miss", [])
    assert b"fast one" not in raw(live, document)[1]


def test_head_and_post_behave_as_before(live: LiveServer, person: str) -> None:
    text = MANY + " # head and post"
    get = raw(live, sparql_target(text), {"Accept": JSON})
    assert cache_header(get[0]) == "miss"
    head = raw(live, sparql_target(text), {"Accept": JSON}, method="HEAD")
    assert head[0][0] == "HTTP/1.1 200 OK" and head[1] == b"" and cache_header(head[0]) is None
    form = urlencode({"query": text}).encode()
    post = raw(live, "/sparql", {"Accept": JSON, "Content-Type": "application/x-www-form-urlencoded"}, "POST", form)
    assert cache_header(post[0]) == "hit" and post[1] == get[1]  # the handler's own look-up, as before
    document = f"/doc/{person.removeprefix(BASE)}.html"
    raw(live, document, {"Accept": "text/html"})
    page_head = raw(live, document, {"Accept": "text/html"}, method="HEAD")
    assert page_head[0][0] == "HTTP/1.1 200 OK" and page_head[1] == b"" and cache_header(page_head[0]) is None


def test_a_client_at_its_limit_still_gets_cache_hits_but_no_new_query(live: LiveServer, person: str) -> None:
    cached = MANY + " # limit"
    assert query(live, cached)[0] == "miss"
    limiter = live.app.state.limiter
    limiter.acquire("127.0.0.1")  # the client runs its one allowed query (max_concurrent_per_client=1)
    try:
        assert query(live, cached)[0] == "hit"  # a hit runs nothing: not counted against the limit
        for text in (f"SELECT ?p ?o WHERE {{ <{person}> ?p ?o }} # limit", "SELECT * WHERE { ?s ?p ?o } LIMIT 1"):
            refused = raw(live, sparql_target(text), {"Accept": JSON})
            assert refused[0][0] == "HTTP/1.1 429 Too Many Requests", text
            assert any(line.lower() == "retry-after: 1" for line in refused[0])
    finally:
        limiter.release("127.0.0.1")
    assert query(live, f"SELECT ?p ?o WHERE {{ <{person}> ?p ?o }} # limit")[0] == "miss"


def test_answers_before_routing_are_counted_under_their_routes(live: LiveServer, person: str) -> None:
    text = MANY + " # metrics"
    document = f"/doc/{person.removeprefix(BASE)}.html"
    labels = ('route="/sparql",method="GET",status="200"', 'route="/doc/{rest:path}",method="GET",status="200"')
    before = _counts(live, labels)
    for _ in range(3):  # one miss answered by the handler, then two hits answered before routing
        assert cache_header(raw(live, sparql_target(text), {"Accept": JSON})[0]) in ("miss", "hit")
        raw(live, document, {"Accept": "text/html"})
    assert [after - then for after, then in zip(_counts(live, labels), before, strict=True)] == [3, 3]
    assert 'route="unmatched",method="GET",status="200"' not in live.get("metrics").text


def _counts(live: LiveServer, labels: tuple[str, ...]) -> list[float]:
    """The kg_http_requests_total samples with these labels (0 when absent)."""
    text = live.get("metrics").text
    return [next((float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                  if line.startswith("kg_http_requests_total{") and label in line), 0.0) for label in labels]
