"""kg.sandbox: queries past their time limit are really stopped (worker killed, replaced), replicas follow every
write, errors keep their class, crashes and orphans leave nothing behind; ClientLimiter counts per client."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kg.config import Settings
from kg.errors import (
    NotAcceptable,
    QueryError,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    StoreError,
    TooManyRequests,
    UsageError,
)
from kg.query import inspect_query, run_query
from kg.sandbox import ClientLimiter, QueryPool
from kg.store import EmbeddedStore, Store

ROOT = Path(__file__).resolve().parent.parent
G = "https://w3id.org/scholarkg/graph/sandbox-test"
# Five unconstrained patterns over the seeds' ~6,000 quads: ~10^19 rows to count, so it never ends by itself.
ENDLESS_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"
ENDLESS_REGEX = ("SELECT ?a WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i "
                 "FILTER(REGEX(CONCAT(STR(?c), STR(?f), STR(?i)), '^(a|aa)+$')) } LIMIT 1")
ASK = "ASK { ?s ?p ?o }"
TRUE = b'{"head":{},"boolean":true}'


def body(pool: QueryPool, text: str, **kwargs: object) -> bytes:
    return b"".join(pool.run(text, accept="json", **kwargs).body)  # type: ignore[arg-type]


def local(store: Store, text: str, accept: str, max_rows: int = 10_000) -> bytes:
    """The answer run_query gives in this process. The text is parsed first, on its own: rdflib's parser leaves
    reference cycles holding the frames on the stack, and a pyoxigraph result held by one of them would be freed
    by the garbage collector in whatever thread runs it, which pyoxigraph refuses (an unraisable error)."""
    inspect_query(text)
    return b"".join(run_query(store, text, accept=accept, max_rows=max_rows, service_allow=()).body)


def count_in(pool: QueryPool, graph: str = G) -> int:
    data = json.loads(body(pool, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"))
    return int(data["results"]["bindings"][0]["n"]["value"])


def value_in(pool: QueryPool) -> int:
    """The integer <urn:x> <urn:v> holds in G; -1 when absent."""
    data = json.loads(body(pool, f"SELECT ?v WHERE {{ GRAPH <{G}> {{ <urn:x> <urn:v> ?v }} }}"))
    rows = data["results"]["bindings"]
    return int(rows[0]["v"]["value"]) if rows else -1


def triples(n: int, offset: int = 0) -> bytes:
    return b"".join(b"<urn:s%d> <urn:p> <urn:o%d> .\n" % (i, i) for i in range(offset, offset + n))


def alive(pid: int) -> bool:
    """True while the process runs (a zombie, dead but not yet reaped, counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def pids(pool: QueryPool) -> list[int]:
    return [r["pid"] for r in pool.status()["replicas"] if r["pid"] is not None]


def wait_for(condition: object, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@pytest.fixture
def disk_store(tmp_path: Path, seed_nquads: bytes) -> Iterator[EmbeddedStore]:
    with EmbeddedStore(tmp_path / "store") as store:
        store.load(seed_nquads, "nquads")
        yield store


@pytest.fixture
def pool(disk_store: EmbeddedStore) -> Iterator[QueryPool]:
    with QueryPool(disk_store, Settings(query_workers=2)) as started:
        assert started.wait_ready(60)
        wait_for(lambda: started.status()["idle"] == 2)
        yield started


# ---------------------------------------------------------------------------------------------------- time limit


@pytest.mark.parametrize("query", [ENDLESS_COUNT, ENDLESS_REGEX], ids=["count", "regex"])
def test_a_query_past_its_time_limit_is_stopped_and_its_worker_replaced(pool: QueryPool, query: str) -> None:
    before = set(pids(pool))
    start = time.monotonic()
    with pytest.raises(QueryTimeout, match=r"stopped after 1 s \(setting query_timeout, env KG_QUERY_TIMEOUT\)"):
        pool.run(query, accept="json", timeout=1)
    assert time.monotonic() - start < 2.0
    killed = before - set(pids(pool))
    assert len(killed) == 1 and not alive(killed.pop())  # really stopped, not left running
    assert body(pool, ASK) == TRUE
    wait_for(lambda: len(pids(pool)) == 2 and pool.status()["idle"] == 2)
    status = pool.status()
    assert status["timeouts"] == 1 and status["restarts"] == 1
    assert all(body(pool, ASK) == TRUE for _ in range(4))


def test_other_workers_keep_answering_during_a_long_query(pool: QueryPool) -> None:
    with ThreadPoolExecutor(1) as executor:
        stuck = executor.submit(pool.run, ENDLESS_COUNT, accept="json", timeout=4)
        time.sleep(0.3)
        for _ in range(20):
            start = time.monotonic()
            assert body(pool, ASK) == TRUE
            assert time.monotonic() - start < 1.0
        with pytest.raises(QueryTimeout):
            stuck.result(timeout=10)


def test_no_free_worker_in_time_is_a_timeout_not_a_wait_for_ever(pool: QueryPool) -> None:
    with ThreadPoolExecutor(2) as executor:
        stuck = [executor.submit(pool.run, ENDLESS_COUNT, accept="json", timeout=3) for _ in range(2)]
        time.sleep(0.5)
        with pytest.raises(QueryTimeout, match="all 2 are busy"):
            pool.run(ASK, accept="json", timeout=0.5)
        for future in stuck:
            with pytest.raises(QueryTimeout):
                future.result(timeout=10)
    assert body(pool, ASK) == TRUE


def test_an_allowed_service_that_never_answers_is_stopped_with_its_query(pool: QueryPool) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/sparql"
        start = time.monotonic()
        with pytest.raises(QueryTimeout, match="stopped after 1 s"):
            pool.run(f"SELECT * WHERE {{ ?s a <http://schema.org/Person> SERVICE <{url}> {{ ?s ?p ?o }} }}",
                     accept="json", service_allow=(url,), service_timeout=60, timeout=1)
        assert time.monotonic() - start < 2.0
    assert body(pool, ASK) == TRUE


# ---------------------------------------------------------------------------------------------------- answers


def test_answers_match_in_process_execution_from_many_threads(pool: QueryPool, disk_store: EmbeddedStore) -> None:
    queries = [
        ("PREFIX schema: <http://schema.org/> SELECT ?t WHERE { ?p a schema:ScholarlyArticle ; schema:name ?t } "
         "ORDER BY ?t", "json"),
        ("PREFIX schema: <http://schema.org/> SELECT ?p ?t WHERE { ?p schema:name ?t } ORDER BY ?p ?t", "csv"),
        ("ASK { ?s a <http://schema.org/Person> }", "xml"),
        ("PREFIX schema: <http://schema.org/> CONSTRUCT { ?p schema:name ?t } WHERE { ?p schema:name ?t }",
         "ntriples"),
    ]
    expected = {(q, f): local(disk_store, q, f) for q, f in queries}

    def ask(index: int) -> bool:
        text, fmt = queries[index % len(queries)]
        answer = b"".join(pool.run(text, accept=fmt).body)
        if fmt == "ntriples":
            return sorted(answer.splitlines()) == sorted(expected[(text, fmt)].splitlines())
        return answer == expected[(text, fmt)]

    with ThreadPoolExecutor(8) as executor:
        assert all(executor.map(ask, range(80)))
    assert sum(r["queries"] for r in pool.status()["replicas"]) == 80


def test_row_limit_and_truncation_come_back(pool: QueryPool) -> None:
    outcome = pool.run("SELECT * WHERE { ?s ?p ?o }", accept="tsv", max_rows=7)
    assert outcome.truncated and outcome.count == 7 and outcome.form == "SELECT"
    assert outcome.media_type == "text/tab-separated-values" and len(b"".join(outcome.body).splitlines()) == 8


def test_errors_come_back_with_their_class_and_message(pool: QueryPool, disk_store: EmbeddedStore) -> None:
    cases: list[tuple[str, str, type[QueryError] | type[NotAcceptable]]] = [
        ("SELECT * WHERE { ?s ?p }", "json", QuerySyntaxError),
        ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", "json", QueryRefused),
        ("SELECT * WHERE { SERV\\u0049CE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", "json", QueryRefused),
        ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "json", QueryError),
        ("ASK { ?s ?p ?o }", "text/html", NotAcceptable),
    ]
    for text, accept, kind in cases:
        with pytest.raises(kind) as in_process:
            local(disk_store, text, accept)
        with pytest.raises(kind) as pooled:
            pool.run(text, accept=accept, service_allow=())
        assert type(pooled.value) is type(in_process.value) and str(pooled.value) == str(in_process.value)
    assert pool.status().get("restarts", 0) == 0  # a refused query costs no worker


# ---------------------------------------------------------------------------------------------------- writes


def test_writes_are_seen_by_the_next_query_in_every_worker(pool: QueryPool, disk_store: EmbeddedStore) -> None:
    pool.store.replace_graphs([], [(G, triples(5))])
    assert [count_in(pool) for _ in range(6)] == [5] * 6
    pool.store.update(f"INSERT DATA {{ GRAPH <{G}> {{ <urn:s99> <urn:p> <urn:o99> }} }}")
    assert [count_in(pool) for _ in range(6)] == [6] * 6
    pool.store.load(triples(3, offset=200), "ntriples", graph=G)
    assert [count_in(pool) for _ in range(6)] == [9] * 6
    pool.store.replace_graphs([G], [])
    assert [count_in(pool) for _ in range(6)] == [0] * 6
    status = pool.status()
    assert {r["generation"] for r in status["replicas"]} == {status["generation"]} == {4}
    assert status["log_entries"] == 0  # every replica applied everything: the log is empty again
    assert G not in disk_store.named_graphs()  # the primary was written first


def test_a_query_never_sees_a_state_older_than_the_last_write(pool: QueryPool) -> None:
    committed = [-1]
    stop = threading.Event()
    stale: list[tuple[int, int]] = []

    def read() -> None:
        while not stop.is_set():
            floor = committed[0]
            seen = value_in(pool)
            if seen < floor:
                stale.append((floor, seen))

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for value in range(60):
            blob = b'<urn:x> <urn:v> "%d"^^<http://www.w3.org/2001/XMLSchema#integer> .\n' % value
            pool.store.replace_graphs([G], [(G, blob)])
            committed[0] = value
            time.sleep(0.005)
    finally:
        stop.set()
        for reader in readers:
            reader.join(30)
    assert not stale
    assert value_in(pool) == 59


def test_an_update_with_now_rebuilds_the_replicas_instead_of_replaying(pool: QueryPool,
                                                                       disk_store: EmbeddedStore) -> None:
    pool.store.update(f"INSERT {{ GRAPH <{G}> {{ <urn:x> <urn:at> ?now }} }} WHERE {{ BIND(NOW() AS ?now) }}")
    query = f"SELECT ?t WHERE {{ GRAPH <{G}> {{ <urn:x> <urn:at> ?t }} }}"
    expected = local(disk_store, query, "csv")
    assert {b"".join(pool.run(query, accept="csv").body) for _ in range(4)} == {expected}


def test_a_long_write_log_without_queries_recycles_idle_workers(pool: QueryPool,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kg.sandbox.writelog.MAX_LOG_BYTES", 2_000)
    for step in range(20):
        pool.store.replace_graphs([], [(G, triples(10, offset=10 * step))])
        assert pool.status()["log_entries"] <= 20
    assert count_in(pool) == 200
    wait_for(lambda: pool.status()["idle"] == 2)
    assert [count_in(pool) for _ in range(4)] == [200] * 4
    assert pool.status().get("recycled", 0) >= 1


def test_memory_store_replicas_load_an_nquads_snapshot(seed_nquads: bytes) -> None:
    with EmbeddedStore(None) as memory:
        memory.load(seed_nquads, "nquads")
        with QueryPool(memory, Settings(query_workers=2)) as pool:
            assert pool.wait_ready(60)
            pool.store.replace_graphs([], [(G, triples(4))])
            assert [count_in(pool) for _ in range(4)] == [4] * 4
            with pytest.raises(QueryTimeout):
                pool.run(ENDLESS_COUNT, accept="json", timeout=1)
            assert body(pool, ASK) == TRUE
            wait_for(lambda: pool.status()["idle"] == 2)
            assert [count_in(pool) for _ in range(4)] == [4] * 4  # the replacement replayed nothing it missed


# ---------------------------------------------------------------------------------------------------- crashes


def test_a_worker_that_dies_mid_query_gives_a_503_class_error_and_is_replaced(disk_store: EmbeddedStore) -> None:
    with QueryPool(disk_store, Settings(query_workers=1)) as pool, ThreadPoolExecutor(1) as executor:
        assert pool.wait_ready(60)
        [busy] = pids(pool)
        running = executor.submit(pool.run, ENDLESS_COUNT, accept="json", timeout=30)
        time.sleep(0.5)
        os.kill(busy, signal.SIGABRT)  # as a native abort inside the query engine would
        start = time.monotonic()
        with pytest.raises(StoreError, match=r"stopped its worker process \(exit code -6\)"):
            running.result(timeout=10)
        assert time.monotonic() - start < 5
        assert body(pool, ASK) == TRUE
        assert pool.status()["crashes"] == 1 and pids(pool) != [busy]


def test_a_worker_that_died_while_idle_is_replaced_before_use(pool: QueryPool) -> None:
    for pid in pids(pool):
        os.kill(pid, signal.SIGKILL)
    assert body(pool, ASK) == TRUE  # takes a fresh worker instead of failing
    wait_for(lambda: pool.status()["idle"] == 2)
    assert pool.status()["stale"] == 2


ORPHAN = """
import sys, time
from pathlib import Path
from kg.config import Settings
from kg.sandbox import QueryPool
from kg.store import EmbeddedStore
store = EmbeddedStore(Path(sys.argv[1]))
pool = QueryPool(store, Settings(query_workers=1))
pool.wait_ready(60)
print(pool.status()["replicas"][0]["pid"], flush=True)
pool.run(sys.argv[2], accept="json", timeout=600)
"""


def test_workers_end_when_their_server_is_killed(tmp_path: Path, seed_nquads: bytes) -> None:
    with EmbeddedStore(tmp_path / "store") as store:
        store.load(seed_nquads, "nquads")
    with subprocess.Popen([sys.executable, "-c", ORPHAN, str(tmp_path / "store"), ENDLESS_COUNT], cwd=ROOT,
                          stdout=subprocess.PIPE, text=True) as server:
        assert server.stdout is not None
        worker = int(server.stdout.readline())
        time.sleep(0.5)
        assert alive(worker)
        server.kill()
    wait_for(lambda: not alive(worker), 10)
    with EmbeddedStore(tmp_path / "store") as reopened:  # and the store is free again
        assert reopened.quad_count() > 0


# ---------------------------------------------------------------------------------------------------- life cycle


def test_start_up_does_not_wait_for_the_workers(disk_store: EmbeddedStore) -> None:
    start = time.monotonic()
    with QueryPool(disk_store, Settings(query_workers=2)) as pool:
        assert time.monotonic() - start < 0.2
        assert body(pool, ASK) == TRUE  # answered in this process while the workers start
        assert pool.wait_ready(60) and pool.status()["mode"] == "workers"


def test_zero_workers_runs_in_process_with_the_time_limit_kept_for_the_caller() -> None:
    with EmbeddedStore(None) as memory:
        memory.replace_graphs([], [(G, triples(2500))])
        with QueryPool(memory, Settings(query_workers=0)) as pool:
            assert pool.status()["mode"] == "in-process" and not pool.wait_ready(0.1)
            assert count_in(pool) == 2500
            start = time.monotonic()
            with pytest.raises(QueryTimeout, match=r"stopped after 0\.3 s"):  # ~6M rows: ends on its own later
                pool.run("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }", accept="json", timeout=0.3)
            assert time.monotonic() - start < 1.0
            pool.store.replace_graphs([], [(G, triples(1, offset=5000))])
            assert memory.quad_count() == 2501


def test_query_workers_setting_accepts_zero_and_refuses_negatives() -> None:
    assert Settings.from_env({"KG_QUERY_WORKERS": "0"}).query_workers == 0
    with pytest.raises(UsageError, match=r"KG_QUERY_WORKERS: expected 0 .* or more, got -1"):
        Settings.from_env({"KG_QUERY_WORKERS": "-1"})


def test_close_leaves_no_process_and_no_replica_folder(disk_store: EmbeddedStore, tmp_path: Path) -> None:
    stale = tmp_path / ".store.replicas-999999999-x"  # left by a server that was killed: removed at start
    (stale / "r1").mkdir(parents=True)
    pool = QueryPool(disk_store, Settings(query_workers=3))
    assert pool.wait_ready(60)
    wait_for(lambda: len(pids(pool)) == 3)
    started = pids(pool)
    assert not stale.exists()
    assert [p.name for p in tmp_path.glob(".store.replicas-*")] != []
    pool.close()
    assert not [pid for pid in started if alive(pid)]
    assert list(tmp_path.glob(".store.replicas-*")) == []
    with pytest.raises(StoreError, match="stopped"):
        pool.run(ASK, accept="json")
    assert disk_store.quad_count() > 0  # the primary stays open: its owner closes it


def test_closing_the_replicated_store_closes_pool_and_primary(tmp_path: Path) -> None:
    primary: Store = EmbeddedStore(tmp_path / "store")
    pool = QueryPool(primary, Settings(query_workers=1))
    assert pool.wait_ready(60)
    started = pids(pool)
    pool.store.close()
    assert not [pid for pid in started if alive(pid)]
    with pytest.raises(StoreError, match="closed"):
        primary.quad_count()


# ---------------------------------------------------------------------------------------------------- limiter


def test_client_limiter_refuses_the_query_over_the_limit() -> None:
    limiter = ClientLimiter(2)
    limiter.acquire("10.0.0.1")
    limiter.acquire("10.0.0.1")
    limiter.acquire("10.0.0.2")  # another client has its own budget
    with pytest.raises(TooManyRequests, match=r"client 10.0.0.1: 2 queries are already running; expected at most "
                                              r"2 .*KG_MAX_CONCURRENT_PER_CLIENT") as refused:
        limiter.acquire("10.0.0.1")
    assert refused.value.retry_after == 1
    limiter.release("10.0.0.1")
    with limiter.slot("10.0.0.1"):
        assert limiter.running("10.0.0.1") == 2
    limiter.release("10.0.0.1")
    limiter.release("10.0.0.2")
    assert limiter.running("10.0.0.1") == limiter.running("10.0.0.2") == 0
    assert limiter._running == {}  # no entry kept per past client


def test_client_limiter_holds_under_contention() -> None:
    limiter = ClientLimiter(3)
    inside = [0]
    peak = [0]
    refused = [0]
    lock = threading.Lock()

    def client(_: int) -> None:
        for _ in range(200):
            try:
                with limiter.slot("one"):
                    with lock:
                        inside[0] += 1
                        peak[0] = max(peak[0], inside[0])
                    time.sleep(0.0002)
                    with lock:
                        inside[0] -= 1
            except TooManyRequests:
                with lock:
                    refused[0] += 1

    with ThreadPoolExecutor(8) as executor:
        list(executor.map(client, range(8)))
    assert peak[0] == 3 and refused[0] > 0 and limiter.running("one") == 0
