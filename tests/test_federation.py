"""kg.federation against real endpoints on 127.0.0.1: `oxigraph serve` with dblp- and Wikidata-shaped fixtures, a
second Scholar KG (`kg serve` over other profiles), and tiny HTTP servers that count, redirect, stall or fail.

Federated answers are checked against an oracle: the same query run on one local store holding our graphs and
the remote data in named graphs, with each SERVICE <e> written as GRAPH <e>.
"""

from __future__ import annotations

import gc
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from kg.errors import QueryError, QueryRefused, RemoteServiceError
from kg.federation import has_service, run_federated
from kg.query import QueryInfo, inspect_query
from kg.store import EmbeddedStore, QueryBoolean, QuerySolutions, Store

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "federation"
BIN = Path(sys.executable).parent
OTHER_BASE = "https://other.example/kg/"
PREFIXES = """PREFIX skg: <https://w3id.org/scholarkg/ontology#>
PREFIX dblp: <https://dblp.org/rdf/schema#>
PREFIX schema: <http://schema.org/>
PREFIX wd: <http://www.wikidata.org/entity/>
PREFIX wdt: <http://www.wikidata.org/prop/direct/>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
"""
KEY = 'LCASE(REPLACE(STR({}), "[^A-Za-z0-9]", ""))'  # a title key any SPARQL 1.1 engine computes alike
NO_ROWS = b'{"head":{"vars":[]},"results":{"bindings":[]}}'
WIRED = "run_federated" in "".join(p.read_text(encoding="utf-8") for p in (ROOT / "kg" / "query").glob("*.py"))

# ---------------------------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Endpoint:
    """A server process on 127.0.0.1 and the URL of its SPARQL query endpoint."""

    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _wait(endpoint: Endpoint, log: Path, seconds: float = 60) -> Endpoint:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and endpoint.process.poll() is None:
        try:
            answer = httpx.post(endpoint.url, data={"query": "ASK { ?s ?p ?o }"}, timeout=2,
                                headers={"Accept": "application/sparql-results+json"})
            if answer.status_code == 200 and answer.json()["boolean"]:
                return endpoint
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    endpoint.stop()
    raise RuntimeError(f"{endpoint.url} did not come up:\n{log.read_text(errors='replace')[-2000:]}")


def start_oxigraph(data: Path, directory: Path) -> Endpoint:
    """`oxigraph load` the fixture, then `oxigraph serve` it on a free port."""
    store = directory / "store"
    subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(store), "--file", str(data)],
                   check=True, capture_output=True, timeout=60)
    port, log = free_port(), directory / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(BIN / "oxigraph"), "serve", "--location", str(store), "--bind",
                                    f"127.0.0.1:{port}"], stdout=out, stderr=subprocess.STDOUT)
    return _wait(Endpoint(f"http://127.0.0.1:{port}/query", process), log)


def start_kg_serve(profiles: Path, directory: Path, base_iri: str) -> Endpoint:
    """A second Scholar KG: `kg serve` over a new store that loads `profiles` at start-up."""
    port, log = free_port(), directory / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    env.update(KG_STORE=str(directory / "store"), KG_SEEDS_DIR=str(profiles), KG_BASE_IRI=base_iri,
               KG_HOST="127.0.0.1", KG_PORT=str(port))
    with log.open("wb") as out:
        process = subprocess.Popen([str(BIN / "kg"), "serve"], stdout=out, stderr=subprocess.STDOUT, env=env)
    return _wait(Endpoint(f"http://127.0.0.1:{port}/sparql", process), log, seconds=120)


