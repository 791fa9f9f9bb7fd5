"""The fast lane: which texts are provably bounded (kg.sandbox.bounded) — adversarial texts all go to the workers —
and the pool running bounded texts in the calling thread with the same answers, falling back when no slot is free."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from kg.config import Settings
from kg.errors import QuerySyntaxError, UsageError
from kg.sandbox import QueryPool
from kg.sandbox.bounded import FastLane, bounded
from kg.sandbox.worker import QueryRequest
from kg.store import EmbeddedStore

S = "https://w3id.org/scholarkg/paper/x"
P = "http://schema.org/name"
JSON = "application/sparql-results+json"

BOUNDED = [
    f"SELECT ?p ?o WHERE {{ <{S}> ?p ?o }}",
    f"select ?p ?o where {{ <{S}> ?p ?o . }}",
    f"SELECT * {{ <{S}> ?p ?o }}",
    f"SELECT DISTINCT ?o WHERE {{ <{S}> <{P}> ?o }} LIMIT 10 OFFSET 5",
    f"SELECT REDUCED ?p WHERE {{ <{S}> ?p ?o }} OFFSET 1 LIMIT 2",
    "PREFIX s: <http://schema.org/>\nPREFIX : <https://w3id.org/scholarkg/paper/>\nSELECT ?o { :x s:name ?o }",
    f"ASK {{ <{S}> a <https://w3id.org/scholarkg/ontology#Paper> }}",
    f"ASK WHERE {{ <{S}> <{P}> \"A title\"@en }}",
    f"ASK {{ <{S}> <{P}> \"A {{ title }} # not a comment\" }}",
    f"ASK {{ <{S}> <{P}> 'single' }}",
    f"ASK {{ <{S}> <{P}> \"x\"^^<http://www.w3.org/2001/XMLSchema#string> }}",
    f"ASK {{ <{S}> <{P}> 12 }}",
    f"ASK {{ <{S}> <{P}> 1.5 }}",
    f"ASK {{ <{S}> <{P}> true }}",
    f"CONSTRUCT WHERE {{ <{S}> ?p ?o }}",
    f"CONSTRUCT {{ <{S}> ?p ?o }} WHERE {{ <{S}> ?p ?o }} LIMIT 3",
    f"DESCRIBE <{S}>",
    f"# a comment with {{ ?s ?p ?o }} and a }}\nSELECT ?p ?o WHERE {{ <{S}> ?p ?o }} # trailing }} {{ ?s ?p ?o }}",
    f"SELECT ?p ?o WHERE {{ <{S}#frag> ?p ?o }}",
]

UNBOUNDED = {
    "variable subject": "SELECT * WHERE { ?s ?p ?o }",
    "two patterns": f"SELECT * WHERE {{ <{S}> ?p ?o . <{S}> ?q ?r }}",
    "two patterns joined": f"SELECT * WHERE {{ <{S}> ?p ?o . ?o ?q ?r }}",
    "predicate list": f"SELECT * WHERE {{ <{S}> ?p ?o ; ?q ?r }}",
    "object list": f"SELECT * WHERE {{ <{S}> <{P}> ?o , ?r }}",
    "path sequence": f"SELECT * WHERE {{ <{S}> <{P}>/<{P}> ?o }}",
    "path star": f"SELECT * WHERE {{ <{S}> <{P}>* ?o }}",
    "path plus": f"SELECT * WHERE {{ <{S}> <{P}>+ ?o }}",
    "inverse path": f"SELECT * WHERE {{ <{S}> ^<{P}> ?o }}",
    "alternative path": f"SELECT * WHERE {{ <{S}> <{P}>|<{P}> ?o }}",
    "negated path": f"SELECT * WHERE {{ <{S}> !<{P}> ?o }}",
    "optional": f"SELECT * WHERE {{ <{S}> ?p ?o OPTIONAL {{ ?o ?q ?r }} }}",
    "union": f"SELECT * WHERE {{ {{ <{S}> ?p ?o }} UNION {{ ?s ?p ?o }} }}",
    "nested group": f"SELECT * WHERE {{ {{ <{S}> ?p ?o }} }}",
    "minus": f"SELECT * WHERE {{ <{S}> ?p ?o MINUS {{ ?o ?q ?r }} }}",
    "values inside": f"SELECT * WHERE {{ VALUES ?x {{ 1 2 }} <{S}> ?p ?o }}",
    "values after": f"SELECT * WHERE {{ <{S}> ?p ?o }} VALUES ?x {{ 1 2 }}",
    "graph variable": f"SELECT * WHERE {{ GRAPH ?g {{ <{S}> ?p ?o }} }}",
    "graph constant": f"SELECT * WHERE {{ GRAPH <{S}> {{ <{S}> ?p ?o }} }}",
    "bind": f"SELECT * WHERE {{ <{S}> ?p ?o BIND(1 AS ?x) }}",
    "filter": f"SELECT * WHERE {{ <{S}> ?p ?o FILTER(?o != 1) }}",
    "filter exists": f"SELECT * WHERE {{ <{S}> ?p ?o FILTER EXISTS {{ ?s ?p ?o }} }}",
    "subquery": "SELECT * WHERE { { SELECT * WHERE { ?s ?p ?o } } }",
    "aggregate": f"SELECT (COUNT(*) AS ?n) WHERE {{ <{S}> ?p ?o }}",
    "group by": f"SELECT ?p WHERE {{ <{S}> ?p ?o }} GROUP BY ?p",
    "order by": f"SELECT * WHERE {{ <{S}> ?p ?o }} ORDER BY ?o",
    "order by expression": f"SELECT * WHERE {{ <{S}> ?p ?o }} ORDER BY DESC(?o)",
    "construct order by": f"CONSTRUCT WHERE {{ <{S}> ?p ?o }} ORDER BY ?o",
    "service": f"SELECT * WHERE {{ SERVICE <http://example.org/sparql> {{ <{S}> ?p ?o }} }}",
    "from": f"SELECT * FROM <http://example.org/g> WHERE {{ <{S}> ?p ?o }}",
    "from named": f"SELECT * FROM NAMED <http://example.org/g> WHERE {{ <{S}> ?p ?o }}",
    "base": "BASE <http://example.org/> SELECT * WHERE { <x> ?p ?o }",
    "file iri": "SELECT * WHERE { <file:///etc/passwd> ?p ?o }",
    "escaped brace": f"SELECT * WHERE {{ <{S}> ?p ?o \\u007D . ?s ?p ?o }}",
    "escaped subject": f"SELECT * WHERE {{ \\u003C{S}> ?p ?o }}",
    "escape in a string": f"ASK {{ <{S}> <{P}> \"a\\\"}} {{ ?s ?p ?o\" }}",
    "long string": f"ASK {{ <{S}> <{P}> \"\"\"x }} {{ ?s ?p ?o \"\"\" }}",
    "comment hides nothing": f"SELECT * WHERE {{ <{S}> ?p ?o }} # }}\n {{ ?s ?p ?o }}",
    "blank node subject": "SELECT * WHERE { _:b ?p ?o }",
    "anonymous subject": "SELECT * WHERE { [] ?p ?o }",
    "property list subject": f"SELECT * WHERE {{ [ <{P}> ?x ] ?p ?o }}",
    "collection": f"SELECT * WHERE {{ <{S}> <{P}> ( 1 2 ) }}",
    "quoted triple": f"SELECT * WHERE {{ << <{S}> <{P}> ?o >> ?p ?x }}",
    "variable predicate and subject": f"SELECT * WHERE {{ ?s <{P}> ?o }}",
    "literal subject": "SELECT * WHERE { \"x\" ?p ?o }",
    "describe variable": f"DESCRIBE ?o WHERE {{ <{S}> ?p ?o }}",
    "describe two": f"DESCRIBE <{S}> <{S}2>",
    "describe star": "DESCRIBE *",
    "construct two templates": f"CONSTRUCT {{ ?s ?p ?o . ?o ?p ?s }} WHERE {{ <{S}> ?p ?o }}",
    "construct where two": f"CONSTRUCT WHERE {{ <{S}> ?p ?o . ?o ?q ?r }}",
    "second query": f"SELECT * WHERE {{ <{S}> ?p ?o }} SELECT * WHERE {{ ?s ?p ?o }}",
    "empty group after": f"SELECT * WHERE {{ <{S}> ?p ?o }} {{ }}",
    "limit not an integer": f"SELECT * WHERE {{ <{S}> ?p ?o }} LIMIT 1.5",
    "two limits": f"SELECT * WHERE {{ <{S}> ?p ?o }} LIMIT 1 LIMIT 2",
    "having": f"SELECT * WHERE {{ <{S}> ?p ?o }} HAVING (?o)",
    "update": f"DELETE WHERE {{ <{S}> ?p ?o }}",
    "insert": f"INSERT DATA {{ <{S}> <{P}> 1 }}",
    "double with exponent": f"ASK {{ <{S}> <{P}> 1.5e3 }}",
    "name glued to a variable": f"SELECT * WHERE {{ <{S}> ?p ?o-x }}",
    "prefixed name with a path slash": f"PREFIX k: <{S}> SELECT * WHERE {{ k:a/k:b ?p ?o }}",
    "prefixed name with a colon chain": f"PREFIX k: <{S}> SELECT * WHERE {{ k:a ?p k:b:c/k:d }}",
    "non-ASCII variable": f"SELECT * WHERE {{ <{S}> ?p ?ö }}",
    "no-break space as white space": f"SELECT\u00a0* WHERE {{ <{S}> ?p ?o }}",
    "keyword spelt oddly": f"SELECT * WHERE {{ <{S}> ?p ?o }} LIMIT10",
    "no where group": "SELECT * WHERE",
    "empty": "",
    "only a comment": "# SELECT * WHERE { <x> ?p ?o }",
}


@pytest.mark.parametrize("text", BOUNDED)
def test_bounded_texts_are_recognised(text: str) -> None:
    assert bounded(text)


@pytest.mark.parametrize("name", sorted(UNBOUNDED))
def test_everything_else_goes_to_the_workers(name: str) -> None:
    assert not bounded(UNBOUNDED[name]), name


def test_a_dataset_given_by_the_protocol_is_not_bounded() -> None:
    assert not bounded(BOUNDED[0], default_graph_uris=("http://example.org/g",))
    assert not bounded(BOUNDED[0], named_graph_uris=("http://example.org/g",))


# ------------------------------------------------------------------------------------------ the pool's fast lane


@pytest.fixture(scope="module")
def disk_store(tmp_path_factory: pytest.TempPathFactory, seed_nquads: bytes) -> Iterator[EmbeddedStore]:
    store = EmbeddedStore(Path(tmp_path_factory.mktemp("fastlane")) / "store")
    store.load(seed_nquads, "nquads")
    yield store
    store.close()


@pytest.fixture(scope="module")
def paper(disk_store: EmbeddedStore) -> str:
    rows = list(disk_store.query("SELECT ?p WHERE { ?p a <https://w3id.org/scholarkg/ontology#Paper> } "
                                 "ORDER BY ?p LIMIT 1"))
    return str(rows[0][0].value)


def lookups(paper: str) -> list[tuple[str, str]]:
    """(text, accept): bounded texts over a real paper, in several forms and formats."""
    return [(f"SELECT ?p ?o WHERE {{ <{paper}> ?p ?o }}", JSON),
            (f"SELECT ?p ?o WHERE {{ <{paper}> ?p ?o }}", "text/csv"),
            (f"SELECT ?o WHERE {{ <{paper}> <http://schema.org/name> ?o }}", "application/sparql-results+xml"),
            (f"ASK {{ <{paper}> a <https://w3id.org/scholarkg/ontology#Paper> }}", JSON),
            (f"DESCRIBE <{paper}>", "application/n-triples"),
            (f"CONSTRUCT WHERE {{ <{paper}> ?p ?o }}", "text/turtle")]


def test_bounded_queries_run_in_the_fast_lane_with_the_workers_answers(disk_store: EmbeddedStore,
                                                                      paper: str) -> None:
    with QueryPool(disk_store, Settings(fast_lane_slots=0)) as workers, \
            QueryPool(disk_store, Settings(fast_lane_slots=2)) as fast:
        assert workers.wait_ready(120) and fast.wait_ready(120)
        for text, accept in lookups(paper):
            expected = workers.run(text, accept=accept)
            got = fast.run(text, accept=accept)
            assert (got.form, got.media_type, got.count, got.truncated) == \
                (expected.form, expected.media_type, expected.count, expected.truncated), text
            body, want = b"".join(got.body), b"".join(expected.body)
            if got.form in ("SELECT", "ASK"):
                assert body == want, text
            else:  # graphs: the same triples (blank node labels and order may differ)
                assert isomorphic(Graph().parse(data=body, format=got.format),
                                  Graph().parse(data=want, format=expected.format)), text
            assert got.count > 0
        assert fast.status()["fast_lane"] == len(lookups(paper))
        assert "fast_lane" not in workers.status()
        unbounded = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
        assert b"".join(fast.run(unbounded, accept=JSON).body) == b"".join(workers.run(unbounded, accept=JSON).body)
        assert fast.status()["fast_lane"] == len(lookups(paper))  # that one went to a worker


def test_the_fast_lane_keeps_the_row_limit_and_reports_errors(disk_store: EmbeddedStore, paper: str) -> None:
    with QueryPool(disk_store, Settings(fast_lane_slots=1), workers=0) as pool:
        cut = pool.run(f"SELECT ?p ?o WHERE {{ <{paper}> ?p ?o }}", accept="text/tab-separated-values", max_rows=2)
        assert cut.truncated and cut.count == 2 and len(b"".join(cut.body).splitlines()) == 3
        with pytest.raises(QuerySyntaxError):
            pool.run("SELECT ?o WHERE { undeclared:x ?p ?o }", accept=JSON)
        assert pool.status()["fast_lane"] == 2  # the refused one ran there too, and failed there


def test_a_full_fast_lane_sends_the_query_on(disk_store: EmbeddedStore, paper: str) -> None:
    lane = FastLane(disk_store, 1)
    request = QueryRequest(f"SELECT ?p ?o WHERE {{ <{paper}> ?p ?o }}", JSON, 100, (), (), (), 1.0)
    assert lane.run(request) is not None and lane.run(request)[0] == "ok"  # type: ignore[index]
    assert lane._slots is not None and lane._slots.acquire(blocking=False)  # someone holds the only slot
    try:
        assert lane.run(request) is None
    finally:
        lane._slots.release()
    assert FastLane(disk_store, 0).run(request) is None
    unbounded = QueryRequest("SELECT * WHERE { ?s ?p ?o } LIMIT 1", JSON, 100, (), (), (), 1.0)
    assert lane.run(unbounded) is None


def test_fast_lane_queries_from_many_threads(disk_store: EmbeddedStore, paper: str) -> None:
    with QueryPool(disk_store, Settings(fast_lane_slots=2), workers=0) as pool:
        text = f"SELECT ?p ?o WHERE {{ <{paper}> ?p ?o }}"
        expected = b"".join(pool.run(text, accept=JSON).body)
        before = pool.status()["fast_lane"]
        errors: list[BaseException] = []

        def client() -> None:
            try:
                for _ in range(20):
                    assert b"".join(pool.run(text, accept=JSON).body) == expected
            except BaseException as error:  # handed to the main thread
                errors.append(error)

        threads = [threading.Thread(target=client) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        assert pool.status()["fast_lane"] > before  # some of the 120 found a slot (the others fell back)


def test_fast_lane_slots_setting_accepts_zero_and_refuses_negatives() -> None:
    assert Settings.from_env({"KG_FAST_LANE_SLOTS": "0"}).fast_lane_slots == 0
    with pytest.raises(UsageError, match="KG_FAST_LANE_SLOTS"):
        Settings.from_env({"KG_FAST_LANE_SLOTS": "-1"})


def test_a_subject_with_many_triples_is_cut_at_the_row_cap_in_the_fast_lane() -> None:
    hub = "http://example.org/hub"
    lines = "".join(f'<{hub}> <http://example.org/p{i % 7}> "{i}" .\n' for i in range(30_000))
    with EmbeddedStore(None) as store:
        store.load(lines.encode(), "ntriples", "http://example.org/g")
        with QueryPool(store, Settings(fast_lane_slots=1), workers=0) as pool:
            for text, accept in ((f"SELECT ?p ?o WHERE {{ <{hub}> ?p ?o }}", JSON),
                                 (f"DESCRIBE <{hub}>", "application/n-triples"),
                                 (f"CONSTRUCT WHERE {{ <{hub}> ?p ?o }}", "application/n-triples")):
                cut = pool.run(text, accept=accept, max_rows=50)
                assert (cut.truncated, cut.count) == (True, 50), text
            assert pool.status()["fast_lane"] == 3
