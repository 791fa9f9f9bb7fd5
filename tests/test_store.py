"""kg.store: the embedded store (memory and disk), its lock across processes, atomic graph replacement, dumps and
loads, backups, store specs, and the remote store against a real `oxigraph serve` on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

import kg.store
import kg.store.embedded
import kg.store.rdf
import kg.store.remote
from kg.errors import InputError, NotFound, QueryError, QuerySyntaxError, StoreError, StoreLocked, UsageError
from kg.store import (
    EmbeddedStore,
    QueryBoolean,
    QuerySolutions,
    RemoteStore,
    Store,
    open_store,
    replace_update,
    restore_store,
)

ROOT = Path(__file__).resolve().parent.parent
G1 = "https://w3id.org/scholarkg/graph/doc-1"
G2 = "https://w3id.org/scholarkg/graph/doc-2"
NT1 = (b'<http://ex.org/p1> <http://ex.org/title> "Tabs\\tand \\"quotes\\"\\nand \xc3\xa9" .\n'
       b'<http://ex.org/p1> <http://ex.org/year> "2024"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
       b'<http://ex.org/p1> <http://ex.org/label> "Papier"@fr .\n')
NT2 = (b'<http://ex.org/p2> <http://ex.org/title> "Second" .\n'
       b'<http://ex.org/p2> <http://ex.org/cites> <http://ex.org/p1> .\n')
NT1_NEW = b'<http://ex.org/p1> <http://ex.org/title> "Renamed" .\n'


def _graph(data: bytes, fmt: str = "nt") -> Graph:
    return Graph().parse(data=data, format=fmt)


def _dataset(data: bytes, fmt: str) -> dict[str, Graph]:
    """Named graphs of an N-Quads/TriG document (read with pyoxigraph: rdflib's Dataset.parse warns)."""
    graphs: dict[str, Graph] = {}
    for quad in pyoxigraph.parse(data, kg.store.RDF_FORMATS[fmt]):
        graph = graphs.setdefault(str(getattr(quad.graph_name, "value", "")), Graph())
        graph.parse(data=str(quad.triple) + " .", format="nt")
    return graphs


def _snapshot(store: Store) -> list[bytes]:
    return sorted(b"".join(store.dump("nquads")).splitlines())


def _values(store: Store, sparql: str, **dataset: list[str]) -> list[str]:
    result = store.query(sparql, **dataset)
    assert isinstance(result, QuerySolutions)
    return sorted(str(getattr(row[0], "value", row[0])) for row in result)


@pytest.fixture(params=["memory", "disk"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EmbeddedStore]:
    with EmbeddedStore(None if request.param == "memory" else tmp_path / "store") as opened:
        opened.replace_graphs([], [(G1, NT1), (G2, NT2)])
        yield opened


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------------------------------- queries


def test_default_graph_is_the_union_of_all_graphs(store: EmbeddedStore) -> None:
    assert _values(store, "SELECT ?t WHERE { ?p <http://ex.org/title> ?t }") == [
        'Second', 'Tabs\tand "quotes"\nand é']


def test_dataset_given_replaces_the_union(store: EmbeddedStore) -> None:
    title = "SELECT ?t WHERE { ?p <http://ex.org/title> ?t }"
    assert _values(store, title, default_graph_uris=[G2]) == ["Second"]
    assert _values(store, title, named_graph_uris=[G2]) == []  # named graphs only: the default graph is empty
    in_graphs = "SELECT ?g WHERE { GRAPH ?g { ?p <http://ex.org/title> ?t } }"
    assert _values(store, in_graphs) == [G1, G2]
    assert _values(store, in_graphs, named_graph_uris=[G2]) == [G2]


def test_query_kinds_are_pyoxigraph_results(store: EmbeddedStore) -> None:
    assert isinstance(store.query("SELECT * { ?s ?p ?o }"), QuerySolutions)
    ask = store.query("ASK { <http://ex.org/p2> <http://ex.org/cites> <http://ex.org/p1> }")
    assert isinstance(ask, QueryBoolean) and bool(ask)
    triples = list(store.query("CONSTRUCT WHERE { <http://ex.org/p2> ?p ?o }"))  # type: ignore[arg-type]
    assert len(triples) == 2


def test_query_syntax_error_names_line_and_column(store: EmbeddedStore) -> None:
    with pytest.raises(QuerySyntaxError, match=r"at 2:\d+"):
        store.query("SELECT *\nWHERE { ?s ?p }")


def test_bad_graph_iri_is_an_input_error(store: EmbeddedStore) -> None:
    with pytest.raises(InputError, match="expected an absolute IRI"):
        store.query("SELECT * { ?s ?p ?o }", default_graph_uris=["not an iri"])


def test_update_and_its_errors(store: EmbeddedStore) -> None:
    store.update(f'INSERT DATA {{ GRAPH <{G2}> {{ <http://ex.org/p3> <http://ex.org/title> "Third" }} }}')
    assert "Third" in _values(store, "SELECT ?t { ?p <http://ex.org/title> ?t }")
    with pytest.raises(QuerySyntaxError, match="SPARQL update"):
        store.update("INSERT DATA { <http://a> }")


def test_named_graphs_count_and_graph_ntriples(store: EmbeddedStore) -> None:
    assert store.named_graphs() == [G1, G2]
    assert store.quad_count() == 5
    assert isomorphic(_graph(store.graph_ntriples(G1)), _graph(NT1))
    with pytest.raises(NotFound, match="no such named graph"):
        store.graph_ntriples("http://ex.org/none")


# ---------------------------------------------------------------------------------------------------- replace_graphs


def test_replace_graphs_drops_then_adds(store: EmbeddedStore) -> None:
    store.replace_graphs([G1], [(G1, NT1_NEW)])
    assert isomorphic(_graph(store.graph_ntriples(G1)), _graph(NT1_NEW))
    assert isomorphic(_graph(store.graph_ntriples(G2)), _graph(NT2))
    store.replace_graphs([G2], [])
    assert store.named_graphs() == [G1]


def test_replace_graphs_takes_many_documents_in_one_call(store: EmbeddedStore) -> None:
    docs = [(f"http://ex.org/graph/{i}", f'<http://ex.org/d{i}> <http://ex.org/n> "{i}" .\n'.encode())
            for i in range(200)]
    store.replace_graphs([G1, G2], docs)
    assert len(store.named_graphs()) == 200 and store.quad_count() == 200


def test_blank_nodes_of_two_blobs_stay_apart(store: EmbeddedStore) -> None:
    blob = b'_:b0 <http://ex.org/name> "x" .\n'
    store.replace_graphs([], [(G1, blob), (G2, blob)])
    assert len(_values(store, "SELECT DISTINCT ?b { ?b <http://ex.org/name> ?n }")) == 2


def test_bad_ntriples_change_nothing(store: EmbeddedStore) -> None:
    before = _snapshot(store)
    with pytest.raises(InputError, match=f"graph <{G2}>.*expected valid N-Triples"):
        store.replace_graphs([G1, G2], [(G1, NT1_NEW), (G2, b"<http://ex.org/a> <http://ex.org/b> .\n")])
    assert _snapshot(store) == before


def test_failing_document_iterator_changes_nothing(store: EmbeddedStore) -> None:
    def documents() -> Iterator[tuple[str, bytes]]:
        yield G1, NT1_NEW
        raise OSError("disk gone while preparing the second document")

    before = _snapshot(store)
    with pytest.raises(OSError, match="disk gone"):
        store.replace_graphs([G1, G2], documents())
    assert _snapshot(store) == before


def test_failure_inside_the_transaction_rolls_back(store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # the request's last operation fails (a LOAD from a closed local port), after the drops and inserts ran
    failing = f" ;\nLOAD <http://127.0.0.1:{_free_port()}/nothing.ttl>"
    monkeypatch.setattr(kg.store.embedded, "replace_update", lambda drop, add: replace_update(drop, add) + failing)
    before = _snapshot(store)
    with pytest.raises(StoreError, match="changed nothing"):
        store.replace_graphs([G1, G2], [(G1, NT1_NEW)])
    assert _snapshot(store) == before


def test_replace_update_text_is_rebuilt_by_the_parser() -> None:
    text = replace_update([G1], [(G1, b"# a comment } DROP ALL\n" + NT2)])
    assert "DROP ALL" not in text and text.startswith(f"DROP SILENT GRAPH <{G1}> ;")
    assert replace_update([], []) == ""
    with pytest.raises(InputError, match="absolute IRI"):
        replace_update(["http://ex.org/g> } ; DROP ALL ; INSERT DATA { GRAPH <http://x"], [])


# ---------------------------------------------------------------------------------------------------- dump and load


@pytest.mark.parametrize("fmt", ["nquads", "trig"])
def test_dump_of_the_dataset_round_trips(store: EmbeddedStore, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kg.store.rdf, "BATCH", 2)  # several chunks: their concatenation must still parse
    chunks = list(store.dump(fmt))
    assert len(chunks) == 3
    graphs = _dataset(b"".join(chunks), fmt)
    assert set(graphs) == {G1, G2}
    assert isomorphic(graphs[G1], _graph(NT1)) and isomorphic(graphs[G2], _graph(NT2))


@pytest.mark.parametrize(("fmt", "rdflib_format"), [("turtle", "turtle"), ("ntriples", "nt")])
def test_dump_of_one_graph_round_trips(store: EmbeddedStore, fmt: str, rdflib_format: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kg.store.rdf, "BATCH", 1)
    assert isomorphic(_graph(b"".join(store.dump(fmt, G1)), rdflib_format), _graph(NT1))


def test_dump_refusals(store: EmbeddedStore) -> None:
    with pytest.raises(UsageError, match="holds one graph"):
        store.dump("turtle")
    with pytest.raises(UsageError, match="expected one of nquads, trig, turtle, ntriples"):
        store.dump("rdfxml")
    with pytest.raises(NotFound):
        store.dump("turtle", "http://ex.org/none")


def test_load_bytes_and_files(store: EmbeddedStore, tmp_path: Path) -> None:
    store.load(b"@prefix ex: <http://ex.org/> . ex:p9 ex:title 'Nine' .", "turtle", "http://ex.org/graph/9")
    file = tmp_path / "more.nq"
    file.write_bytes(b'<http://ex.org/p8> <http://ex.org/title> "Eight" <http://ex.org/graph/8> .\n')
    store.load(file, "nquads")
    assert _values(store, "SELECT ?g { GRAPH ?g { ?p <http://ex.org/title> ?t } }") == [
        "http://ex.org/graph/8", "http://ex.org/graph/9", G1, G2]


def test_load_refusals_change_nothing(store: EmbeddedStore, tmp_path: Path) -> None:
    before = _snapshot(store)
    with pytest.raises(InputError, match="expected turtle"):
        store.load(b"<http://ex.org/a> <http://ex.org/b> <http://ex.org/c> . <oops", "turtle", G1)
    with pytest.raises(InputError, match="cannot be read"):
        store.load(tmp_path / "missing.nt", "ntriples", G1)
    with pytest.raises(UsageError, match="names its own graphs"):
        store.load(b"", "nquads", G1)
    with pytest.raises(UsageError, match="expected one of"):
        store.load(b"<a/>", "rdfxml", G1)
    assert _snapshot(store) == before


# ---------------------------------------------------------------------------------------------------- on disk


def test_backup_and_restore(tmp_path: Path) -> None:
    path, copy = tmp_path / "store", tmp_path / "copy"
    with EmbeddedStore(path) as disk:
        disk.replace_graphs([], [(G1, NT1)])
        disk.backup(copy)
        with pytest.raises(StoreError, match="backup target exists"):
            disk.backup(copy)
        disk.replace_graphs([G1], [(G2, NT2)])
        with pytest.raises(StoreLocked):
            restore_store(copy, str(path))  # the store is in use
    restore_store(copy, str(path))
    with EmbeddedStore(path, read_only=True) as restored:
        assert restored.named_graphs() == [G1]
    with pytest.raises(StoreError, match="cannot be backed up"), EmbeddedStore(None) as memory:
        memory.backup(tmp_path / "never")
    with pytest.raises(UsageError, match="on-disk store"):
        restore_store(copy, "memory:")


def test_read_only_store_refuses_writes(tmp_path: Path) -> None:
    with EmbeddedStore(tmp_path / "store") as disk:
        disk.replace_graphs([], [(G1, NT1)])
    with EmbeddedStore(tmp_path / "store", read_only=True) as snapshot:
        assert snapshot.quad_count() == 3
        snapshot.backup(tmp_path / "copy")  # a RocksDB checkpoint of a read-only instance would be empty
        with EmbeddedStore(tmp_path / "copy", read_only=True) as copy:
            assert _snapshot(copy) == _snapshot(snapshot)
        with pytest.raises(StoreError, match="read-only"):
            snapshot.replace_graphs([G1], [])
        with pytest.raises(StoreError, match="read-only"):
            snapshot.update("CLEAR ALL")
    with pytest.raises(StoreError, match="no store there"):
        EmbeddedStore(tmp_path / "absent", read_only=True)


def test_closed_store_refuses_work_and_releases_its_lock(tmp_path: Path) -> None:
    first = EmbeddedStore(tmp_path / "store")
    first.close()
    with pytest.raises(StoreError, match="closed"):
        first.quad_count()
    with EmbeddedStore(tmp_path / "store") as second:
        assert second.quad_count() == 0


HOLDER = """
import sys
from pathlib import Path
from kg.store import EmbeddedStore
store = EmbeddedStore(Path(sys.argv[1]))
store.replace_graphs([], [(sys.argv[2], sys.argv[3].encode())])
print("ready", flush=True)
sys.stdin.read()
"""


def test_a_store_held_by_another_process_is_locked(tmp_path: Path) -> None:
    path = tmp_path / "store"
    with subprocess.Popen([sys.executable, "-c", HOLDER, str(path), G2, NT2.decode()], cwd=ROOT, text=True,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "ready"
            with pytest.raises(StoreLocked, match=f"{path}: the store is open for writing in another process"):
                EmbeddedStore(path)
            with pytest.raises(StoreLocked):
                open_store(str(path))
            with open_store(str(path), read_only=True) as snapshot:  # `kg backup` while `kg serve` runs
                snapshot.backup(tmp_path / "copy")
        finally:
            holder.stdin.close()
            holder.wait(timeout=60)
    with EmbeddedStore(path) as free, EmbeddedStore(tmp_path / "copy", read_only=True) as copy:
        assert free.quad_count() == 2
        assert isomorphic(_graph(copy.graph_ntriples(G2)), _graph(NT2))


# ---------------------------------------------------------------------------------------------------- specs


def test_open_store_embedded_specs(tmp_path: Path) -> None:
    with open_store("memory:") as memory:
        assert isinstance(memory, EmbeddedStore) and memory.location == "memory:"
    with open_store(f"  {tmp_path / 'kg'} ", read_only=False) as disk:
        assert isinstance(disk, EmbeddedStore) and disk.location == str(tmp_path / "kg")
    assert (tmp_path / "kg" / "CURRENT").is_file()


def test_open_store_remote_specs() -> None:
    with open_store("sparql+https://dba:p%40ss@example.org:8890/sparql?x=1") as url:
        assert isinstance(url, RemoteStore)
        assert url.query_url == url.update_url == "https://example.org:8890/sparql?x=1"
        assert isinstance(url.auth, httpx.BasicAuth) and url.gsp_url is None
    json_spec = '{"query": "http://h/q", "update": "http://h/u", "gsp": "http://h/s", "timeout": 5}'
    with open_store(json_spec, read_only=True) as from_json:
        assert isinstance(from_json, RemoteStore) and from_json.read_only
        assert (from_json.query_url, from_json.update_url, from_json.gsp_url) == ("http://h/q", "http://h/u", "http://h/s")
        assert from_json.auth is None
    words = "query=http://h:8890/sparql update=http://h:8890/sparql-auth user=dba password=dba auth=digest"
    with open_store(words) as from_words:
        assert isinstance(from_words, RemoteStore) and isinstance(from_words.auth, httpx.DigestAuth)
        assert from_words.update_url == "http://h:8890/sparql-auth"


@pytest.mark.parametrize(("spec", "message"), [
    ("", "expected a directory"),
    ("{not json", "invalid JSON"),
    ("[1]", None),
    ('{"update": "http://h/u"}', "needs a 'query' URL"),
    ('{"query": "ftp://h/q"}', "expected an http"),
    ('{"query": "http://h/q", "colour": "red"}', "unknown key 'colour'"),
    ("query=http://h/q auth=kerberos user=x", "expected 'basic' or 'digest'"),
    ("query=http://h/q timeout=soon", "expected seconds"),
    ("query=http://h/q stray", "expected key=value"),
])
def test_open_store_bad_specs(spec: str, message: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # "[1]" is a valid directory name: it must not be created in the repository
    if message is None:
        with open_store(spec) as store:
            assert isinstance(store, EmbeddedStore)
        return
    with pytest.raises(UsageError, match=message):
        open_store(spec)


# ---------------------------------------------------------------------------------------------------- remote


@pytest.fixture(scope="module")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Oxigraph server on 127.0.0.1 (default graph = union, like the embedded store)."""
    port = _free_port()
    binary = Path(sys.executable).parent / "oxigraph"
    location = tmp_path_factory.mktemp("oxigraph")
    server = subprocess.Popen([str(binary), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}",
                               "--union-default-graph"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, server)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "oxigraph serve exited"
        try:
            httpx.get(base + "/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("oxigraph serve did not start in 30 s")


@pytest.fixture
def remote(oxigraph_server: str) -> Iterator[RemoteStore]:
    with RemoteStore(f"{oxigraph_server}/query", f"{oxigraph_server}/update", f"{oxigraph_server}/store") as store:
        store.update("DROP ALL")
        store.replace_graphs([], [(G1, NT1), (G2, NT2)])
        yield store


@pytest.mark.slow
def test_remote_store_answers_like_the_embedded_one(remote: RemoteStore) -> None:
    assert _values(remote, "SELECT ?t WHERE { ?p <http://ex.org/title> ?t }") == [
        'Second', 'Tabs\tand "quotes"\nand é']
    assert _values(remote, "SELECT ?t WHERE { ?p <http://ex.org/title> ?t }", default_graph_uris=[G2]) == ["Second"]
    ask = remote.query("ASK { <http://ex.org/p2> <http://ex.org/cites> <http://ex.org/p1> }")
    assert isinstance(ask, QueryBoolean) and bool(ask)
    constructed = remote.query("CONSTRUCT WHERE { <http://ex.org/p1> ?p ?o }")
    assert len(list(constructed)) == 3  # type: ignore[arg-type]
    assert remote.named_graphs() == [G1, G2] and remote.quad_count() == 5
    assert isomorphic(_graph(remote.graph_ntriples(G1)), _graph(NT1))
    with pytest.raises(NotFound):
        remote.graph_ntriples("http://ex.org/none")


@pytest.mark.slow
def test_remote_replace_graphs_is_atomic(remote: RemoteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    remote.replace_graphs([G1], [(G1, NT1_NEW)])
    assert isomorphic(_graph(remote.graph_ntriples(G1)), _graph(NT1_NEW))
    before = _snapshot(remote)
    with pytest.raises(InputError):
        remote.replace_graphs([G1, G2], [(G1, NT1), (G2, b"<http://ex.org/a> .\n")])
    failing = f" ;\nLOAD <http://127.0.0.1:{_free_port()}/nothing.ttl>"
    monkeypatch.setattr(kg.store.remote, "replace_update", lambda drop, add: replace_update(drop, add) + failing)
    with pytest.raises((QueryError, StoreError)):
        remote.replace_graphs([G1, G2], [(G1, NT1)])
    assert _snapshot(remote) == before


@pytest.mark.slow
def test_remote_dump_and_load(remote: RemoteStore, oxigraph_server: str) -> None:
    graphs = _dataset(b"".join(remote.dump("trig")), "trig")
    assert isomorphic(graphs[G1], _graph(NT1)) and isomorphic(graphs[G2], _graph(NT2))
    assert isomorphic(_graph(b"".join(remote.dump("turtle", G2)), "turtle"), _graph(NT2))
    remote.load(b"@prefix ex: <http://ex.org/> . ex:p9 ex:title 'Nine' .", "turtle", "http://ex.org/graph/9")  # GSP
    with RemoteStore(f"{oxigraph_server}/query", f"{oxigraph_server}/update") as without_gsp:
        without_gsp.load(b'<http://ex.org/p8> <http://ex.org/title> "Eight" <http://ex.org/graph/8> .\n', "nquads")
        without_gsp.load(b'<http://ex.org/p7> <http://ex.org/title> "Seven" .\n', "ntriples", "http://ex.org/graph/7")
    assert _values(remote, "SELECT ?t { ?p <http://ex.org/title> ?t }") == [
        "Eight", "Nine", "Second", "Seven", 'Tabs\tand "quotes"\nand é']


@pytest.mark.slow
def test_remote_errors(remote: RemoteStore, oxigraph_server: str) -> None:
    with pytest.raises(QueryError, match="HTTP 400"):
        remote.query("SELECT * WHERE { ?s ?p }")
    with pytest.raises(StoreError, match="own tools"):
        remote.backup(Path("never"))
    reader = RemoteStore(f"{oxigraph_server}/query", read_only=True)
    down = RemoteStore(f"http://127.0.0.1:{_free_port()}/sparql")
    with reader, down:
        with pytest.raises(StoreError, match="read-only"):
            reader.update("CLEAR ALL")
        with pytest.raises(StoreError, match="did not answer"):
            down.quad_count()


def test_default_graph_is_the_merge_with_set_semantics() -> None:
    """A triple asserted by two documents is one triple in the default graph, and stays while either holds it."""
    triple = b"<http://ex.org/a> <http://ex.org/p> <http://ex.org/b> .\n"
    with EmbeddedStore() as store:
        store.replace_graphs([], [("http://ex.org/g1", triple), ("http://ex.org/g2", triple)])
        count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
        assert [row[0].value for row in store.query(count)] == ["1"]
        store.replace_graphs(["http://ex.org/g1"], [])
        assert [row[0].value for row in store.query(count)] == ["1"]
        store.replace_graphs(["http://ex.org/g2"], [])
        assert [row[0].value for row in store.query(count)] == ["0"]
        store.replace_graphs([], [("http://ex.org/g3", triple)])
        assert store.quad_count() == 1
        assert b"".join(store.dump("nquads")).count(b"\n") == 1  # the derived default graph is not dumped


def test_a_store_bulk_loaded_elsewhere_gets_its_merge_on_first_writable_open(tmp_path: Path) -> None:
    triple = b"<http://ex.org/a> <http://ex.org/p> <http://ex.org/b> <http://ex.org/g> .\n"
    raw = EmbeddedStore(tmp_path / "s", merged_default=False)  # as `oxigraph load` leaves a directory
    raw.load(triple, "nquads")
    raw.close()
    with EmbeddedStore(tmp_path / "s") as store:
        assert [row[0].value for row in store.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")] == ["1"]