@dataclass
class Tiny:
    """A small HTTP server in a thread: `respond(body) -> (status, headers, body)`; it keeps what it received."""

    respond: Callable[[bytes], tuple[int, dict[str, str], bytes]]
    received: list[bytes] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/sparql"

    def queries(self) -> list[str]:
        return [urllib.parse.parse_qs(body.decode())["query"][0] for body in self.received]

    def start(self) -> Tiny:
        tiny = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                tiny.received.append(body)
                status, headers, payload = tiny.respond(body)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def proxy_to(url: str) -> Callable[[bytes], tuple[int, dict[str, str], bytes]]:
    def respond(body: bytes) -> tuple[int, dict[str, str], bytes]:
        answer = httpx.post(url, content=body, timeout=30, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/sparql-results+json"})
        return answer.status_code, {"Content-Type": answer.headers.get("content-type", "")}, answer.content
    return respond


@pytest.fixture(scope="module")
def tiny() -> Iterator[Callable[..., Tiny]]:
    started: list[Tiny] = []

    def make(respond: Callable[[bytes], tuple[int, dict[str, str], bytes]]) -> Tiny:
        started.append(Tiny(respond).start())
        return started[-1]

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def dblp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    endpoint = start_oxigraph(FIXTURES / "dblp.ttl", tmp_path_factory.mktemp("dblp"))
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="module")
def wikidata(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    endpoint = start_oxigraph(FIXTURES / "wikidata.ttl", tmp_path_factory.mktemp("wikidata"))
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="module")
def other_kg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    endpoint = start_kg_serve(FIXTURES / "profiles", tmp_path_factory.mktemp("other-kg"), OTHER_BASE)
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="module")
def ours(seed_nquads: bytes) -> Iterator[EmbeddedStore]:
    with EmbeddedStore(None) as store:
        store.load(seed_nquads, "nquads")
        yield store


# ---------------------------------------------------------------------------------------------------- helpers


def federated(store: Store, text: str, allow: list[str], **options: Any) -> Any:
    info = inspect_query(PREFIXES + text)
    assert has_service(info)
    return run_federated(store, info, service_allow=allow, timeout=options.pop("timeout", 10.0),
                         default_graph_uris=None, named_graph_uris=None, **options)


def rows(result: Any) -> Counter[tuple[str, ...]]:
    """A multiset of rows, terms in N-Triples syntax ("" for unbound); a boolean as one row."""
    if isinstance(result, QueryBoolean):
        return Counter([(str(bool(result)),)])
    if isinstance(result, QuerySolutions):
        names = [v.value for v in result.variables]
        return Counter(tuple("" if row[n] is None else str(row[n]) for n in names) for row in result)
    return Counter((str(t.subject), str(t.predicate), str(t.object)) for t in result)


def oracle(seed_nquads: bytes, text: str, remotes: dict[str, Path]) -> Counter[tuple[str, ...]]:
    """The query run on one store holding our graphs and each remote's data in a graph named by its endpoint
    URL, with SERVICE [SILENT] <url> written as GRAPH <url>. (The default graph, the merge of all graphs, then
    holds the remote triples too: the local patterns of these queries use none of their terms.)"""
    with EmbeddedStore(None) as store:
        store.load(seed_nquads, "nquads")
        for url, data in remotes.items():
            store.load(data.read_bytes(), "turtle", graph=url)
        local = re.sub(r"SERVICE\s+(SILENT\s+)?<", "GRAPH <", PREFIXES + text)
        return rows(store.query(local))


def local_rows(store: Store, text: str) -> Counter[tuple[str, ...]]:
    return rows(store.query(PREFIXES + text))


def keyed(remote_pattern: str, title_var: str) -> str:
    return f"{remote_pattern} BIND({KEY.format(title_var)} AS ?k)"


PAPERS = f"?p a skg:Paper ; skg:title ?title . BIND({KEY.format('?title')} AS ?k)"
DBLP_TITLE = keyed("?rec dblp:title ?dt .", "?dt")

# ---------------------------------------------------------------------------------------------------- shapes

