"""kg.query: every media type round-trips, q-value negotiation, row limits, datasets, and query inspection that
no spelling (\\u escapes, prefixed names, relative IRIs) gets past."""

from __future__ import annotations

import csv
import io
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pyoxigraph
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from kg.errors import NotAcceptable, QueryError, QueryRefused, QuerySyntaxError, RemoteServiceError
from kg.query import (
    QueryInfo,
    check_query_allowed,
    inspect_query,
    negotiate,
    run_query,
)
from kg.query.check import parse_query_text, plain_query
from kg.store import RDF_FORMATS, EmbeddedStore, QueryResultsFormat, QuerySolutions, RemoteStore, parse_query_results

G1 = "https://w3id.org/scholarkg/graph/doc-1"
G2 = "https://w3id.org/scholarkg/graph/doc-2"
NT1 = (b'<http://ex.org/p1> <http://ex.org/title> "Tabs\\tand \\"quotes\\"\\nand \xc3\xa9" .\n'
       b'<http://ex.org/p1> <http://ex.org/year> "2024"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
       b'<http://ex.org/p1> <http://ex.org/label> "Papier"@fr .\n'
       b'<http://ex.org/p1> <http://ex.org/author> _:a .\n'
       b'_:a <http://ex.org/name> "Ada, \\"the\\" first" .\n')
NT2 = (b'<http://ex.org/p2> <http://ex.org/title> "Second" .\n'
       b'<http://ex.org/p2> <http://ex.org/cites> <http://ex.org/p1> .\n')
SELECT_ALL = "SELECT ?s ?p ?o ?none WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o"
CONSTRUCT_ALL = "PREFIX ex: <http://ex.org/> CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"


@pytest.fixture
def store() -> Iterator[EmbeddedStore]:
    with EmbeddedStore(None) as memory:
        memory.replace_graphs([], [(G1, NT1), (G2, NT2)])
        yield memory


def _body(store: EmbeddedStore | RemoteStore, text: str, accept: str | None, max_rows: int = 100,
          **kw: list[str]) -> bytes:
    return b"".join(run_query(store, text, accept=accept, max_rows=max_rows, **kw).body)


def _rows(body: bytes, name: str) -> list[dict[str, str]]:
    """Rows of a results document as {variable: term in N-Triples syntax} (CSV: plain values)."""
    if name == "csv":
        return [{k: v for k, v in row.items() if v} for row in csv.DictReader(io.StringIO(body.decode()))]
    formats = {"json": QueryResultsFormat.JSON, "xml": QueryResultsFormat.XML, "tsv": QueryResultsFormat.TSV}
    solutions = parse_query_results(body, formats[name])
    assert isinstance(solutions, QuerySolutions)
    names = [v.value for v in solutions.variables]
    return [{n: str(row[n]) for n in names if row[n] is not None} for row in solutions]


def _expected_rows(store: EmbeddedStore, text: str, plain: bool = False) -> list[dict[str, str]]:
    solutions = store.query(text)
    assert isinstance(solutions, QuerySolutions)
    names = [v.value for v in solutions.variables]

    def shown(term: object) -> str:
        if not plain:
            return str(term)
        return f"_:{term.value}" if isinstance(term, pyoxigraph.BlankNode) else str(getattr(term, "value", term))

    return [{n: shown(row[n]) for n in names if row[n] is not None} for row in solutions]


def _triples(body: bytes, name: str) -> Graph:
    if name in ("nquads", "trig"):  # rdflib's Dataset.parse warns: read quads with pyoxigraph
        text = "".join(f"{quad.triple} .\n" for quad in pyoxigraph.parse(body, RDF_FORMATS[name]))
        return Graph().parse(data=text, format="nt")
    rdflib_names = {"turtle": "turtle", "ntriples": "nt", "rdfxml": "xml", "jsonld": "json-ld"}
    return Graph().parse(data=body, format=rdflib_names[name])


# ---------------------------------------------------------------------------------------------------- formats


@pytest.mark.parametrize(("accept", "name"), [
    (None, "json"), ("application/sparql-results+json", "json"), ("application/sparql-results+xml", "xml"),
    ("text/csv", "csv"), ("text/tab-separated-values", "tsv"), ("xml", "xml"), ("tsv", "tsv")])
