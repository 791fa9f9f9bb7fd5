"""QueryPool: runs each query in a worker process of its WorkerFleet (kg.sandbox.fleet), in the fast lane, or
in this process until a worker is ready; a query past its time limit is really stopped (its worker is replaced)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from kg.config import Settings
from kg.errors import QueryTimeout, StoreError
from kg.query import QueryOutcome
from kg.sandbox.bounded import FastLane
from kg.sandbox.fleet import WorkerFleet
from kg.sandbox.handle import WorkerHandle
from kg.sandbox.replicated import ReplicatedStore
from kg.sandbox.worker import Entry, QueryRequest, Reply, serve
from kg.store import EmbeddedStore, Store

log = logging.getLogger("kg.sandbox")


class _Gone(Exception):
    """The worker was dead before it read the query."""


class WorkerFailure(RuntimeError):
    """A bug inside a query worker (not the client's fault): the server answers 500 and logs the traceback."""


class QueryPool:
    """`workers` processes (default: settings.query_workers), each with its own replica of the embedded store
    `store`: a RocksDB checkpoint of an on-disk store (hard links, made in milliseconds, next to the store), or
    an N-Quads snapshot of a memory store loaded into memory. Start-up does not wait for them: until the first
    replica is ready, and always with 0 workers or a remote store, queries run in this process, where the time
    limit is kept only for the caller (the query itself runs to its end in a background thread).

    Writes must go through `pool.store` (a Store whose writes are logged under the same lock that takes
    snapshots), so a query never sees a state older than the last write that returned. close() ends the workers.
    """

    def __init__(self, store: Store, settings: Settings, *, workers: int | None = None) -> None:
        self._primary = store
        self._settings = settings
        self._fleet = WorkerFleet(store, settings.query_workers if workers is None else workers)
        # queries running in this process at once: as many as workers, or as CPUs when there are no workers
        self._in_process = threading.BoundedSemaphore(self._fleet.size or os.cpu_count() or 1)
        # provably bounded queries (kg.sandbox.bounded) run in the calling thread, a few at a time: no pool hop
        self._fast_lane = FastLane(store, settings.fast_lane_slots if isinstance(store, EmbeddedStore) else 0)
        self.store: Store = ReplicatedStore(store, self)
        self._fleet.open()

    # ------------------------------------------------------------------------------------------ queries

    def run(self, text: str, *, accept: str | None, max_rows: int | None = None,
            default_graph_uris: Sequence[str] = (), named_graph_uris: Sequence[str] = (),
            service_allow: Sequence[str] | None = None, service_timeout: float | None = None,
            timeout: float | None = None) -> QueryOutcome:
        """kg.query.run_query in a worker, stopped after `timeout` seconds (default settings.query_timeout)
        with QueryTimeout. KGErrors of the query come back as themselves; a worker that dies on the query gives
        StoreError (503). Defaults come from the settings: max_rows, service_allow (SERVICE is always checked
        against an allow-list), service_timeout."""
        settings = self._settings
        request = QueryRequest(text, accept, settings.max_rows if max_rows is None else max_rows,
                               tuple(default_graph_uris), tuple(named_graph_uris),
                               tuple(settings.service_allow if service_allow is None else service_allow),
                               settings.service_timeout if service_timeout is None else service_timeout)
        limit = settings.query_timeout if timeout is None else timeout
        if self._fleet.closed:
            raise StoreError("the query workers are stopped (the server is shutting down)")
        if (outcome := self._run_bounded(request)) is not None:
            return outcome
        if not self._fleet.ready.is_set():
            return self._run_in_process(request, limit)
        deadline = time.monotonic() + limit
        while True:
            worker, entries, target = self._fleet.take(deadline)
            try:
                self._hand_over(worker, ("query", entries, request), limit)
            except _Gone:  # it died while idle, before it read the query: the query is not to blame
                self._fleet.replace(worker, "stale")
                continue
            return self._outcome(worker.name, self._receive(worker, target, limit))

    def run_bounded(self, text: str, *, accept: str | None, max_rows: int | None = None) -> QueryOutcome | None:
        """Like run(), for a query on the default graph, but only in the fast lane: None when the text is not
        provably bounded (kg.sandbox.bounded) or no fast-lane slot is free (then call run())."""
        settings = self._settings
        if self._fleet.closed:
            raise StoreError("the query workers are stopped (the server is shutting down)")
        return self._run_bounded(QueryRequest(text, accept, settings.max_rows if max_rows is None else max_rows,
                                              (), (), tuple(settings.service_allow), settings.service_timeout))

    def _run_bounded(self, request: QueryRequest) -> QueryOutcome | None:
        """Run a provably bounded query (one triple pattern with a constant subject, DESCRIBE <iri>) right here,
        on the primary, when one of the fast lane's slots is free; None to send it to the workers instead."""
        reply = self._fast_lane.run(request)
        if reply is None:
            return None
        self._fleet.count("fast_lane")
        return self._outcome("fast-lane", reply)

    def _hand_over(self, worker: WorkerHandle, message: tuple[Any, ...], limit: float) -> None:
        """Send the query and wait for the worker's receipt; _Gone when the worker was already dead."""
        conn = worker.conn
        assert conn is not None
        try:
            conn.send(message)
            if conn.poll(limit) and conn.recv() == ("started",):
                return
        except (EOFError, OSError):
            raise _Gone from None
        self._stop_late(worker, limit)

    def _stop_late(self, worker: WorkerHandle, limit: float) -> None:
        self._fleet.replace(worker, "timeouts")
        log.warning("query stopped after %g s; worker %s killed and replaced", limit, worker.name)
        raise QueryTimeout(f"the query was stopped after {limit:g} s (setting query_timeout, env "
                           "KG_QUERY_TIMEOUT); expected a query that finishes in time")

    def _receive(self, worker: WorkerHandle, target: int, limit: float) -> Reply:
        """The worker's reply within `limit` seconds; else the worker is killed and replaced (QueryTimeout).
        A worker that dies now, having received the query, gives StoreError."""
        conn = worker.conn
        assert conn is not None
        try:
            if not conn.poll(limit):
                self._stop_late(worker, limit)
            reply: Reply = conn.recv()
        except (EOFError, OSError):
            code = worker.exit_code()
            self._fleet.replace(worker, "crashes")
            raise StoreError(f"the query stopped its worker process (exit code {code}) and got no answer; "
                             "the worker has been replaced") from None
        if reply[0] == "diverged":
            self._fleet.replace(worker, "diverged")
            raise StoreError(f"a query worker could not apply the latest writes ({reply[1]}); it has been "
                             "replaced, try again")
        self._fleet.give_back(worker, target)
        return reply

    @staticmethod
    def _outcome(worker: str, reply: Reply) -> QueryOutcome:
        if reply[0] == "ok":
            form, fmt, media_type, body, truncated, count = reply[1]
            return QueryOutcome(form, fmt, media_type, iter((body,)), truncated, count)
        if reply[0] == "error":
            raise reply[1]
        raise WorkerFailure(f"the query failed ({worker}):\n{reply[1]}")

    def _run_in_process(self, request: QueryRequest, limit: float) -> QueryOutcome:
        """Run on the primary in a thread; the caller gets QueryTimeout after `limit`, the thread runs on
        (pyoxigraph cannot be interrupted). The number of such threads is bounded (see __init__). The thread
        hands back a reply tuple, as a worker does: no pyoxigraph object or frame leaves it."""
        if not self._in_process.acquire(timeout=limit):
            raise QueryTimeout(f"the query could not start within {limit:g} s: the server is still starting "
                               "its query workers and earlier queries are running; try again later")
        replies: list[Reply] = []
        done = threading.Event()

        def work() -> None:
            try:
                replies.append(serve(self._primary, (), request))
            finally:
                self._in_process.release()
                done.set()

        threading.Thread(target=work, name="kg-query-in-process", daemon=True).start()
        if not done.wait(limit):
            self._fleet.count("timeouts")
            log.warning("in-process query over %g s: the client was answered, the query runs on", limit)
            raise QueryTimeout(f"the query was stopped after {limit:g} s (setting query_timeout, env "
                               "KG_QUERY_TIMEOUT); expected a query that finishes in time")
        return self._outcome("in-process", replies[0])

    # ------------------------------------------------------------------------------------------ writes

    def write(self, entry: Entry, apply: Callable[[], None]) -> None:
        """Apply a write to the primary (`apply`) and log `entry` for the replicas, as one step."""
        self._fleet.write(entry, apply)

    # ------------------------------------------------------------------------------------------ life cycle

    def wait_ready(self, timeout: float) -> bool:
        """Block until a worker is ready (or `timeout` seconds); False when none is (yet)."""
        return self._fleet.ready.wait(timeout) and self._fleet.size > 0

    def status(self) -> dict[str, Any]:
        """Figures for health checks and metrics: mode, workers, generation, and counts of timeouts etc."""
        return self._fleet.status()

    def close(self) -> None:
        """Stop every worker and remove the replicas; queries running now fail with StoreError."""
        self._fleet.close()

    def __enter__(self) -> QueryPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