SHAPES = {
    "join": f"SELECT ?title ?rec WHERE {{ {PAPERS} SERVICE <E> {{ {DBLP_TITLE} }} }}",
    "optional": f"SELECT ?title ?rec WHERE {{ {PAPERS} OPTIONAL {{ SERVICE <E> {{ {DBLP_TITLE} }} }} }}",
    "minus": f"SELECT ?title WHERE {{ {PAPERS} MINUS {{ SERVICE <E> {{ {DBLP_TITLE} }} }} }}",
    "union": "SELECT ?x WHERE { { ?p skg:title ?x } UNION { SERVICE <E> { ?r dblp:title ?x } } }",
    "aggregate": f"""SELECT ?title (COUNT(?s) AS ?n) (MAX(?o) AS ?last) WHERE {{ {PAPERS}
        SERVICE <E> {{ {DBLP_TITLE} ?rec dblp:hasSignature ?s . ?s dblp:signatureOrdinal ?o }} }}
        GROUP BY ?title HAVING (COUNT(?s) > 2) ORDER BY DESC(?n) ?title""",
    "filter on remote variables": f"""SELECT ?title ?y WHERE {{ {PAPERS} FILTER(STR(?y) = "2022")
        SERVICE <E> {{ {DBLP_TITLE} ?rec dblp:yearOfPublication ?y }} }}""",
    "service first": f"""SELECT ?title ?rec WHERE {{ SERVICE <E> {{ {DBLP_TITLE} }} {{ {PAPERS} }} }}
        ORDER BY ?title LIMIT 3 OFFSET 1""",
    "sub-select": f"""SELECT ?title ?n WHERE {{ {PAPERS} {{ SELECT ?k (COUNT(*) AS ?n) WHERE {{
        SERVICE <E> {{ {DBLP_TITLE} ?rec dblp:authoredBy ?a }} }} GROUP BY ?k }} }}""",
    "sometimes-unbound shared variable": f"""SELECT ?title ?rec ?doi WHERE {{ {PAPERS}
        OPTIONAL {{ ?p skg:codeRepository ?doi }}
        SERVICE <E> {{ {DBLP_TITLE} OPTIONAL {{ ?rec dblp:doi ?doi }} }} }}""",
    "people by name": """SELECT ?a ?pid WHERE { ?a a skg:Person ; skg:name ?n .
        SERVICE <E> { ?pid dblp:creatorName ?n } }""",
    "construct": f"""CONSTRUCT {{ ?p owl:sameAs ?rec }} WHERE {{ {PAPERS} SERVICE <E> {{ {DBLP_TITLE} }} }}""",
    "ask": f"ASK {{ {PAPERS} SERVICE <E> {{ {DBLP_TITLE} ?rec dblp:doi ?d }} }}",
    "distinct with values": f"""SELECT DISTINCT ?a WHERE {{ {PAPERS} ?p skg:hasAuthor ?a .
        SERVICE <E> {{ {DBLP_TITLE} }} VALUES ?a {{ <https://w3id.org/scholarkg/person/fei-sha> }} }}""",
}


@pytest.mark.slow
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_federated_answers_equal_the_oracle(shape: str, ours: EmbeddedStore, dblp: Endpoint,
                                            seed_nquads: bytes) -> None:
    text = SHAPES[shape].replace("<E>", f"<{dblp.url}>")
    expected = oracle(seed_nquads, text, {dblp.url: FIXTURES / "dblp.ttl"})
    assert sum(expected.values()) > 0 or shape == "minus"
    assert rows(federated(ours, text, [dblp.url])) == expected


@pytest.mark.slow
def test_a_join_gives_the_right_rows(ours: EmbeddedStore, dblp: Endpoint) -> None:
    text = SHAPES["join"].replace("<E>", f"<{dblp.url}>")
    found = {(title[1:-1], rec.rsplit("/", 1)[1][:-1]) for title, rec in rows(federated(ours, text, [dblp.url]))}
    assert found == {
        ("ALMA: Hierarchical Learning for Composite Multi-Agent Tasks", "fx-alma"),
        ("Possibility Before Utility: Learning And Using Hierarchical Affordances", "fx-possibility"),
        ("Actor-Attention-Critic for Multi-Agent Reinforcement Learning", "fx-maac"),
        ("Coordinated Exploration via Intrinsic Rewards for Multi-Agent Reinforcement Learning", "fx-coordinated"),
        ("Randomized Entity-wise Factorization for Multi-Agent Reinforcement Learning", "fx-refil"),
        ("VeLO: Training Versatile Learned Optimizers by Scaling Up", "fx-velo"),
        ("Brax -- A Differentiable Physics Engine for Large Scale Rigid Body Simulation", "fx-brax"),
        ("Blocks Assemble! Learning to Assemble with Large-Scale Structured Reinforcement Learning", "fx-blocks"),
        ("Decision Transformer: Reinforcement Learning via Sequence Modeling", "fx-dt"),
        ("Implicit Behavioral Cloning", "nearmiss-ibc"),  # the key joins titles only, not years
        ("Gemma 3 Technical Report", "nearmiss-gemma"),
    }