def test_select_results_round_trip(store: EmbeddedStore, accept: str | None, name: str) -> None:
    outcome = run_query(store, SELECT_ALL, accept=accept, max_rows=100)
    assert (outcome.format, outcome.form, outcome.truncated, outcome.count) == (name, "SELECT", False, 7)
    assert outcome.media_type == negotiate(accept, "SELECT").media_type
    assert _rows(b"".join(outcome.body), name) == _expected_rows(store, SELECT_ALL, plain=name == "csv")


def test_json_results_keep_types_languages_and_blank_nodes(store: EmbeddedStore) -> None:
    data = json.loads(_body(store, "SELECT ?o WHERE { <http://ex.org/p1> ?p ?o } ORDER BY ?o", "json"))
    kinds = {(b["o"]["type"], b["o"].get("datatype"), b["o"].get("xml:lang")) for b in data["results"]["bindings"]}
    assert kinds == {("bnode", None, None), ("literal", None, None), ("literal", None, "fr"),
                     ("literal", "http://www.w3.org/2001/XMLSchema#integer", None)}


@pytest.mark.parametrize("name", ["json", "xml", "csv", "tsv"])
@pytest.mark.parametrize("answer", [True, False])
def test_ask_in_every_results_format(store: EmbeddedStore, name: str, answer: bool) -> None:
    cites = "<http://ex.org/p1>" if answer else "<http://ex.org/p2>"
    body = _body(store, f"ASK {{ <http://ex.org/p2> <http://ex.org/cites> {cites} }}", name)
    if name == "csv":
        assert body.strip() == (b"true" if answer else b"false")
    else:
        formats = {"json": QueryResultsFormat.JSON, "xml": QueryResultsFormat.XML, "tsv": QueryResultsFormat.TSV}
        assert bool(parse_query_results(body, formats[name])) is answer


@pytest.mark.parametrize(("accept", "name"), [
    (None, "turtle"), ("text/turtle", "turtle"), ("application/n-triples", "ntriples"),
    ("application/n-quads", "nquads"), ("application/trig", "trig"), ("application/rdf+xml", "rdfxml"),
    ("application/ld+json", "jsonld"), ("jsonld", "jsonld")])
def test_construct_results_round_trip(store: EmbeddedStore, accept: str | None, name: str) -> None:
    outcome = run_query(store, CONSTRUCT_ALL, accept=accept, max_rows=100)
    assert (outcome.format, outcome.form, outcome.count, outcome.truncated) == (name, "CONSTRUCT", 7, False)
    expected = Graph().parse(data=NT1 + NT2, format="nt")
    assert isomorphic(_triples(b"".join(outcome.body), name), expected)


def test_turtle_uses_the_query_prefixes(store: EmbeddedStore) -> None:
    body = _body(store, CONSTRUCT_ALL, "turtle").decode()
    assert "@prefix ex: <http://ex.org/> ." in body and "ex:title" in body


def test_describe_is_a_graph(store: EmbeddedStore) -> None:
    outcome = run_query(store, "DESCRIBE <http://ex.org/p2>", accept="ntriples", max_rows=100)
    assert outcome.form == "DESCRIBE"
    assert isomorphic(_triples(b"".join(outcome.body), "ntriples"), Graph().parse(data=NT2, format="nt"))


def test_select_without_variables(store: EmbeddedStore) -> None:
    assert json.loads(_body(store, "SELECT * WHERE {}", "json")) == {"head": {"vars": []},
                                                                      "results": {"bindings": [{}]}}


# ---------------------------------------------------------------------------------------------------- limits


def test_rows_beyond_max_rows_are_cut(store: EmbeddedStore) -> None:
    cut = run_query(store, SELECT_ALL, accept="json", max_rows=3)
    assert (cut.truncated, cut.count) == (True, 3)
    assert _rows(b"".join(cut.body), "json") == _expected_rows(store, SELECT_ALL)[:3]
    exact = run_query(store, SELECT_ALL, accept="csv", max_rows=7)
    assert (exact.truncated, exact.count) == (False, 7)
    triples = run_query(store, CONSTRUCT_ALL, accept="ntriples", max_rows=2)
    assert (triples.truncated, triples.count, len(b"".join(triples.body).splitlines())) == (True, 2, 2)


