"""A bounded load test: 4 clients for 10 s against `kg serve` (a subprocess, for clean memory figures) on 127.0.0.1,
mixing SPARQL queries, entity pages, dumps, and one hostile query in ten; 0 unexpected statuses allowed.

Prints the figures (p95 latency, requests, memory growth) and writes them to bench/results/load-test.json.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from conftest import ROOT
from servers import free_port

from kg.server.examples import examples
from kg.store import open_store

pytestmark = pytest.mark.slow

CLIENTS, SECONDS, QUERY_TIMEOUT = 4, 10.0, 2
RESULTS = ROOT / "bench" / "results" / "load-test.json"
JSON = {"Accept": "application/sparql-results+json"}
ENDLESS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
PERSON = ("SELECT DISTINCT ?p WHERE { ?p a <https://w3id.org/scholarkg/ontology#Person> "
          "FILTER(STRSTARTS(STR(?p), 'https://w3id.org/scholarkg/person/')) } LIMIT 50")


@dataclass(frozen=True)
class Request:
    kind: str  # "query", "page", "dump" or "hostile:<what>"
    method: str
    path: str
    expected: frozenset[int]
    params: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    kind: str
    status: int  # 0: no HTTP answer
    seconds: float
    detail: str = ""


def hostile_requests() -> list[Request]:
    """The four hostile queries of issue 5 and the statuses docs/security.md promises for them."""
    return [
        Request("hostile:endless", "GET", "sparql", frozenset({503}), {"query": ENDLESS}, headers=JSON),
        Request("hostile:file", "GET", "sparql", frozenset({400}),
                {"query": "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }"}, headers=JSON),
        Request("hostile:service", "GET", "sparql", frozenset({400}),
                {"query": "SELECT * WHERE { SERVICE <http://169.254.169.254/sparql> { ?s ?p ?o } }"}, headers=JSON),
        Request("hostile:huge", "POST", "sparql", frozenset({413}), content=("ASK {} #" + "x" * 200_000).encode(),
                headers={**JSON, "Content-Type": "application/sparql-query"}),
    ]


def normal_requests(url: str, people: list[str]) -> list[Request]:
    queries = [Request("query", "GET", "sparql", frozenset({200}), {"query": e["query"]}, headers=JSON)
               for e in examples(url + "sparql", ())[:-1]]  # the last one is the federated example
    slugs = [iri.rsplit("/", 1)[1] for iri in people[:5]]
    pages = [Request("page", "GET", f"person/{slug}", frozenset({303}), headers={"Accept": "text/html"})
             for slug in slugs]
    pages += [Request("page", "GET", f"doc/person/{slug}.html", frozenset({200}), headers={"Accept": "text/html"})
              for slug in slugs]
    dumps = [Request("dump", "GET", "dump", frozenset({200}), {"format": syntax}) for syntax in ("nquads", "turtle")]
    dumps.append(Request("dump", "GET", "graph-store", frozenset({200}), {"default": ""},
                         headers={"Accept": "text/turtle"}))
    return [*queries, *pages, *dumps]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, seed_nquads: bytes) -> Iterator[tuple[str, int]]:
    directory = tmp_path_factory.mktemp("load-store")
    with open_store(str(directory)) as store:
        store.load(seed_nquads, "nquads")
    port = free_port()
    env = {**os.environ, "KG_STORE": str(directory), "KG_PORT": str(port), "KG_HOST": "127.0.0.1",
           "KG_QUERY_TIMEOUT": str(QUERY_TIMEOUT), "KG_MAX_CONCURRENT_PER_CLIENT": "32", "KG_QUERY_WORKERS": "4"}
    log = (directory.parent / "kg-serve.log").open("wb")
    process = subprocess.Popen([str(Path(sys.executable).parent / "kg"), "serve"], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(url, process)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def wait_until_serving(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "kg serve exited at start-up"
        try:
            if httpx.get(url + "sparql", params={"query": "ASK {}"}, headers=JSON, timeout=2).status_code == 200:
                time.sleep(2)  # the query workers come up in the background
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("kg serve did not answer within 60 s")


def client_loop(url: str, seed: int, normal: list[Request], hostile: list[Request], stop_at: float,
                out: list[Outcome]) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=QUERY_TIMEOUT * 2 + 20, follow_redirects=False) as http:
        for turn in itertools.count():
            if time.monotonic() > stop_at:
                return
            request = hostile[(turn // 10 + seed) % len(hostile)] if turn % 10 == 9 else rng.choice(normal)
            out.append(send(http, request))


def send(http: httpx.Client, request: Request) -> Outcome:
    started = time.monotonic()
    try:
        response = http.request(request.method, request.path, params=request.params, content=request.content,
                                headers=request.headers)
        body = response.content
    except httpx.HTTPError as error:
        return Outcome(request.kind, 0, time.monotonic() - started, f"{request.path}: {error!r}")
    elapsed = time.monotonic() - started
    detail = "" if response.status_code in request.expected else f"{request.path}: {body[:200]!r}"
    detail = detail or ("" if body or response.status_code != 200 else f"{request.path}: empty 200")
    return Outcome(request.kind, response.status_code, elapsed, detail)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else (values[0] if values else 0.0)


def test_four_clients_for_ten_seconds_get_no_unexpected_error(served: tuple[str, int]) -> None:
    url, pid = served
    people = [row["p"]["value"] for row in httpx.get(url + "sparql", params={"query": PERSON}, headers=JSON,
                                                     timeout=10).json()["results"]["bindings"]]
    assert len(people) >= 2
    normal, hostile = normal_requests(url, people), hostile_requests()
    rss_before = rss_kib(pid)
    workers_before = sum(rss_kib(c) for c in children(pid))
    outcomes: list[Outcome] = []
    stop_at = time.monotonic() + SECONDS
    threads = [threading.Thread(target=client_loop, args=(url, i, normal, hostile, stop_at, outcomes))
               for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + QUERY_TIMEOUT * 2 + 30)
    rss_after, workers_after = rss_kib(pid), sum(rss_kib(c) for c in children(pid))
    unexpected = [o for o in outcomes if o.detail]
    figures = summary(outcomes, unexpected, (rss_before, rss_after), (workers_before, workers_after))
    print("\nload test:", json.dumps(figures, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=1) + "\n")
    assert not unexpected, [(o.kind, o.status, o.detail) for o in unexpected[:10]]
    assert {o.kind for o in outcomes} >= {"query", "page", "dump", "hostile:endless", "hostile:file"}
    assert httpx.get(url + "sparql", params={"query": "ASK { ?s ?p ?o }"}, headers=JSON, timeout=10).json()["boolean"]


def summary(outcomes: list[Outcome], unexpected: list[Outcome], server_kib: tuple[int, int],
            workers_kib: tuple[int, int]) -> dict[str, object]:
    normal = [o.seconds for o in outcomes if not o.kind.startswith("hostile")]
    by_kind = {kind: {"requests": len(times), "p95_ms": round(p95(times) * 1000, 1),
                      "statuses": sorted({o.status for o in outcomes if o.kind == kind})}
               for kind in sorted({o.kind for o in outcomes})
               for times in [[o.seconds for o in outcomes if o.kind == kind]]}
    return {
        "clients": CLIENTS, "seconds": SECONDS, "query_timeout_s": QUERY_TIMEOUT, "requests": len(outcomes),
        "unexpected": len(unexpected), "p95_ms_normal": round(p95(normal) * 1000, 1), "by_kind": by_kind,
        "server_rss_mib": {"before": round(server_kib[0] / 1024, 1), "after": round(server_kib[1] / 1024, 1),
                           "growth": round((server_kib[1] - server_kib[0]) / 1024, 1)},
        "workers_rss_mib": {"before": round(workers_kib[0] / 1024, 1), "after": round(workers_kib[1] / 1024, 1)},
    }