@pytest.mark.slow
@pytest.mark.parametrize(("batch", "requests"), [(200, 1), (10, 7)])
def test_bindings_go_in_values_batches(batch: int, requests: int, ours: EmbeddedStore, dblp: Endpoint,
                                       tiny: Callable[..., Tiny], seed_nquads: bytes) -> None:
    counter = tiny(proxy_to(dblp.url))
    text = SHAPES["join"].replace("<E>", f"<{counter.url}>")
    result = rows(federated(ours, text, [counter.url], batch_rows=batch))
    assert result == oracle(seed_nquads, text, {counter.url: FIXTURES / "dblp.ttl"})
    assert len(counter.received) == requests  # 63 titles: not one request per row
    shipped = sum(len(re.findall(r'\("[a-z0-9]+"\)', query)) for query in counter.queries())
    assert shipped == 63


@pytest.mark.slow
def test_optional_service_takes_its_bindings_from_the_outer_group(ours: EmbeddedStore, dblp: Endpoint,
                                                                    tiny: Callable[..., Tiny]) -> None:
    counter = tiny(proxy_to(dblp.url))
    federated(ours, SHAPES["optional"].replace("<E>", f"<{counter.url}>"), [counter.url])
    [query] = counter.queries()
    assert query.count('("') == 63 and "VALUES (?k)" in query


@pytest.mark.slow
def test_no_request_when_the_local_patterns_have_no_solution(ours: EmbeddedStore, tiny: Callable[..., Tiny]) -> None:
    counter = tiny(lambda body: (500, {}, b"must not be called"))
    text = f"SELECT * WHERE {{ ?p skg:title \"No such title\" SERVICE <{counter.url}> {{ ?s ?p2 ?o }} }}"
    assert rows(federated(ours, text, [counter.url])) == Counter()
    assert counter.received == []


@pytest.mark.slow
def test_remote_blank_nodes_come_back_as_skolem_iris(ours: EmbeddedStore, dblp: Endpoint) -> None:
    text = f"""SELECT ?s WHERE {{ {PAPERS} FILTER(CONTAINS(?title, "ALMA"))
        SERVICE <{dblp.url}> {{ {DBLP_TITLE} ?rec dblp:hasSignature ?s }} }}"""
    found = {term for (term,) in rows(federated(ours, text, [dblp.url]))}
    assert len(found) == 3
    assert all(term.startswith("<urn:x-scholarkg:service-bnode:") for term in found)


@pytest.mark.slow
def test_authors_joined_to_dblp_wikidata_and_a_second_instance(ours: EmbeddedStore, dblp: Endpoint,
                                                                 wikidata: Endpoint, other_kg: Endpoint,
                                                                 seed_nquads: bytes) -> None:
    text = three_graphs(dblp.url, wikidata.url, other_kg.url)
    found = rows(federated(ours, text, [dblp.url, wikidata.url, other_kg.url]))
    assert found == Counter({
        ('"VeLO: Training Versatile Learned Optimizers by Scaling Up"', '"C. Daniel Freeman"',
         "<http://www.wikidata.org/entity/Q999000002>", f"<{OTHER_BASE}paper/6c8a2e5bc09c3656>"): 1,
        ('"Brax -- A Differentiable Physics Engine for Large Scale Rigid Body Simulation"', '"C. Daniel Freeman"',
         "", f"<{OTHER_BASE}paper/d15a57d93c324f93>"): 1,
        ('"Blocks Assemble! Learning to Assemble with Large-Scale Structured Reinforcement Learning"',
         '"C. Daniel Freeman"', "", f"<{OTHER_BASE}paper/d173fe924fb37dec>"): 1,
    })


def three_graphs(dblp: str, wikidata: str, other: str) -> str:
    """Papers of our Daniel Freemans (either spelling) with the dblp author name, the Wikidata item (if any)
    and the paper of the second instance."""
    return f"""SELECT DISTINCT ?title ?dblpName ?item ?other WHERE {{
        ?p skg:hasAuthor ?a ; skg:title ?title . ?a skg:name ?name .
        FILTER(?name IN ("C. Daniel Freeman", "Daniel Freeman"))
        BIND({KEY.format('?title')} AS ?k)
        SERVICE <{dblp}> {{ {DBLP_TITLE} ?rec dblp:authoredBy ?pid . ?pid dblp:creatorName ?dblpName
                            FILTER(CONTAINS(?dblpName, "Freeman")) }}
        OPTIONAL {{ SERVICE <{wikidata}> {{ {keyed("?item wdt:P1476 ?wt .", "?wt")} }} }}
        SERVICE <{other}> {{ {keyed("?other skg:title ?ot .", "?ot")} }}
    }}"""