def test_a_large_result_is_cut_early_and_streamed_in_chunks() -> None:
    with EmbeddedStore(None) as big:
        rows = b"".join(f'<http://ex.org/s{i}> <http://ex.org/p> "{"x" * 40} {i}" .\n'.encode() for i in range(50_000))
        big.replace_graphs([], [(G1, rows)])
        started = time.perf_counter()
        outcome = run_query(big, "SELECT * WHERE { ?s ?p ?o }", accept="json", max_rows=5_000)
        chunks = list(outcome.body)
        elapsed = time.perf_counter() - started
    assert outcome.truncated and outcome.count == 5_000 and len(chunks) > 1
    assert len(json.loads(b"".join(chunks))["results"]["bindings"]) == 5_000
    assert elapsed < 5, f"{elapsed:.2f} s for 5,000 rows"


# ---------------------------------------------------------------------------------------------------- datasets


def test_from_clauses_are_honoured_under_the_union_default(store: EmbeddedStore) -> None:
    titles = "SELECT ?t {} WHERE {{ ?p <http://ex.org/title> ?t }}"
    assert [r["t"] for r in _rows(_body(store, titles.format(f"FROM <{G2}>"), "json"), "json")] == ['"Second"']
    assert _rows(_body(store, titles.format(f"FROM NAMED <{G2}>"), "json"), "json") == []
    from_g2_protocol_g1 = _body(store, titles.format(f"FROM <{G2}>"), "json", default_graph_uris=[G1])
    assert len(_rows(from_g2_protocol_g1, "json")) == 1 and "Tabs" in _rows(from_g2_protocol_g1, "json")[0]["t"]


def test_updates_and_bad_syntax_are_refused_by_run_query(store: EmbeddedStore) -> None:
    with pytest.raises(QueryError, match="got a SPARQL Update"):
        run_query(store, "CLEAR ALL", accept=None, max_rows=10)
    with pytest.raises(QuerySyntaxError, match=r"at 2:\d+"):
        run_query(store, "SELECT *\nWHERE { ?s ?p }", accept=None, max_rows=10)
    assert store.quad_count() == 7


def test_service_allow_list_is_checked_before_running(store: EmbeddedStore) -> None:
    text = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    with pytest.raises(QueryRefused, match="not an allowed endpoint"):
        run_query(store, text, accept=None, max_rows=10, service_allow=())


def test_a_failing_service_is_a_remote_service_error(store: EmbeddedStore) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}/sparql"  # bound, never listening: refused
        with pytest.raises(RemoteServiceError, match=endpoint):
            run_query(store, f"SELECT * WHERE {{ SERVICE <{endpoint}> {{ ?s ?p ?o }} }}", accept=None,
                      max_rows=10, service_allow=[endpoint])


# ---------------------------------------------------------------------------------------------------- negotiation


@pytest.mark.parametrize(("accept", "form", "media_type"), [
    (None, "SELECT", "application/sparql-results+json"),
    ("  ", "ASK", "application/sparql-results+json"),
    ("*/*", "SELECT", "application/sparql-results+json"),
    ("*", "SELECT", "application/sparql-results+json"),
    ("application/*", "SELECT", "application/sparql-results+json"),
    ("text/*", "SELECT", "text/csv"),
    ("text/csv;q=0.5, application/sparql-results+xml", "SELECT", "application/sparql-results+xml"),
    ("application/sparql-results+json;q=0, */*", "SELECT", "application/sparql-results+xml"),
    ("text/tab-separated-values, text/csv", "SELECT", "text/tab-separated-values"),
    ("text/csv, text/tab-separated-values", "SELECT", "text/csv"),
    ("application/*;q=0.2, text/csv;q=0.3", "SELECT", "text/csv"),
    ("TEXT/CSV; charset=utf-8", "SELECT", "text/csv"),
    ("application/json", "SELECT", "application/json"),
    ("text/csv;q=abc, */*;q=0.1", "SELECT", "application/sparql-results+json"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "SELECT", "application/xml"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "CONSTRUCT", "text/turtle"),
    ("application/sparql-results+json,*/*;q=0.9", "SELECT", "application/sparql-results+json"),
    ("application/rdf+xml;q=0.9, application/ld+json", "CONSTRUCT", "application/ld+json"),
    ("application/json", "DESCRIBE", "application/json"),
    ("text/*", "CONSTRUCT", "text/turtle"),
    ("application/*", "CONSTRUCT", "application/n-triples"),
    ("csv", "SELECT", "text/csv"),
    ("NQuads", "CONSTRUCT", "application/n-quads"),
])
def test_negotiation(accept: str | None, form: str, media_type: str) -> None:
    assert negotiate(accept, form).media_type == media_type


