"""Hostile inputs of issue 5 §2–3 not covered elsewhere: remote JSON-LD contexts, XML entity bombs and DTDs, a
runaway regex, CORS with a wildcard, security headers on error pages, the constant-time token comparison.

Where the other threats are tested: see the "Threat → defence → test" table in docs/security.md.
"""

from __future__ import annotations

import hmac
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conftest import ROOT, LiveServer

from kg.config import Settings
from kg.errors import Unauthorized, UsageError
from kg.server import writes
from kg.store import open_store

pytestmark = pytest.mark.slow

TOKEN = "hostile-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GRAPH = "https://w3id.org/scholarkg/graph/hostile"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}

# Nine levels of ten: 10^9 characters if an entity-expanding parser ever read it.
_ENTITIES = '<!ENTITY a0 "xxxxxxxxxx">' + "".join(
    f'<!ENTITY a{i} "' + f"&a{i - 1};" * 10 + '">' for i in range(1, 10))
RDF_XML_BOMB = (f'<?xml version="1.0"?><!DOCTYPE rdf:RDF [{_ENTITIES}]>'
                '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">'
                '<rdf:Description rdf:about="https://example.org/bomb"><rdfs:label>&a9;</rdfs:label>'
                "</rdf:Description></rdf:RDF>").encode()
RESULTS_XML_WITH_DTD = (f'<?xml version="1.0"?><!DOCTYPE sparql [{_ENTITIES}]>'
                        '<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head><variable name="x"/></head>'
                        '<results><result><binding name="x"><literal>&a9;</literal></binding></result>'
                        "</results></sparql>").encode()