@pytest.mark.slow
@pytest.mark.skipif(not WIRED, reason="kg.query.run_query does not call kg.federation yet")
def test_our_endpoint_runs_the_three_graph_query(make_server: Callable[..., Any], dblp: Endpoint,
                                                 wikidata: Endpoint, other_kg: Endpoint,
                                                 tiny: Callable[..., Tiny]) -> None:
    counter = tiny(proxy_to(dblp.url))
    live = make_server(service_allow=(counter.url, wikidata.url, other_kg.url))
    answer = live.post("sparql", data={"query": PREFIXES + three_graphs(counter.url, wikidata.url, other_kg.url)},
                       headers={"Accept": "application/sparql-results+json"})
    assert answer.status_code == 200, answer.text
    titles = {row["title"]["value"] for row in answer.json()["results"]["bindings"]}
    assert len(titles) == 3 and any(t.startswith("VeLO") for t in titles)
    assert len(counter.received) == 1 and "VALUES (?k)" in counter.queries()[0]  # our evaluation, not the engine's
    refused = live.post("sparql", data={"query": PREFIXES + three_graphs(dblp.url, wikidata.url, other_kg.url)})
    assert refused.status_code == 400 and dblp.url in refused.text


@pytest.mark.slow
def test_a_join_through_links_written_by_kg_link(seed_nquads: bytes, dblp: Endpoint) -> None:
    from kg.link import discover, dump_source, write_links
    from kg.vocab import IRIs

    with EmbeddedStore(None) as store:
        store.load(seed_nquads, "nquads")
        with dump_source(FIXTURES / "dblp.ttl") as source:
            report = discover(store, "dblp", source, exhaustive=True)
        write_links(store, IRIs("https://w3id.org/scholarkg/"), report)
        text = f"""SELECT ?title ?name WHERE {{ ?p skg:title ?title ; owl:sameAs ?rec .
            SERVICE <{dblp.url}> {{ ?rec dblp:hasSignature ?s . ?s dblp:signatureOrdinal 3 ;
                                    dblp:signatureDblpName ?name }} }}"""
        found = rows(federated(store, text, [dblp.url]))
    assert found == Counter({('"ALMA: Hierarchical Learning for Composite Multi-Agent Tasks"', '"Fei Sha"'): 1,
                             ('"Possibility Before Utility: Learning And Using Hierarchical Affordances"',
                              '"Fei Sha"'): 1,
                             ('"VeLO: Training Versatile Learned Optimizers by Scaling Up"',
                              '"C. Daniel Freeman"'): 1})


@pytest.mark.slow
def test_no_result_is_left_for_another_thread_to_free(ours: EmbeddedStore, dblp: Endpoint) -> None:
    """pyoxigraph cannot free a result on another thread than its own. rdflib's parser leaves garbage cycles
    holding the frames above it; run_federated parses in a thread of its own, so no frame of the caller (which
    later holds the result) is caught in them, and a collection elsewhere frees nothing of pyoxigraph's."""
    info = inspect_query(PREFIXES + SHAPES["join"].replace("<E>", f"<{dblp.url}>"))
    counted: list[int] = []

    def work() -> None:
        result = run_federated(ours, info, service_allow=[dblp.url], timeout=10, default_graph_uris=None,
                               named_graph_uris=None)
        counted.append(sum(1 for _ in result))

    caught: list[Any] = []
    hook = sys.unraisablehook
    gc.disable()
    try:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        sys.unraisablehook = caught.append
        gc.collect()
    finally:
        sys.unraisablehook = hook
        gc.enable()
    assert counted == [11] and caught == []  # the eleven rows of test_a_join_gives_the_right_rows

# ---------------------------------------------------------------------------------------------------- failures