@pytest.mark.parametrize(("accept", "form", "message"), [
    ("text/turtle", "SELECT", "no representation of a SELECT result fits"),
    ("application/sparql-results+json", "CONSTRUCT", "expected one of text/turtle"),
    ("*/*;q=0", "ASK", "no representation"),
    ("application/json;q=0", "SELECT", "no representation"),
    ("turtle", "ASK", "does not fit a ASK query; expected one of json, xml, csv, tsv"),
    ("yaml", "CONSTRUCT", "expected one of turtle, ntriples, nquads, trig, rdfxml, jsonld"),
])
def test_nothing_acceptable(accept: str, form: str, message: str) -> None:
    with pytest.raises(NotAcceptable, match=message):
        negotiate(accept, form)


# ---------------------------------------------------------------------------------------------------- inspection


@pytest.mark.parametrize("text", [
    "SELECT * WHERE { SERVICE <http://svc.example/sparql> { ?s ?p ?o } }",
    "select * where { service <http://svc.example/sparql> { ?s ?p ?o } }",
    r"SELECT * WHERE { SERV\u0049CE <http://svc.example/sparql> { ?s ?p ?o } }",
    r"SELECT * WHERE { \u0053\u0045RVICE <http://svc.example/sparql> { ?s ?p ?o } }",
    r"SELECT * WHERE { \U00000053ERVICE <http://svc.example/sparql> { ?s ?p ?o } }",
    r"SELECT * WHERE { SERVICE <http://svc\u002Eexample/sparql> { ?s ?p ?o } }",
    "PREFIX svc: <http://svc.example/> SELECT * WHERE { SERVICE svc:sparql { ?s ?p ?o } }",
    r"PREFIX svc: <http://svc.example/> SELECT * WHERE { SERVICE svc:sp\u0061rql { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p ?o FILTER EXISTS { SERVICE SILENT <http://svc.example/sparql> { ?s ?p ?o } } }",
    "SELECT * WHERE { { SELECT ?s WHERE { SERVICE <http://svc.example/sparql> { ?s ?p ?o } } } }",
    "SELECT * WHERE { ?s ?p ?o MINUS { OPTIONAL { SERVICE <http://svc.example/sparql> { ?s ?p ?o } } } }",
    "ASK { { ?s ?p ?o } UNION { SERVICE <http://svc.example/sparql> { ?s ?p ?o } } }",
    "CONSTRUCT { ?s ?p ?o } WHERE { SERVICE <http://svc.example/sparql> { ?s ?p ?o } }",
    "INSERT { ?s ?p ?o } WHERE { SERVICE <http://svc.example/sparql> { ?s ?p ?o } }",
    'SELECT * WHERE { <http://x.example/#a> ?p "#" . SERVICE <http://svc.example/sparql> { ?s ?p ?o } }',
])
def test_service_found_in_any_spelling(text: str) -> None:
    info = inspect_query(text)
    assert info.service_iris == ("http://svc.example/sparql",)
    assert "\\u" not in info.text and "\\U" not in info.text
    with pytest.raises(QueryRefused, match="not an allowed endpoint"):
        check_query_allowed(info, ["http://svc.example/sparql/"], allow_dataset_clauses=True)
    check_query_allowed(info, ["http://svc.example/sparql"], allow_dataset_clauses=True)


@pytest.mark.parametrize("text", [
    'SELECT * WHERE { ?s ?p "SERVICE <http://svc.example/sparql> { }" }',
    "SELECT * WHERE { ?s ?p ?o } # SERVICE <http://svc.example/sparql> { }",
    "PREFIX service: <http://svc.example/> SELECT * WHERE { ?service service:p ?o }",
])
def test_service_in_strings_comments_and_names_is_not_a_call(text: str) -> None:
    assert inspect_query(text).service_iris == ()


def test_a_syntax_error_near_a_service_is_reported_for_the_text_as_written() -> None:
    text = 'SELECT * WHERE { ?s ?p "#" . SERVICE <http://svc.example/sparql> { ?s ?p ?o }'
    with pytest.raises(QuerySyntaxError, match=r"line:1"):  # the retry with SERVICE on its own line fails too
        parse_query_text(text)