@dataclass
class Tiny:
    """A one-answer HTTP server on 127.0.0.1 that records the paths it was asked for."""

    media: str
    body: bytes
    hits: list[str] = field(default_factory=list)
    httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def start(self) -> Tiny:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                owner.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", owner.media)
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        assert self.httpd is not None
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def tiny() -> Iterator[Callable[[str, bytes], Tiny]]:
    started: list[Tiny] = []

    def make(media: str, body: bytes) -> Tiny:
        started.append(Tiny(media, body).start())
        return started[-1]

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def writable(make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server(update_token=TOKEN)


def _alive(server: LiveServer) -> bool:
    answer = server.get("sparql", params={"query": "ASK { ?s ?p ?o }"},
                        headers={"Accept": "application/sparql-results+json"})
    return answer.status_code == 200 and answer.json()["boolean"] is True


# ---------------------------------------------------------------------------------------------------- bodies


def test_json_ld_with_a_remote_context_is_refused_and_nothing_is_fetched(writable: LiveServer, tiny: Any) -> None:
    context = tiny("application/ld+json", b'{"@context": {"label": "http://www.w3.org/2000/01/rdf-schema#label"}}')
    for ctx in (context.url + "ctx.jsonld", [context.url + "a.jsonld", {"x": "https://example.org/x"}],
                {"@import": context.url + "import.jsonld"}, context.url + "context.jsonld/../ctx.jsonld"):
        document = {"@context": ctx, "@id": "https://example.org/ctx", "label": "fetched?"}
        for method in ("PUT", "POST"):
            answer = writable.request(method, "graph-store", params={"graph": GRAPH + "-ctx"},
                                      content=json.dumps(document).encode(),
                                      headers={"Content-Type": "application/ld+json", **AUTH})
            assert answer.status_code == 400, (ctx, method, answer.text)
    assert GRAPH + "-ctx" not in writable.store.named_graphs()
    # Another server's file of the same name is not our context: refused, not substituted.
    elsewhere = {"@context": context.url + "context.jsonld", "@id": "https://example.org/ctx", "label": "x"}
    answer = writable.put_graph(GRAPH + "-ctx", json.dumps(elsewhere).encode(), "application/ld+json")
    assert answer.status_code == 400 and "remote context" in answer.text, answer.text
    assert context.hits == []


@pytest.mark.parametrize("published", ["server", "base IRI"])
def test_json_ld_naming_our_published_context_is_read_from_the_package(writable: LiveServer, published: str) -> None:
    url = writable.url + "context.jsonld" if published == "server" else "https://w3id.org/scholarkg/context.jsonld"
    ours = {"@context": url, "@id": "paper-1", "title": "Bundled"}
    graph = GRAPH + "-ctx-" + published.replace(" ", "-")
    assert writable.put_graph(graph, json.dumps(ours).encode(), "application/ld+json").status_code == 201
    answer = writable.get("sparql", params={"query": f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"},
                          headers={"Accept": "application/sparql-results+json"})
    rows = [(b["s"]["value"], b["p"]["value"], b["o"]["value"]) for b in answer.json()["results"]["bindings"]]
    assert rows == [(graph.rsplit("/", 1)[0] + "/paper-1", "https://w3id.org/scholarkg/ontology#title", "Bundled")]


def test_an_rdf_xml_entity_bomb_is_refused_with_415_before_parsing(writable: LiveServer) -> None:
    started = time.monotonic()
    for method in ("PUT", "POST"):
        for media in ("application/rdf+xml", "application/xml", "text/xml"):
            answer = writable.request(method, "graph-store", params={"graph": GRAPH + "-bomb"}, content=RDF_XML_BOMB,
                                      headers={"Content-Type": media, **AUTH})
            assert answer.status_code == 415, (method, media, answer.status_code, answer.text)
    assert time.monotonic() - started < 5
    assert GRAPH + "-bomb" not in writable.store.named_graphs()
    assert _alive(writable)


def test_an_rdf_xml_entity_bomb_without_a_token_is_refused_too(writable: LiveServer) -> None:
    answer = writable.request("PUT", "graph-store", params={"graph": GRAPH + "-bomb"}, content=RDF_XML_BOMB,
                              headers={"Content-Type": "application/rdf+xml"})
    assert answer.status_code in (401, 415)
    assert GRAPH + "-bomb" not in writable.store.named_graphs()


# ---------------------------------------------------------------------------------------------------- SERVICE


def test_sparql_results_xml_with_a_dtd_from_a_service_is_refused_unparsed(make_server: Callable[..., LiveServer],
                                                                          tiny: Any) -> None:
    remote = tiny("application/sparql-results+xml", RESULTS_XML_WITH_DTD)
    endpoint = remote.url + "sparql"
    served = make_server(service_allow=(endpoint,), query_timeout=10)
    text = f"SELECT ?x WHERE {{ SERVICE <{endpoint}> {{ ?x ?p ?o }} }}"
    started = time.monotonic()
    answer = served.get("sparql", params={"query": text}, headers={"Accept": "application/sparql-results+json"})
    assert answer.status_code == 502, answer.text
    assert f"SERVICE <{endpoint}>: answered application/sparql-results+xml" in answer.text
    assert "expected application/sparql-results+json" in answer.text
    assert len(remote.hits) == 1 and time.monotonic() - started < 5
    assert _alive(served)


def test_the_service_client_asks_for_json_results_only() -> None:
    from kg.federation import ACCEPT, new_client

    with new_client(1.0) as client:
        assert client.headers["accept"] == ACCEPT == "application/sparql-results+json"
        assert client.follow_redirects is False


# ---------------------------------------------------------------------------------------------------- regex


def test_a_regex_that_backtracks_for_ever_under_rdflib_is_stopped(make_server: Callable[..., LiveServer]) -> None:
    served = make_server(query_timeout=2)
    evil = '"^(a+)+$"'
    single = f'ASK {{ FILTER(REGEX("{"a" * 40}!", {evil})) }}'
    answer = served.get("sparql", params={"query": single}, headers={"Accept": "application/sparql-results+json"})
    assert answer.status_code == 200 and answer.json()["boolean"] is False  # linear-time engine: no backtracking
    many = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . "
            f'FILTER(REGEX(CONCAT(STR(?c), STR(?f), STR(?i), "{"a" * 40}!"), {evil})) }}')
    started = time.monotonic()
    stopped = served.get("sparql", params={"query": many}, headers={"Accept": "application/sparql-results+json"})
    elapsed = time.monotonic() - started
    assert stopped.status_code == 503, stopped.text
    assert "stopped after 2 s" in stopped.text and elapsed < 2 * 2 + 3
    assert _alive(served)


# ---------------------------------------------------------------------------------------------------- headers


def test_cors_with_a_wildcard_never_allows_credentials(make_server: Callable[..., LiveServer]) -> None:
    served = make_server(cors_origins=("*",))
    origin = {"Origin": "https://evil.example"}
    simple = served.get("sparql", params={"query": "ASK {}"},
                        headers={**origin, "Accept": "application/sparql-results+json", "Cookie": "a=b"})
    assert simple.status_code == 200 and simple.headers["access-control-allow-origin"] == "*"
    preflight = served.request("OPTIONS", "sparql", headers={
        **origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == "*"
    for response in (simple, preflight):
        assert "access-control-allow-credentials" not in response.headers
    with pytest.raises(UsageError, match="'\\*' alone"):
        Settings(cors_origins=("*", "https://a.example")).check()


def test_without_cors_origins_no_cors_header_is_sent(server: LiveServer) -> None:
    answer = server.get("sparql", params={"query": "ASK {}"}, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 200
    assert not any(name.startswith("access-control-") for name in answer.headers)


@pytest.mark.parametrize(("path", "status"), [
    ("doc/person/no-such-person-here.html", 404),
    ("no/such/path", 404),
    ("person/?page=0", 400),
])
def test_html_error_pages_carry_security_headers(server: LiveServer, path: str, status: int) -> None:
    answer = server.get(path, headers=BROWSER)
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/html")
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"]


# ---------------------------------------------------------------------------------------------------- token


def test_the_update_token_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(given: Any, expected: Any) -> bool:
        calls.append((given, expected))
        return real(given, expected)

    monkeypatch.setattr(writes.hmac, "compare_digest", spy)
    with open_store("memory:") as store:
        writer = writes.Writer(store, Settings(update_token=TOKEN))
        writer.authorize(f"Bearer {TOKEN}")
        with pytest.raises(Unauthorized):
            writer.authorize(f"Bearer {TOKEN[:-1]}x")
        with pytest.raises(Unauthorized):
            writer.authorize("Bearer ")
    assert calls == [(TOKEN.encode(), TOKEN.encode()), ((TOKEN[:-1] + "x").encode(), TOKEN.encode()),
                     (b"", TOKEN.encode())]


# ---------------------------------------------------------------------------------------------------- dumps

_CROSS_THREAD_DUMP = """
import threading
import kg.store.rdf
from kg.store import open_store
kg.store.rdf.BATCH = 10  # quads per chunk: three chunks from 21 quads
store = open_store("memory:")
store.load(b"".join(b"<http://a/%d> <http://b> <http://c> <http://g> .\\n" % i for i in range(21)), "nquads")
chunks = store.dump("nquads")
sizes = [len(next(chunks))]
for _ in range(2):  # a web server's thread pool advances a streamed body from any of its threads
    thread = threading.Thread(target=lambda: sizes.append(len(next(chunks))))
    thread.start()
    thread.join()
sizes += [len(rest) for rest in chunks]
print(len(sizes) if all(sizes) else 0)
"""


def test_a_dump_advanced_from_other_threads_does_not_abort_the_server() -> None:
    """pyoxigraph's store iterator panics (the process aborts) when advanced from another thread: under load,
    concurrent /dump requests killed `kg serve` until the store kept its iteration on one thread."""
    run = subprocess.run([sys.executable, "-c", _CROSS_THREAD_DUMP], capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    assert int(run.stdout.strip()) == 3


def test_a_pinned_iterator_runs_on_one_thread_passes_errors_and_stops_when_closed() -> None:
    from kg.store.pinned import pinned

    seen: list[int] = []

    def numbers() -> Iterator[int]:
        for n in range(1000):
            seen.append(threading.get_ident())
            yield n

    items = pinned(numbers, depth=2)
    assert [next(items), next(items)] == [0, 1]
    other = threading.Thread(target=lambda: next(items))
    other.start()
    other.join()
    items.close()
    time.sleep(0.6)
    assert len(set(seen)) == 1 and threading.get_ident() not in seen and len(seen) < 10
    assert not any(t.name == "pinned-iterator" and t.is_alive() for t in threading.enumerate())

    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("boom in the producer")

    with pytest.raises(ValueError, match="boom in the producer"):
        list(pinned(failing))