@pytest.mark.slow
def test_service_silent_to_a_dead_port_keeps_the_local_rows(ours: EmbeddedStore) -> None:
    dead = f"http://127.0.0.1:{free_port()}/sparql"
    text = f"SELECT ?title ?rec WHERE {{ {PAPERS} SERVICE SILENT <{dead}> {{ {DBLP_TITLE} }} }}"
    found = rows(federated(ours, text, [dead]))
    assert found == local_rows(ours, f"SELECT ?title (?unbound AS ?rec) WHERE {{ {PAPERS} }}")
    assert sum(found.values()) >= 63


@pytest.mark.parametrize(("respond", "cause"), [
    (lambda body: (500, {"Content-Type": "text/plain"}, b"boom"), "HTTP 500 Internal Server Error: boom"),
    (lambda body: (200, {"Content-Type": "text/html"}, b"<html>"), "answered text/html"),
    (lambda body: (200, {"Content-Type": "application/sparql-results+json"}, b"{not json"), "bad body"),
    (lambda body: (200, {"Content-Type": "application/sparql-results+json"}, b'{"head":{},"boolean":true}'),
     "bad body"),
])
def test_a_failing_endpoint_is_a_remote_service_error(respond: Any, cause: str, ours: EmbeddedStore,
                                                      tiny: Callable[..., Tiny]) -> None:
    failing = tiny(respond)
    text = f"SELECT * WHERE {{ {PAPERS} SERVICE <{failing.url}> {{ {DBLP_TITLE} }} }}"
    with pytest.raises(RemoteServiceError, match=re.escape(f"SERVICE <{failing.url}>")) as error:
        federated(ours, text, [failing.url])
    assert cause in str(error.value)
    silent = text.replace("SERVICE <", "SERVICE SILENT <")
    assert rows(federated(ours, silent, [failing.url])) == local_rows(ours, f"SELECT * WHERE {{ {PAPERS} }}")


def test_a_dead_endpoint_is_a_remote_service_error(ours: EmbeddedStore) -> None:
    dead = f"http://127.0.0.1:{free_port()}/sparql"
    with pytest.raises(RemoteServiceError, match=rf"SERVICE <{re.escape(dead)}>: the call failed"):
        federated(ours, f"SELECT * WHERE {{ SERVICE <{dead}> {{ ?s ?p ?o }} }}", [dead])


def test_a_slow_endpoint_times_out(ours: EmbeddedStore, tiny: Callable[..., Tiny]) -> None:
    def stall(body: bytes) -> tuple[int, dict[str, str], bytes]:
        time.sleep(2)
        return 200, {"Content-Type": "application/sparql-results+json"}, NO_ROWS

    slow = tiny(stall)
    started = time.monotonic()
    with pytest.raises(RemoteServiceError, match=r"no answer within 0.3 s \(setting service_timeout"):
        federated(ours, f"SELECT * WHERE {{ SERVICE <{slow.url}> {{ ?s ?p ?o }} }}", [slow.url], timeout=0.3)
    assert time.monotonic() - started < 1.5


def test_a_redirect_is_not_followed(ours: EmbeddedStore, tiny: Callable[..., Tiny]) -> None:
    trap = tiny(lambda body: (200, {"Content-Type": "application/sparql-results+json"},
                              b'{"head":{"vars":[]},"results":{"bindings":[{}]}}'))
    redirecting = tiny(lambda body: (302, {"Location": trap.url}, b""))
    with pytest.raises(RemoteServiceError, match=rf"redirected \(HTTP 302\) to <{re.escape(trap.url)}>"):
        federated(ours, f"SELECT * WHERE {{ SERVICE <{redirecting.url}> {{ ?s ?p ?o }} }}", [redirecting.url])
    assert len(redirecting.received) == 1 and trap.received == []


def test_an_endpoint_off_the_allow_list_is_refused_before_any_call(ours: EmbeddedStore,
                                                                    tiny: Callable[..., Tiny]) -> None:
    counter = tiny(lambda body: (200, {}, b""))
    for spelling in (f"<{counter.url}>", "ex:sparql"):
        prefix = f"PREFIX ex: <{counter.url.removesuffix('sparql')}>"
        text = f"{prefix} SELECT * WHERE {{ SERVICE {spelling} {{ ?s ?p ?o }} }}"
        with pytest.raises(QueryRefused, match=rf"SERVICE <{re.escape(counter.url)}>: not an allowed endpoint"):
            federated(ours, text, ["https://query.wikidata.org/sparql"])
    assert counter.received == []