def test_an_escape_read_two_ways_cannot_hide_a_service(store: EmbeddedStore) -> None:
    # Oxigraph reads \u005C inside a string as an escaped backslash, so the string ends and SERVICE runs;
    # SPARQL (and rdflib) expand escapes first, so \" continues the string up to the comment's quote. The text
    # run is the expanded one we inspected: both parsers then see one string and no SERVICE.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}/sparql"
        raw = f'SELECT * WHERE {{ BIND("a\\u005C" AS ?x) SERVICE <{endpoint}> {{ ?s ?p ?o }} # " AS ?x)\n}}'
        with pytest.raises(OSError):  # read escape-aware, the raw text calls the endpoint
            list(pyoxigraph.Store().query(raw))  # type: ignore[arg-type]
        assert inspect_query(raw).service_iris == ()
        outcome = run_query(store, raw, accept="json", max_rows=10, service_allow=())
        value = json.loads(b"".join(outcome.body))["results"]["bindings"][0]["x"]["value"]
    assert value == f'a" AS ?x) SERVICE <{endpoint}> {{ ?s ?p ?o }} # '


def test_service_with_base_is_refused() -> None:
    info = inspect_query("BASE <http://svc.example/> SELECT * WHERE { SERVICE <sparql> { ?s ?p ?o } }")
    assert info.service_iris == ("http://svc.example/sparql",) and info.base_iris == ("http://svc.example/",)
    with pytest.raises(QueryRefused, match="SERVICE with BASE"):
        check_query_allowed(info, ["http://svc.example/sparql"], allow_dataset_clauses=True)


def test_variable_service_is_never_allowed() -> None:
    info = inspect_query("SELECT * WHERE { VALUES ?e { <http://a.example/> } SERVICE ?e { ?s ?p ?o } }")
    assert info.service_iris == ("?e",)
    with pytest.raises(QueryRefused, match=r"SERVICE \?e"):
        check_query_allowed(info, ["http://a.example/"], allow_dataset_clauses=True)


def test_dataset_clauses_and_file_iris() -> None:
    info = inspect_query("PREFIX g: <https://w3id.org/scholarkg/graph/> "
                         "SELECT * FROM g:doc-1 FROM NAMED g:doc-2 WHERE { ?s ?p ?o }")
    assert (info.from_iris, info.from_named_iris) == ((G1,), (G2,))
    check_query_allowed(info, [], allow_dataset_clauses=True)
    with pytest.raises(QueryRefused, match=f"FROM <{G1}>: dataset clauses are not accepted"):
        check_query_allowed(info, [], allow_dataset_clauses=False)
    relative = inspect_query("BASE <file:///etc/> SELECT * WHERE { <passwd> ?p ?o }")
    assert relative.file_iris == ("file:///etc/passwd",)
    with pytest.raises(QueryRefused, match="file: IRIs"):
        check_query_allowed(relative, [], allow_dataset_clauses=True)
    hidden = inspect_query(r"SELECT * WHERE { SERVICE <\u0066ile:///x> { ?s ?p ?o } }")
    with pytest.raises(QueryRefused, match="file: IRIs"):
        check_query_allowed(hidden, ["file:///x"], allow_dataset_clauses=True)


def test_update_inspection() -> None:
    info = inspect_query("PREFIX ex: <http://ex.org/> LOAD SILENT ex:data INTO GRAPH ex:g ; "
                         "INSERT { ?s ?p ?o } USING ex:u USING NAMED ex:n WHERE { ?s ?p ?o }")
    assert info.is_update and info.form == "UPDATE"
    assert (info.load_iris, info.from_iris, info.from_named_iris) == (
        ("http://ex.org/data",), ("http://ex.org/u",), ("http://ex.org/n",))
    with pytest.raises(QueryRefused, match=r"LOAD <http://ex\.org/data>"):
        check_query_allowed(info, [], allow_dataset_clauses=True)
    check_query_allowed(info, [], allow_dataset_clauses=True, allow_load=True)


@pytest.mark.parametrize(("text", "form"), [
    ("SELECT * {}", "SELECT"), ("ASK {}", "ASK"), ("CONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT"),
    ("DESCRIBE <http://ex.org/p1>", "DESCRIBE"), ("CLEAR ALL", "UPDATE"), ("", "UPDATE")])
