"""The embedded store: pyoxigraph (RocksDB) in a directory, or in memory."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Self

import pyoxigraph
from pyoxigraph import RdfFormat

from kg.errors import InputError, NotFound, QuerySyntaxError, StoreError, StoreLocked
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

    Queries see the union of all graphs as their default graph unless given a dataset. Only one process may hold
    a directory for writing (RocksDB lock): another one gets StoreLocked. `read_only=True` opens a snapshot that
    refuses writes; RocksDB allows it while another process writes, but it sees the data as of opening time.
    """

    def __init__(self, path: Path | None = None, read_only: bool = False) -> None:
        self._path = path
        self._read_only = read_only
        self._store: pyoxigraph.Store | None = _open(path, read_only)

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
        """Run a SPARQL Update in one transaction; its WHERE clauses see the real default graph, not the union."""
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
        self._writable()
        text = replace_update(drop, add)
        if text:
            self.update(text)

    def named_graphs(self) -> list[str]:
        return sorted(graph_name(g) for g in self._live().named_graphs())

    def quad_count(self) -> int:
        return len(self._live())

    def graph_ntriples(self, graph_iri: str) -> bytes:
        """The graph as N-Triples; NotFound when the store has no such named graph."""
        return as_bytes(self._live().dump(format=RdfFormat.N_TRIPLES, from_graph=self._existing(graph_iri)))

    def dump(self, format: str = "nquads", graph: str | None = None) -> Iterator[bytes]:
        """The whole dataset (nquads, trig) or one graph (any of DUMP_FORMATS), streamed in chunks."""
        fmt = dump_format(format, graph)
        graph_node = None if graph is None else self._existing(graph)
        return serialize_batches(self._live().quads_for_pattern(None, None, None, graph_node), fmt)

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