@pytest.mark.parametrize(("text", "error", "message"), [
    ("SELECT * WHERE { VALUES ?e { <http://a.example/> } SERVICE ?e { ?s ?p ?o } }", QueryRefused,
     r"SERVICE \?e: a variable endpoint is never allowed"),
    ("SELECT * WHERE { SERVICE <http://a.example/> { SERVICE <http://a.example/> { ?s ?p ?o } } }", QueryError,
     "a SERVICE inside a SERVICE is not supported"),
])
def test_shapes_we_cannot_run_are_refused(text: str, error: type[Exception], message: str,
                                          ours: EmbeddedStore) -> None:
    # rdflib's parser refuses both already; run_federated refuses them on its own too
    info = QueryInfo("SELECT", text, service_iris=("http://a.example/",))
    with pytest.raises(error, match=message):
        run_federated(ours, info, service_allow=["http://a.example/"], timeout=1, default_graph_uris=None,
                      named_graph_uris=None)


def test_too_many_bindings_are_refused_not_sent(ours: EmbeddedStore, tiny: Callable[..., Tiny],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import kg.federation.remote

    monkeypatch.setattr(kg.federation.remote, "MAX_BINDINGS", 50)
    counter = tiny(lambda body: (500, {}, b""))
    with pytest.raises(QueryError, match=r"more than 50 distinct bindings of \?k"):
        federated(ours, f"SELECT * WHERE {{ {PAPERS} SERVICE <{counter.url}> {{ {DBLP_TITLE} }} }}", [counter.url])
    assert counter.received == []


def test_the_engine_never_sees_a_service(tiny: Callable[..., Tiny]) -> None:
    """What reaches the store is checked to have no SERVICE left, whatever the spelling of the clause."""
    seen: list[str] = []

    class Spy(EmbeddedStore):
        def query(self, sparql: str, **kwargs: Any) -> Any:
            seen.append(sparql)
            return super().query(sparql, **kwargs)

    empty = tiny(lambda body: (200, {"Content-Type": "application/sparql-results+json"},
                               json.dumps({"head": {"vars": ["o"]}, "results": {"bindings": [
                                   {"o": {"type": "literal", "value": "x } SERVICE <http://evil/> {"}}]}}).encode()))
    text = rf"""SELECT ?o WHERE {{ BIND("SERVICE <http://evil/> {{ }}" AS ?x) # SERVICE <http://evil/>
        SERV\u0049CE <{empty.url}> {{ ?s ?p ?o }} }}"""
    with Spy(None) as store:
        result = federated(store, text, [empty.url])
        assert rows(result) == Counter({('"x } SERVICE <http://evil/> {"',): 1})
    assert seen and all(inspect_query(query).service_iris == () for query in seen)


ONE_ROW = json.dumps({"head": {"vars": ["o"]}, "results": {"bindings": [
    {"o": {"type": "literal", "value": "remote"}}]}}).encode()


@pytest.mark.parametrize(("text", "expected"), [
    ("select * where { service silent <URL> { ?s ?p ?o } }", 1),
    ("PREFIX ep: <BASE> SELECT ?o WHERE { SERVICE ep:sparql { ?s ?p ?o } }", 1),
    ('SELECT ?o WHERE { OPTIONAL { ?x <http://e.example/p> "}" } SERVICE <URL> { ?s ?p ?o FILTER(?o != "{") }'
     " # } a comment with a brace\n }", 1),
    ('SELECT ?o WHERE { BIND("#" AS ?h) OPTIONAL { ?x <http://e.example/#q> "}" }\n'
     "SERVICE <URL> { ?s <http://e.example/#r> ?o } }", 1),
    ('SELECT ?o WHERE { BIND("#" AS ?h) OPTIONAL { ?x <http://e.example/#q> "}" } '  # `#` before SERVICE
     "SERVICE <URL> { ?s <http://e.example/#r> ?o } SERVICE <URL> { ?s ?p ?o } }", 1),  # on one line
    ("SELECT ?o ?t WHERE { BIND('''SERVICE <http://evil.example/> { }''' AS ?t) SERVICE <URL> { ?s ?p ?o } }", 1),
    ("SELECT ?o WHERE { { SERVICE <URL> { ?s ?p ?o } } UNION { BIND(1 AS ?o) } }", 2),
    ('SELECT ?o WHERE { { { SERVICE <URL> { ?s ?p ?o } } } FILTER(?o = "remote") }', 1),
    ("SELECT (COUNT(*) AS ?n) WHERE { SERVICE <URL> { ?s ?p ?o } SERVICE <URL> { ?s2 ?p2 ?o } }", 1),
    ('ASK { SERVICE <URL> { ?s ?p "remote" } }', 1),
])
def test_spellings_the_lexer_handles(text: str, expected: int, tiny: Callable[..., Tiny]) -> None:
    remote = tiny(lambda body: (200, {"Content-Type": "application/sparql-results+json"}, ONE_ROW))
    text = text.replace("<URL>", f"<{remote.url}>").replace("<BASE>", f"<{remote.url.removesuffix('sparql')}>")
    seen: list[str] = []

    class Spy(EmbeddedStore):
        def query(self, sparql: str, **kwargs: Any) -> Any:
            seen.append(sparql)
            return super().query(sparql, **kwargs)

    with Spy(None) as store:
        assert sum(rows(federated(store, text, [remote.url])).values()) == expected
    assert remote.received and all(inspect_query(query).service_iris == () for query in seen)


# ---------------------------------------------------------------------------------------------------- item 4

DBLP_TERMS = """SELECT DISTINCT ?p ?t ?a WHERE { ?p a dblp:Publication ; dblp:title ?t ; dblp:authoredBy ?a }"""
SCHEMA_TERMS = """SELECT DISTINCT ?p ?t ?a WHERE { ?p a schema:ScholarlyArticle ; schema:name ?t ;
    schema:author ?a }"""
WIKIDATA_TERMS = """SELECT DISTINCT ?p ?t ?a WHERE { ?p wdt:P1476 ?t ; wdt:P50 ?a ; wdt:P577 ?d }"""
OUR_TERMS = """SELECT DISTINCT ?p ?t ?a WHERE { ?p a skg:Paper ; skg:title ?t ; skg:hasAuthor ?a }"""


@pytest.mark.parametrize("text", [DBLP_TERMS, SCHEMA_TERMS, WIKIDATA_TERMS])
def test_queries_in_dblp_schema_org_and_wikidata_terms_return_our_data(text: str, ours: EmbeddedStore) -> None:
    theirs, mine = rows(ours.query(PREFIXES + text)), rows(ours.query(PREFIXES + OUR_TERMS))
    assert set(theirs) == set(mine)
    assert len({p for p, _, _ in mine}) == 63


def test_dblp_signatures_read_our_bylines(ours: EmbeddedStore) -> None:
    text = """SELECT ?t ?o ?a WHERE { ?p dblp:title ?t ; dblp:hasSignature ?s .
        ?s a dblp:AuthorSignature ; dblp:signatureOrdinal ?o ; dblp:signatureCreator ?a } ORDER BY ?t ?o"""
    found = [(t, o, a) for t, o, a in rows(ours.query(PREFIXES + text))
             if t == '"ALMA: Hierarchical Learning for Composite Multi-Agent Tasks"']
    people = [a.rsplit("/", 1)[1][:-1] for _, _, a in sorted(found, key=lambda r: r[1])]
    assert people == ["shariq-iqbal", "robby-costales", "fei-sha"]


@pytest.mark.slow
def test_one_dblp_query_runs_on_dblp_and_here(ours: EmbeddedStore, dblp: Endpoint) -> None:
    text = PREFIXES + """SELECT ?t WHERE { ?p a dblp:Publication ; dblp:title ?t ; dblp:authoredBy ?a .
        ?p2 dblp:authoredBy ?a ; dblp:title ?t2 FILTER(CONTAINS(LCASE(?t2), "alma")) }"""
    there = httpx.post(dblp.url, data={"query": text}, headers={"Accept": "application/sparql-results+json"})
    titles_there = {normal(b["t"]["value"]) for b in there.json()["results"]["bindings"]}
    titles_here = {normal(t[1:-1]) for (t,) in rows(ours.query(text))}
    assert "alma hierarchical learning for composite multi agent tasks" in titles_there & titles_here
    assert len(titles_here) > 10 and len(titles_there) >= 5


def normal(title: str) -> str:
    from kg.vocab import normalize_title

    return normalize_title(title)