def test_forms(text: str, form: str) -> None:
    assert inspect_query(text).form == form


@pytest.mark.parametrize(("text", "message"), [
    ("SELECT *\nWHERE { ?s ?p }", r"at 2:\d+"),
    ("INSERT DATA { <http://a> <http://b> }", r"SPARQL update: error at 1:\d+"),
    ("SELECT * WHERE { ex:a ?p ?o }", "Unknown namespace prefix|error at 1:"),
    ("SELECT * WHERE { SERVICE <http://x.example/> { ?s ?p } }", r"line:1, col:\d+"),  # never run to check
    (r'SELECT * WHERE { ?s ?p "\u005Cu0041" }', "spells another escape"),
    (r'SELECT * WHERE { ?s ?p "\uD800" }', "Unicode character"),
])
def test_syntax_errors_say_where(text: str, message: str) -> None:
    # A plain query (one that provably reaches nowhere) is checked lexically; its syntax error then comes from
    # the engine when it runs, with the same line:column.
    with pytest.raises(QuerySyntaxError, match=message), EmbeddedStore() as store:
        inspect_query(text)
        run_query(store, text, accept=None, max_rows=10)


def test_inspection_from_many_threads() -> None:
    # rdflib's parser is not thread-safe: unguarded, some of these valid queries fail to parse
    texts = [f"SELECT ?v{i} WHERE {{ SERVICE <http://svc.example/{i}> {{ ?v{i} ?p ?o }} }}" for i in range(300)]
    with ThreadPoolExecutor(8) as pool:
        infos = list(pool.map(inspect_query, texts))
    assert [info.service_iris for info in infos] == [(f"http://svc.example/{i}",) for i in range(300)]


def test_inspection_is_cached() -> None:
    text = "SELECT ?cached WHERE { ?cached ?p ?o }"
    first = inspect_query(text)
    assert isinstance(first, QueryInfo) and inspect_query(text) is first


# ---------------------------------------------------------------------------------------------------- remote


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteStore]:
    """A real `oxigraph serve` on 127.0.0.1 with the same data as the embedded fixture."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    binary = Path(sys.executable).parent / "oxigraph"
    command = [str(binary), "serve", "--location", str(tmp_path_factory.mktemp("ox")), "--bind", f"127.0.0.1:{port}",
               "--union-default-graph"]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as server:
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                assert server.poll() is None and time.monotonic() < deadline, "oxigraph serve did not start"
                try:
                    httpx.get(base + "/", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            with RemoteStore(f"{base}/query", f"{base}/update") as store:
                store.replace_graphs([], [(G1, NT1), (G2, NT2)])
                yield store
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["json", "xml", "tsv"])
def test_remote_results_match_the_embedded_ones(remote: RemoteStore, store: EmbeddedStore, name: str) -> None:
    text = "SELECT ?s ?o WHERE { ?s <http://ex.org/title> ?o } ORDER BY ?o"
    assert _rows(_body(remote, text, name), name) == _rows(_body(store, text, name), name)
    cut = run_query(remote, SELECT_ALL, accept=name, max_rows=2)
    assert cut.truncated and cut.count == 2


@pytest.mark.slow
def test_remote_graph_results_and_datasets(remote: RemoteStore) -> None:
    body = _body(remote, CONSTRUCT_ALL, "trig")
    assert isomorphic(_triples(body, "trig"), Graph().parse(data=NT1 + NT2, format="nt"))
    titles = f"SELECT ?t FROM <{G2}> WHERE {{ ?p <http://ex.org/title> ?t }}"
    assert _rows(_body(remote, titles, "json"), "json") == [{"t": '"Second"'}]


def test_the_lexical_check_reads_comments_before_the_form_in_linear_time() -> None:
    commented = ("# a comment { ?s ?p ?o }\nPREFIX # here too\n ex: <http://example.org/> # and here\n"
                 "SELECT * { ex:a ?p ?o }")
    info = plain_query(commented)
    assert info is not None and info.form == "SELECT" and dict(info.prefixes) == {"ex": "http://example.org/"}
    started = time.perf_counter()
    for text in ("#" * 100_000 + "x", " #\n" * 30_000 + "x", "PREFIX" + " #" * 30_000):  # no form: the full parse
        assert plain_query(text) is None
    assert time.perf_counter() - started < 2  # was exponential in the run of '#' (2^n ways to split it)
