"""The embedded store: pyoxigraph (RocksDB) in a directory, or in memory."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Self

import pyoxigraph
from pyoxigraph import RdfFormat

from kg.errors import InputError, NotFound, QuerySyntaxError, StoreError, StoreLocked
from kg.store.pinned import pinned
from kg.store.rdf import (
    QueryResult,
    as_bytes,
    dump_format,
    graph_name,
    load_target,
    node,
    rdf_format,
    replace_update,
    serialize_batches,
)


class EmbeddedStore:
    """A pyoxigraph store in a directory (`path`) or in memory (`path=None`).

    Queries see the merge of all named graphs as their default graph unless given a dataset. With
    `merged_default` (the default) the store keeps that merge materialised in its own default graph, updated in
    the same transaction as every write, so a triple asserted by two documents is one triple there (RDF merge,
    set semantics) — pyoxigraph's union mode would return it once per graph. The default graph is derived data:
    dumps leave it out. Only one process may hold a directory for writing (RocksDB lock): another one gets
    StoreLocked. `read_only=True` opens a snapshot that refuses writes; RocksDB allows it while another process
    writes, but it sees the data as of opening time.
    """

    def __init__(self, path: Path | None = None, read_only: bool = False, *, merged_default: bool = True) -> None:
        self._path = path
        self._read_only = read_only
        self._merged = merged_default
        self._store: pyoxigraph.Store | None = _open(path, read_only)
        if merged_default and not read_only and self._merge_missing():
            self._run_update(_RESYNC_ALL)  # e.g. a directory filled by `oxigraph load` from one of our dumps

    def _merge_missing(self) -> bool:
        """True when named graphs hold data but the materialised merge is empty (two cheap ASKs)."""
        store = self._live()
        return bool(store.query("ASK { GRAPH ?g { ?s ?p ?o } }")) and not bool(store.query("ASK { ?s ?p ?o }"))

    def __repr__(self) -> str:
        return f"EmbeddedStore({self.location!r}, read_only={self._read_only})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def location(self) -> str:
        return "memory:" if self._path is None else str(self._path)

    @property
    def read_only(self) -> bool:
        return self._read_only

    def query(self, sparql: str, *, default_graph_uris: Sequence[str] | None = None,
              named_graph_uris: Sequence[str] | None = None) -> QueryResult:
        """Run a query; see `kg.store.Store` for the dataset rules. Evaluation is lazy: iterate to get errors."""
        store = self._live()
        try:
            if default_graph_uris is None and named_graph_uris is None:
                if self._merged:
                    return store.query(sparql)  # the materialised merge is the store's default graph
                return store.query(sparql, use_default_graph_as_union=True)
            default: list[pyoxigraph.NamedNode | pyoxigraph.BlankNode | pyoxigraph.DefaultGraph]
            default = [node(g) for g in default_graph_uris or ()]
            named: list[pyoxigraph.NamedNode | pyoxigraph.BlankNode] = [node(g) for g in named_graph_uris or ()]
            return store.query(sparql, default_graph=default, named_graphs=named)
        except SyntaxError as error:
            raise QuerySyntaxError(f"SPARQL query: {error}") from None
        except (OSError, RuntimeError) as error:
            raise StoreError(f"{self.location}: the query failed: {error}") from None

    def update(self, sparql_update: str) -> None:
        """Run a SPARQL Update in one transaction; with a merged default graph, the merge is rebuilt in it.

        Its WHERE clauses see the store's default graph (the merge). Writes to the default graph itself do not
        last when the merge is maintained: it is rebuilt from the named graphs.
        """
        self._run_update(sparql_update + (f" ;\n{_RESYNC_ALL}" if self._merged else ""))

    def _run_update(self, sparql_update: str) -> None:
        store = self._writable()
        try:
            store.update(sparql_update)
        except SyntaxError as error:
            raise QuerySyntaxError(f"SPARQL update: {error}") from None
        except (OSError, RuntimeError) as error:
            raise StoreError(f"{self.location}: the update failed and changed nothing: {error}") from None

    def replace_graphs(self, drop: Iterable[str], add: Iterable[tuple[str, bytes]]) -> None:
        """Drop the graphs `drop` and insert the N-Triples blobs of `add`, all in one transaction.

        Graphs named in `add` but not in `drop` keep what they held. Pass many documents at once for speed.
        On any error (bad N-Triples, a failing iterator, the store) nothing changes.
        """
        store = self._writable()
        drop, add = list(drop), list(add)
        if not any(store.contains_named_graph(node(graph)) for graph in drop):
            # Nothing to replace (a first ingest): one native, transactional extend, ~10x faster than an update.
            quads = self._parsed(add)  # every blob is parsed before anything is written
            try:
                store.extend(quads)
            except (OSError, RuntimeError) as error:
                raise StoreError(f"{self.location}: the write failed and changed nothing: {error}") from None
            return
        text = replace_update(drop, add)
        if text and self._merged:
            text = " ;\n".join(filter(None, (_forget(drop), text, _copy_to_default(iri for iri, _ in add))))
        if text:
            self._run_update(text)

    def bulk_add_graphs(self, add: Iterable[tuple[str, bytes]]) -> None:
        """Insert new graphs with RocksDB's bulk loader, parsed in Rust: no transaction, so memory stays flat (a
        transaction's writes stay in the process: ~0.8 KB a quad) and it is ~4x cheaper than `replace_graphs`.
        Not atomic: a crash, or a syntax error found halfway, may leave part written. Blobs must be N-Triples as
        serialisers write them: one statement a line, each ending in " .\n"; blank node labels are kept."""
        store = self._writable()
        add = list(add)
        for graph, blob in add:
            if blob and not blob.endswith(b" .\n"):
                raise InputError(f"N-Triples for graph <{graph}>: expected one statement a line, each ending "
                                 "in ' .' and a newline")
        nquads = b"".join(blob.replace(b" .\n", f" {node(graph)} .\n".encode()) for graph, blob in add)
        try:
            store.bulk_load(nquads, RdfFormat.N_QUADS)
            if self._merged:
                store.bulk_load(b"".join(blob for _, blob in add), RdfFormat.N_TRIPLES)
        except SyntaxError as error:
            raise InputError(f"bulk N-Triples: {error}; expected valid N-Triples (part may be written)") from None
        except (OSError, RuntimeError) as error:
            raise StoreError(f"{self.location}: the bulk write failed, part of it may be written: {error}") from None

    def _parsed(self, add: Sequence[tuple[str, bytes]]) -> list[pyoxigraph.Quad]:
        """The quads of the N-Triples blobs, each in its graph and (merged store) also in the default graph."""
        quads: list[pyoxigraph.Quad] = []
        default = pyoxigraph.DefaultGraph()
        for graph, blob in add:
            graph_node = node(graph)
            try:
                triples = list(pyoxigraph.parse(blob, RdfFormat.N_TRIPLES, rename_blank_nodes=True))
            except SyntaxError as error:
                raise InputError(f"N-Triples for graph <{graph}>: {error}; expected valid N-Triples") from None
            quads.extend(pyoxigraph.Quad(t.subject, t.predicate, t.object, graph_node) for t in triples)
            if self._merged:
                quads.extend(pyoxigraph.Quad(t.subject, t.predicate, t.object, default) for t in triples)
        return quads

    def named_graphs(self) -> list[str]:
        return sorted(graph_name(g) for g in self._live().named_graphs())

    def quad_count(self) -> int:
        """Quads in named graphs (the materialised default graph is derived, so it is not counted)."""
        store = self._live()
        if not self._merged:
            return len(store)
        return len(store) - self._default_size()

    def _default_size(self) -> int:
        """Triples of the materialised merge, counted by the engine (walking them in Python took 29 s at 1M)."""
        solutions = self._live().query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
        assert isinstance(solutions, pyoxigraph.QuerySolutions)
        return int(next(iter(solutions))[0].value)

    def graph_ntriples(self, graph_iri: str) -> bytes:
        """The graph as N-Triples; NotFound when the store has no such named graph."""
        return as_bytes(self._live().dump(format=RdfFormat.N_TRIPLES, from_graph=self._existing(graph_iri)))

    def dump(self, format: str = "nquads", graph: str | None = None) -> Iterator[bytes]:
        """The whole dataset (nquads, trig) or one graph (any of DUMP_FORMATS), streamed in chunks."""
        fmt = dump_format(format, graph)
        graph_node = None if graph is None else self._existing(graph)
        live, merged = self._live(), self._merged

        def chunks() -> Iterator[bytes]:  # pyoxigraph's iterator must stay on the thread that made it
            quads = live.quads_for_pattern(None, None, None, graph_node)
            if graph_node is None and merged:
                quads = (quad for quad in quads if not isinstance(quad.graph_name, pyoxigraph.DefaultGraph))
            return serialize_batches(quads, fmt)

        return pinned(chunks)

    def load(self, data: bytes | Path, format: str, graph: str | None = None) -> None:
        """Add a document (bytes or a file) in one of DUMP_FORMATS in one transaction; triples go to `graph`
        (None: the default graph). The whole document is read into memory."""
        fmt = rdf_format(format)
        store = self._writable()
        target = load_target(fmt, graph)
        source = str(data) if isinstance(data, Path) else "data"
        try:
            if isinstance(data, Path):
                store.load(path=data, format=fmt, to_graph=target)
            else:
                store.load(data, fmt, to_graph=target)
        except SyntaxError as error:
            raise InputError(f"{source}: {error}; expected {format}") from None
        except OSError as error:
            raise InputError(f"{source}: cannot be read: {error}") from None
        if self._merged:
            self._run_update(_RESYNC_ALL)

    def backup(self, target_dir: Path) -> None:
        """A consistent copy of an on-disk store into the new directory `target_dir`.

        A writable store makes a RocksDB checkpoint (hard links when possible). A read-only one copies its quads
        into a new store: a checkpoint of a read-only instance silently misses the writes not yet in its files.
        """
        store = self._live()
        if self._path is None:
            raise StoreError("memory:: an in-memory store cannot be backed up; dump it instead")
        if target_dir.exists():
            raise StoreError(f"{target_dir}: backup target exists; expected a new directory")
        try:
            if self._read_only:
                _copy(store, target_dir)
            else:
                store.backup(str(target_dir))
        except (OSError, RuntimeError) as error:
            shutil.rmtree(target_dir, ignore_errors=True)
            raise StoreError(f"{target_dir}: backup failed: {error}") from None

    def flush(self) -> None:
        if self._path is not None and not self._read_only:
            self._live().flush()

    def close(self) -> None:
        """Release the store, and its lock once no result iterator refers to it any more."""
        self._store = None

    def _live(self) -> pyoxigraph.Store:
        if self._store is None:
            raise StoreError(f"{self.location}: the store is closed")
        return self._store

    def _writable(self) -> pyoxigraph.Store:
        if self._read_only:
            raise StoreError(f"{self.location}: the store is open read-only; expected a writable store")
        return self._live()

    def _existing(self, graph_iri: str) -> pyoxigraph.NamedNode:
        graph_node = node(graph_iri)
        if not self._live().contains_named_graph(graph_node):
            raise NotFound(f"graph <{graph_iri}>: no such named graph in {self.location}")
        return graph_node


# Rebuilds the materialised merge from scratch: used after loads and arbitrary updates (linear in the store).
_RESYNC_ALL = ("DELETE { ?s ?p ?o } WHERE { ?s ?p ?o FILTER NOT EXISTS { GRAPH ?g { ?s ?p ?o } } } ;\n"
               "INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")


def _forget(drop: Sequence[str]) -> str:
    """Remove from the merge the triples of the graphs being dropped that no other graph asserts."""
    if not drop:
        return ""
    graphs = " ".join(str(node(g)) for g in drop)
    listed = ", ".join(str(node(g)) for g in drop)
    return (f"DELETE {{ ?s ?p ?o }} WHERE {{ VALUES ?g {{ {graphs} }} GRAPH ?g {{ ?s ?p ?o }} "
            f"FILTER NOT EXISTS {{ GRAPH ?h {{ ?s ?p ?o }} FILTER(?h NOT IN ({listed})) }} }}")


def _copy_to_default(graph_iris: Iterable[str]) -> str:
    """Copy the graphs just written into the merge (the same terms, blank nodes included)."""
    graphs = " ".join(dict.fromkeys(str(node(g)) for g in graph_iris))
    return f"INSERT {{ ?s ?p ?o }} WHERE {{ VALUES ?g {{ {graphs} }} GRAPH ?g {{ ?s ?p ?o }} }}" if graphs else ""


def _open(path: Path | None, read_only: bool) -> pyoxigraph.Store:
    if path is None:
        return pyoxigraph.Store()
    try:
        if read_only:
            if not (path / "CURRENT").is_file():
                raise StoreError(f"{path}: no store there; expected a directory written by `kg ingest`")
            return pyoxigraph.Store.read_only(str(path))
        return pyoxigraph.Store(str(path))
    except OSError as error:
        if "lock" in str(error).lower():
            raise StoreLocked(f"{path}: the store is open for writing in another process; stop that process "
                              "(for instance a running `kg serve`) or open the store read-only") from None
        raise StoreError(f"{path}: cannot open the store: {error}") from None


def _copy(store: pyoxigraph.Store, target_dir: Path) -> None:
    copy = pyoxigraph.Store(str(target_dir))
    for graph in store.named_graphs():
        copy.add_graph(graph)
    copy.bulk_extend(store.quads_for_pattern(None, None, None, None))
    copy.flush()


def restore(source: Path, target: Path) -> None:
    """Replace the on-disk store `target` with a copy of the backup `source`; StoreLocked while it is in use."""
    if not (source / "CURRENT").is_file():
        raise StoreError(f"{source}: no store there; expected a directory written by `kg backup`")
    EmbeddedStore(source, read_only=True).close()  # the backup opens
    if target.exists():
        EmbeddedStore(target).close()  # nobody holds the target (RocksDB lock) right now
    staging = target.with_name(target.name + ".restoring")
    retired = target.with_name(target.name + ".replaced")
    try:
        for leftover in (staging, retired):
            shutil.rmtree(leftover, ignore_errors=True)
        shutil.copytree(source, staging)
        if target.exists():
            target.rename(retired)
        staging.rename(target)
    except OSError as error:
        raise StoreError(f"{target}: restore from {source} failed: {error}") from None
    shutil.rmtree(retired, ignore_errors=True)
