"""Crash safety: `kg ingest` killed with SIGKILL mid-batch leaves exactly a committed state; queries during an
ingest see whole batches only; a held store refuses a second writer clearly; backup while held round-trips.

That a second process opening the store for writing gets StoreLocked is also pinned, at the API level, by
tests/test_store.py::test_a_store_held_by_another_process_is_locked; here it is checked through the CLI.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from documents import make_documents
from rdflib import BNode, Graph, Literal
from rdflib.compare import isomorphic
from rdflib.namespace import XSD

from kg.config import Settings
from kg.ingest import Pipeline
from kg.sandbox import QueryPool
from kg.store import EmbeddedStore, QuerySolutions, Store

ROOT = Path(__file__).resolve().parent.parent
KG = str(Path(sys.executable).parent / "kg")
SAME_TIME = Literal("2000-01-01T00:00:00+00:00", datatype=XSD.dateTime)
PER_GRAPH = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


class Reference:
    """What a clean ingest writes for each document (document id -> {graph IRI: graph}), computed on demand."""

    def __init__(self, paths: list[Path]) -> None:
        self.pipeline = Pipeline(Settings())
        self.paths = {self.pipeline.iris.document_id(str(path)): path for path in paths}
        self._graphs: dict[str, dict[str, Graph]] = {}

    def documents(self) -> list[str]:
        """Document ids in the order `kg ingest` reads the files (by name)."""
        return sorted(self.paths)

    def graphs(self, doc: str) -> dict[str, Graph]:
        if doc not in self._graphs:
            path = self.paths[doc]
            prepared = self.pipeline.prepare(path.read_bytes(), str(path))
            self._graphs[doc] = {iri: _graph(nt) for iri, nt in prepared.graphs}
        return self._graphs[doc]

    def triple_counts(self) -> dict[str, int]:
        return {iri: len(graph) for doc in self.documents() for iri, graph in self.graphs(doc).items()}


def _graph(ntriples: bytes) -> Graph:
    """The graph with every xsd:dateTime (the ingest time, which differs between two runs) set to one value."""
    graph = Graph().parse(data=ntriples, format="nt")
    for s, p, o in list(graph):
        if isinstance(o, Literal) and o.datatype == XSD.dateTime:
            graph.remove((s, p, o))
            graph.add((s, p, SAME_TIME))
    return graph


def document_of(graph_iri: str) -> str:
    return graph_iri.split("/graph/", 1)[1].split("/", 1)[0]


def kg(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KG, *args], capture_output=True, text=True, env=_env(store), timeout=300, check=False)


def _env(store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    env["KG_STORE"] = str(store)
    return env


def _wal_sizes(store: Path) -> dict[str, int]:
    """The store's write-ahead logs, by name and size. A committed transaction appends to the current log; a bulk
    write switches to a new log first. Only file sizes are read: the store itself is not opened while another
    process writes to it."""
    sizes = {}
    for log in store.glob("*.log"):
        with contextlib.suppress(FileNotFoundError):  # a log RocksDB retired between listing and stat
            sizes[log.name] = log.stat().st_size
    return sizes


def wait_for_commits(store: Path, process: subprocess.Popen[bytes], commits: int, seconds: float = 120) -> None:
    """Wait until some log has grown `commits` times (opening the store creates empty logs; retiring one is not a
    write). Polling can miss a commit, never invent one, so at least that many have happened."""
    seen, last = 0, _wal_sizes(store)
    deadline = time.monotonic() + seconds
    while seen < commits:
        assert process.poll() is None, "the ingest ended before it could be killed"
        assert time.monotonic() < deadline, f"only {seen} commits seen in {seconds} s"
        time.sleep(0.005)
        now = _wal_sizes(store)
        seen += any(size > last.get(name, 0) for name, size in now.items())
        last = now


def check_whole_or_absent(store: Store, expected: Reference) -> set[str]:
    """Assert that each document has all its graphs, each equal to the clean ingest's, or none; and nothing
    else is in the store. Returns the documents present."""
    present: dict[str, set[str]] = defaultdict(set)
    for iri in store.named_graphs():
        present[document_of(iri)].add(iri)
    assert set(present) <= set(expected.documents())
    for doc, graphs in present.items():
        assert graphs == set(expected.graphs(doc)), f"{doc}: a document half written: {sorted(graphs)}"
        for iri in graphs:
            assert _same(_graph(store.graph_ntriples(iri)), expected.graphs(doc)[iri]), f"{iri} differs"
    assert store.quad_count() == sum(len(g) for doc in present for g in expected.graphs(doc).values())
    return set(present)


def _same(graph: Graph, other: Graph) -> bool:
    """Equal triples; isomorphic when blank nodes are involved (their labels differ between stores)."""
    if any(isinstance(term, BNode) for triple in (*graph, *other) for term in triple):
        return isomorphic(graph, other)
    return set(graph) == set(other)


# ---------------------------------------------------------------------------------------------------- kill -9


def test_ingest_killed_mid_batch_leaves_exactly_a_committed_state(tmp_path: Path) -> None:
    expected = Reference(make_documents(tmp_path / "docs", 300))
    store = tmp_path / "store"
    command = [KG, "ingest", str(tmp_path / "docs"), "--batch-size", "10"]
    ingest = subprocess.Popen(command, env=_env(store), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_commits(store, ingest, 4)
        time.sleep(0.137)  # somewhere inside a later batch: preparing it, or writing it
    finally:
        ingest.send_signal(signal.SIGKILL)
        assert ingest.wait(30) == -signal.SIGKILL
    with EmbeddedStore(store) as reopened:  # opens for writing after the crash
        present = check_whole_or_absent(reopened, expected)
    assert 0 < len(present) < 300, "the kill should land in the middle of the ingest"
    assert len(present) % 10 == 0  # whole batches of ten: each batch is one transaction
    assert present == set(expected.documents()[: len(present)])  # committed in the order the files are read

    rerun = subprocess.Popen(command, env=_env(store), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    expected.triple_counts()  # the rest of the reference, computed while the ingest runs again
    _, errors = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, errors
    with EmbeddedStore(store, read_only=True) as finished:
        assert check_whole_or_absent(finished, expected) == set(expected.documents())


def test_bulk_ingest_killed_midway_is_cleaned_up_and_completed_by_the_next_run(tmp_path: Path) -> None:
    expected = Reference(make_documents(tmp_path / "docs", 300))
    store = tmp_path / "store"
    command = [KG, "ingest", str(tmp_path / "docs"), "--bulk", "--batch-size", "10", "--workers", "2"]
    ingest = subprocess.Popen(command, env=_env(store), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_commits(store, ingest, 10)  # a few of the 30 batches (each: two transactions, a bulk load)
        time.sleep(0.137)
    finally:
        ingest.send_signal(signal.SIGKILL)
        assert ingest.wait(30) == -signal.SIGKILL
    pending_iri = str(expected.pipeline.iris.pending_graph())
    with EmbeddedStore(store, read_only=True) as crashed:
        graphs = crashed.named_graphs()
        pending = {document_of(str(s)) for s in _graph(crashed.graph_ntriples(pending_iri)).subjects()} \
            if pending_iri in graphs else set()
        complete = {document_of(iri) for iri in graphs if iri.endswith("/provenance")} - pending
        assert 0 < len(complete) < 300, "the kill should land in the middle of the ingest"
        for doc in complete:  # every document not listed as pending is whole
            for iri, graph in expected.graphs(doc).items():
                assert _same(_graph(crashed.graph_ntriples(iri)), graph), f"{iri} differs"
    rerun = subprocess.run(command, env=_env(store), capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert ("half-written documents" in rerun.stderr) == bool(pending)
    with EmbeddedStore(store, read_only=True) as finished:
        assert check_whole_or_absent(finished, expected) == set(expected.documents())


# ---------------------------------------------------------------------------------------------------- readers


def _counts(result: object) -> dict[str, int]:
    assert isinstance(result, QuerySolutions)
    return {str(row["g"].value): int(row["n"].value) for row in result}


@pytest.mark.parametrize("through", ["store", "pool"])
def test_queries_during_an_ingest_see_whole_batches_only(tmp_path: Path, through: str) -> None:
    paths = make_documents(tmp_path / "docs", 40)
    expected = Reference(paths).triple_counts()
    order = sorted({document_of(iri) for iri in expected})
    states = [{iri: n for iri, n in expected.items() if document_of(iri) in order[:k]} for k in range(0, 41, 5)]
    seen: list[int] = []
    wrong: list[dict[str, int]] = []
    stop = threading.Event()
    with EmbeddedStore(tmp_path / "store") as primary, QueryPool(primary, Settings(query_workers=1)) as pool:
        assert pool.wait_ready(60)

        def look() -> dict[str, int]:
            if through == "store":
                return _counts(primary.query(PER_GRAPH))  # one query: one snapshot
            data = json.loads(b"".join(pool.run(PER_GRAPH, accept="json").body))
            return {row["g"]["value"]: int(row["n"]["value"]) for row in data["results"]["bindings"]}

        def read() -> None:
            while not stop.is_set():
                counts = look()
                if counts in states:
                    seen.append(states.index(counts))
                else:
                    wrong.append(counts)

        reader = threading.Thread(target=read)
        reader.start()
        try:
            target = primary if through == "store" else pool.store
            summary = Pipeline(Settings()).ingest_paths(target, [tmp_path / "docs"], batch_size=5)
            time.sleep(0.1)
        finally:
            stop.set()
            reader.join(60)
    assert summary.count("ingested") == 40
    assert not wrong, f"a query saw a state between two commits: {len(wrong)} times"
    assert seen == sorted(seen)  # never back to an older state
    assert len(set(seen)) >= 3 and seen[-1] == 8  # the reader really ran during the ingest, and saw its end


# ---------------------------------------------------------------------------------------------------- held store


HOLDER = """
import sys
from pathlib import Path
from kg.store import EmbeddedStore
store = EmbeddedStore(Path(sys.argv[1]))
store.load(Path(sys.argv[2]), "nquads")
print("ready", flush=True)
sys.stdin.readline()
store.replace_graphs([], [("urn:x-test:after-backup", b"<urn:a> <urn:b> <urn:c> .\\n")])
print("written", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def held_store(tmp_path: Path, seed_nquads: bytes) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """An on-disk store that another process holds open for writing (as `kg serve` would); it loaded the seeds
    and did not flush them, and writes one more graph when sent a line."""
    (tmp_path / "seeds.nq").write_bytes(seed_nquads)
    store = tmp_path / "store"
    with subprocess.Popen([sys.executable, "-c", HOLDER, str(store), str(tmp_path / "seeds.nq")], cwd=ROOT,
                          text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "ready"
            yield store, holder
        finally:
            holder.stdin.close()
            holder.wait(timeout=60)


def test_a_second_writer_gets_a_clear_error_and_changes_nothing(held_store: tuple[Path, subprocess.Popen[str]],
                                                                tmp_path: Path) -> None:
    store, _ = held_store
    [document] = make_documents(tmp_path / "docs", 1)
    refused = kg("ingest", str(document), store=store)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"{store}: the store is open for writing in another process" in refused.stderr
    assert kg("backup", str(tmp_path / "copy"), store=store).returncode == 0
    with EmbeddedStore(tmp_path / "copy", read_only=True) as copy:
        assert not [iri for iri in copy.named_graphs() if "crash" in iri] and len(copy.named_graphs()) == 6
    restore = kg("restore", str(tmp_path / "copy"), store=store)
    assert restore.returncode == 2 and "open for writing in another process" in restore.stderr


def test_backup_while_another_process_writes_round_trips(held_store: tuple[Path, subprocess.Popen[str]],
                                                         tmp_path: Path, seed_nquads: bytes) -> None:
    store, holder = held_store
    assert holder.stdin is not None and holder.stdout is not None
    backup = kg("backup", str(tmp_path / "backup"), store=store)
    assert backup.returncode == 0, backup.stderr
    holder.stdin.write("go\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "written"  # a write after the backup is not in it
    restored = tmp_path / "restored"
    result = kg("restore", str(tmp_path / "backup"), store=restored)
    assert result.returncode == 0, result.stderr
    with EmbeddedStore(None) as original, EmbeddedStore(restored, read_only=True) as copy:
        original.load(seed_nquads, "nquads")
        assert copy.named_graphs() == original.named_graphs()
        for iri in original.named_graphs():
            assert isomorphic(_graph(copy.graph_ntriples(iri)), _graph(original.graph_ntriples(iri))), iri
        assert copy.quad_count() == original.quad_count()
