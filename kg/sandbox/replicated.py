"""ReplicatedStore: the primary store, with every write it commits also logged for a QueryPool's replicas."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Self

from kg.errors import InputError
from kg.store import QueryResult, Store

if TYPE_CHECKING:
    from kg.sandbox.pool import QueryPool


class ReplicatedStore:
    """A Store: reads go to the primary; writes go to the primary and, in the same step, to the pool's log.
    Closing it closes the pool, then the primary."""

    def __init__(self, primary: Store, pool: QueryPool) -> None:
        self.primary = primary
        self._pool = pool

    def __repr__(self) -> str:
        return f"ReplicatedStore({self.primary!r})"

    @property
    def read_only(self) -> bool:
        return self.primary.read_only

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, sparql: str, *, default_graph_uris: Sequence[str] | None = None,
              named_graph_uris: Sequence[str] | None = None) -> QueryResult:
        return self.primary.query(sparql, default_graph_uris=default_graph_uris, named_graph_uris=named_graph_uris)

    def update(self, sparql_update: str) -> None:
        self._pool.write(("update", sparql_update), lambda: self.primary.update(sparql_update))

    def replace_graphs(self, drop: Iterable[str], add: Iterable[tuple[str, bytes]]) -> None:
        dropped, added = list(drop), list(add)  # iterated twice: by the primary, then by each replica
        self._pool.write(("replace", dropped, added), lambda: self.primary.replace_graphs(dropped, added))

    def bulk_add_graphs(self, add: Iterable[tuple[str, bytes]]) -> None:
        """Replicas replay writes from a log, so a served store writes new graphs atomically too."""
        self.replace_graphs((), add)

    def load(self, data: bytes | Path, format: str, graph: str | None = None) -> None:
        blob = _read(data)
        self._pool.write(("load", blob, format, graph), lambda: self.primary.load(blob, format, graph))

    def named_graphs(self) -> list[str]:
        return self.primary.named_graphs()

    def quad_count(self) -> int:
        return self.primary.quad_count()

    def graph_ntriples(self, graph_iri: str) -> bytes:
        return self.primary.graph_ntriples(graph_iri)

    def dump(self, format: str = "nquads", graph: str | None = None) -> Iterator[bytes]:
        return self.primary.dump(format, graph)

    def backup(self, target_dir: Path) -> None:
        self.primary.backup(target_dir)

    def flush(self) -> None:
        self.primary.flush()

    def close(self) -> None:
        self._pool.close()
        self.primary.close()


def _read(data: bytes | Path) -> bytes:
    if isinstance(data, bytes):
        return data
    try:
        return data.read_bytes()
    except OSError as error:
        raise InputError(f"{data}: cannot be read: {error.strerror}") from None
