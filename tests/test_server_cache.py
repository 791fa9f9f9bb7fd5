"""The /sparql result cache: identical bytes on a hit, never a stale answer after a write, one entry per Accept,
no caching of SERVICE, bounded size; the ResultCache itself under generations, eviction and threads."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest
from conftest import LiveServer

from kg.config import Settings
from kg.server.cache import HEADER, Answer, Key, ResultCache

TOKEN = "cache-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE = Settings().base_iri
NOTE = "https://example.org/cache-note"
LABELS = f"SELECT ?label WHERE {{ <{NOTE}> <http://www.w3.org/2000/01/rdf-schema#label> ?label }} ORDER BY ?label"
PAPERS = "SELECT (COUNT(*) AS ?n) WHERE { ?paper a <https://w3id.org/scholarkg/ontology#Paper> }"
JSON = "application/sparql-results+json"
XML = "application/sparql-results+xml"


@pytest.fixture(scope="module")
def writable(make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server(update_token=TOKEN)


def query(server: LiveServer, text: str, accept: str = JSON) -> httpx.Response:
    response = server.get("sparql", params={"query": text}, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    return response


def labels(response: httpx.Response) -> list[str]:
    return [row["label"]["value"] for row in response.json()["results"]["bindings"]]


def put_note(server: LiveServer, graph: str, label: str) -> None:
    body = f'<{NOTE}> <http://www.w3.org/2000/01/rdf-schema#label> "{label}" .\n'.encode()
    response = server.put_graph(graph, body)
    assert response.status_code in (200, 201, 204), response.text


# ------------------------------------------------------------------------------------------ over HTTP


def test_a_hit_returns_the_same_bytes_and_headers(writable: LiveServer) -> None:
    first, second = query(writable, PAPERS + " # same bytes"), query(writable, PAPERS + " # same bytes")
    assert (first.headers[HEADER], second.headers[HEADER]) == ("miss", "hit")
    assert second.content == first.content and int(first.json()["results"]["bindings"][0]["n"]["value"]) > 0
    for name in ("content-type", "vary", "content-length"):
        assert second.headers[name] == first.headers[name]


def test_a_graph_store_write_invalidates_and_the_new_answer_is_served(writable: LiveServer) -> None:
    graph = f"{BASE}graph/cache-gsp"
    assert labels(query(writable, LABELS)) == []
    assert query(writable, LABELS).headers[HEADER] == "hit"
    put_note(writable, graph, "first")
    after = query(writable, LABELS)
    assert after.headers[HEADER] == "miss" and labels(after) == ["first"]
    assert labels(query(writable, LABELS)) == ["first"]
    put_note(writable, graph, "second")  # PUT replaces the graph
    assert labels(query(writable, LABELS)) == ["second"]
    deleted = writable.request("DELETE", "graph-store", params={"graph": graph}, headers=AUTH)
    assert deleted.status_code in (200, 204)
    assert labels(query(writable, LABELS)) == []


def test_a_sparql_update_invalidates(writable: LiveServer) -> None:
    text = LABELS.replace("?label }", "?label FILTER(STRSTARTS(?label, 'upd')) }")
    assert labels(query(writable, text)) == []
    assert query(writable, text).headers[HEADER] == "hit"
    update = (f"INSERT DATA {{ GRAPH <{BASE}graph/cache-update> {{ <{NOTE}> "
              "<http://www.w3.org/2000/01/rdf-schema#label> 'updated' } }")
    done = writable.post("sparql", content=update.encode(),
                         headers={"Content-Type": "application/sparql-update", **AUTH})
    assert done.status_code == 200, done.text
    assert labels(query(writable, text)) == ["updated"]


def test_a_refused_write_leaves_answers_correct(writable: LiveServer) -> None:
    text = PAPERS + " # refused write"
    before = query(writable, text).content
    bad = f"<{BASE}paper/untitled> a <https://w3id.org/scholarkg/ontology#Paper> .".encode()
    refused = writable.request("PUT", "graph-store", params={"graph": f"{BASE}graph/cache-bad"}, content=bad,
                               headers={"Content-Type": "text/turtle", **AUTH})
    assert refused.status_code == 422
    assert query(writable, text).content == before


def test_each_accept_header_has_its_own_entry(writable: LiveServer) -> None:
    text = PAPERS + " # accept"
    as_json, as_xml = query(writable, text, JSON), query(writable, text, XML)
    assert as_xml.headers[HEADER] == "miss" and as_xml.headers["content-type"].startswith(XML)
    assert as_xml.content.lstrip().startswith(b"<?xml") and as_json.content.startswith(b"{")
    again_json, again_xml = query(writable, text, JSON), query(writable, text, XML)
    assert (again_json.headers[HEADER], again_xml.headers[HEADER]) == ("hit", "hit")
    assert again_json.content == as_json.content and again_xml.content == as_xml.content


def test_head_and_errors_are_not_cached(writable: LiveServer) -> None:
    head = writable.request("HEAD", "sparql", params={"query": PAPERS}, headers={"Accept": JSON})
    assert head.status_code == 200 and HEADER not in head.headers
    for _ in range(2):
        bad = writable.get("sparql", params={"query": "SELECT * WHERE { ?s ?p }"})
        assert bad.status_code == 400 and HEADER not in bad.headers


def test_service_queries_are_never_cached(make_server: Callable[..., LiveServer]) -> None:
    remote = make_server(update_token=TOKEN)
    local = make_server(service_allow=(remote.url + "sparql",))
    inner = f"<{NOTE}> <http://www.w3.org/2000/01/rdf-schema#label> ?label"
    texts = [f"SELECT ?label WHERE {{ SERVICE <{remote.url}sparql> {{ {inner} }} }}",
             f"SELECT ?label WHERE {{ \\u0053ERVICE <{remote.url}sparql> {{ {inner} }} }}"]
    for text in texts:
        assert labels(query(local, text)) == []
    put_note(remote, f"{BASE}graph/remote-note", "remote")  # a write the local server never sees
    for text in texts:
        answer = query(local, text)
        assert labels(answer) == ["remote"] and HEADER not in answer.headers


def test_the_cache_is_bounded_and_can_be_off(make_server: Callable[..., LiveServer]) -> None:
    small = make_server(cache_entries=2)
    texts = [f"{PAPERS} # bounded {i}" for i in range(3)]
    for text in texts:
        assert query(small, text).headers[HEADER] == "miss"
    assert query(small, texts[2]).headers[HEADER] == "hit"
    assert query(small, texts[0]).headers[HEADER] == "miss"  # evicted: the oldest of three in two entries
    off = make_server(cache_entries=0)
    for _ in range(2):
        assert HEADER not in query(off, PAPERS).headers


# ------------------------------------------------------------------------------------------ the cache itself


def key(text: str, generation: int = 0, accept: str = JSON) -> Key:
    return Key(text, (), (), accept, generation)


def answer(body: bytes) -> Answer:
    return Answer(body, JSON, (("Vary", "Accept"),), "SELECT")


def test_least_recently_used_entries_go_first() -> None:
    cache = ResultCache(3)
    for name in "abc":
        cache.put(key(name), answer(name.encode()))
    assert cache.get(key("a")) is not None  # a is now the most recent
    cache.put(key("d"), answer(b"d"))
    assert len(cache) == 3 and cache.get(key("b")) is None
    assert [cache.get(key(n)) is not None for n in "acd"] == [True, True, True]


def test_bytes_are_bounded_too() -> None:
    cache = ResultCache(100, max_bytes=10)
    for name in "abcd":
        cache.put(key(name), answer(name.encode() * 4))
    assert cache.size_bytes <= 10 and len(cache) == 2
    cache.put(key("big"), answer(b"x" * 11))  # bigger than the whole budget: not kept
    assert cache.get(key("big")) is None


def test_a_newer_generation_empties_it_and_older_answers_are_dropped() -> None:
    cache = ResultCache(10)
    cache.put(key("q", 0), answer(b"old"))
    assert cache.get(key("q", 1)) is None and len(cache) == 0
    cache.put(key("q", 0), answer(b"computed before the write"))  # the query started before generation 1
    assert cache.get(key("q", 0)) is None and cache.get(key("q", 1)) is None
    cache.put(key("q", 1), answer(b"new"))
    hit = cache.get(key("q", 1))
    assert hit is not None and hit.body == b"new"


def test_concurrent_use_keeps_the_bounds() -> None:
    cache = ResultCache(8)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(2000):
                name = f"q{(i * 7 + worker) % 20}"
                if cache.get(key(name, i // 500)) is None:
                    cache.put(key(name, i // 500), answer(name.encode()))
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(cache) <= 8
    assert cache.size_bytes == sum(len(cache.get(k).body) for k in list(cache._items))  # type: ignore[union-attr]
    assert cache.hits > 0 and cache.misses > 0
