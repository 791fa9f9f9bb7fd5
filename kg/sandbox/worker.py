"""The query worker process: opens its replica of the store, applies the write log it is sent, runs one query
at a time with kg.query.run_query and answers with picklable tuples. Knows nothing of pools or HTTP."""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from kg.errors import KGError, StoreError
from kg.query import inspect_query, run_query
from kg.store import EmbeddedStore, Store

# A write-log entry, replayed on a replica exactly as it was applied to the primary:
#   ("replace", drop graph IRIs, [(graph IRI, N-Triples)])   ("update", SPARQL Update text)
#   ("load", data, format, graph or None)
Entry = tuple[Any, ...]

CHECKPOINT = "checkpoint"  # the base is a RocksDB checkpoint directory of the primary, opened read-write
NQUADS = "nquads"  # the base is an N-Quads file, loaded into an in-memory store


@dataclass(frozen=True, slots=True)
class QueryRequest:
    """One query and its limits, as sent to a worker."""

    text: str
    accept: str | None
    max_rows: int
    default_graph_uris: tuple[str, ...]
    named_graph_uris: tuple[str, ...]
    service_allow: tuple[str, ...]
    service_timeout: float


# Replies: ("ready", pid) | ("failed", message) once at start; then per request ("started",) and one of
#   ("ok", (form, format, media_type, body, truncated, count)) | ("error", the KGError, pickled whole)
#   | ("diverged", message) when the write log could not be applied | ("bug", traceback text)
Reply = tuple[Any, ...]


def open_replica(kind: str, base: Path) -> EmbeddedStore:
    """The worker's own store: the checkpoint directory itself, or a memory store loaded from the N-Quads file."""
    if kind == CHECKPOINT:
        return EmbeddedStore(base)
    store = EmbeddedStore(None)
    store.load(base, "nquads")
    return store


def apply_entries(store: Store, entries: Sequence[Entry]) -> None:
    """Replay write-log entries in order; a KGError here means the replica no longer matches the primary."""
    for entry in entries:
        if entry[0] == "replace":
            store.replace_graphs(entry[1], entry[2])
        elif entry[0] == "update":
            store.update(entry[1])
        elif entry[0] == "load":
            store.load(entry[1], entry[2], entry[3])
        else:
            raise StoreError(f"write log: unknown entry {entry[0]!r}")


def serve(store: Store, entries: Sequence[Entry], request: QueryRequest) -> Reply:
    """Apply the pending writes, then run the query; every outcome becomes a reply tuple.

    The query is parsed first, on its own: rdflib's parser leaves reference cycles holding the frames on the
    stack, and pyoxigraph results must be freed by the thread that made them, not by a later garbage collection
    in another thread. Parsed here, the cycle holds no frame that will hold a result.
    """
    try:
        apply_entries(store, entries)
    except KGError as error:
        return ("diverged", error.message)
    try:
        inspect_query(request.text)
        outcome = run_query(store, request.text, accept=request.accept, max_rows=request.max_rows,
                            default_graph_uris=request.default_graph_uris,
                            named_graph_uris=request.named_graph_uris, service_allow=request.service_allow,
                            service_timeout=request.service_timeout)
        body = b"".join(outcome.body)
    except KGError as error:
        return ("error", error)
    except Exception:  # a bug, not the client's fault: the pool raises it as a 500 with this traceback
        return ("bug", traceback.format_exc())
    return ("ok", (outcome.form, outcome.format, outcome.media_type, body, outcome.truncated, outcome.count))


def main(argv: Sequence[str]) -> None:
    """Process entry point (`python -c ... KIND BASE FD PARENT_PID`): open the replica, say ready, then answer
    requests on the connection FD until told to stop or orphaned."""
    kind, base, fd, parent = argv[0], Path(argv[1]), int(argv[2]), int(argv[3])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which then stops its workers
    _exit_with(parent)
    conn = Connection(fd)
    try:
        store = open_replica(kind, base)
    except KGError as error:
        conn.send(("failed", error.message))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the server is gone
            return
        if message[0] != "query":
            return
        conn.send(("started",))  # the receipt: from now on, a death of this process is the query's doing
        conn.send(serve(store, message[1], message[2]))


def _exit_with(parent: int) -> None:
    """End this process soon after the server's: a killed server must not leave a query running for ever.
    pyoxigraph releases the GIL while it evaluates, so this thread runs even during a long query."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, name="kg-query-watchdog", daemon=True).start()
