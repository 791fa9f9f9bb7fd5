"""Public-endpoint limits over HTTP: a runaway query is stopped with a 503 (never a truncated 200) and the server
stays healthy; a client over its concurrency limit gets 429 with Retry-After."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest
from conftest import LiveServer

ENDLESS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
JSON = {"Accept": "application/sparql-results+json"}


@pytest.fixture(scope="module")
def limited(make_server: Callable[..., LiveServer]) -> LiveServer:
    live = make_server(query_timeout=1.5, max_concurrent_per_client=1, query_workers=2)
    assert live.app.state.queries.wait_ready(30)
    return live


def test_a_runaway_query_is_stopped_and_the_server_stays_healthy(limited: LiveServer) -> None:
    started = time.monotonic()
    response = httpx.get(limited.url + "sparql", params={"query": ENDLESS}, headers=JSON, timeout=30)
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert "KG_QUERY_TIMEOUT" in response.text and elapsed < 10
    after = httpx.get(limited.url + "sparql", params={"query": "ASK { ?s ?p ?o }"}, headers=JSON, timeout=10)
    assert after.status_code == 200 and after.json()["boolean"] is True


def test_a_client_over_its_concurrency_limit_gets_429(limited: LiveServer) -> None:
    results: list[int] = []
    heavy = threading.Thread(target=lambda: results.append(httpx.get(
        limited.url + "sparql", params={"query": ENDLESS + " # second"}, headers=JSON, timeout=30).status_code))
    heavy.start()
    time.sleep(0.5)
    refused = httpx.get(limited.url + "sparql", params={"query": "ASK { ?s ?p ?o } # other"}, headers=JSON,
                        timeout=10)
    heavy.join()
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert results == [503]
