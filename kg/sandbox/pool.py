"""QueryPool: queries run in worker processes over replicas of the store, so a query past its time limit is
really stopped (its worker is killed and replaced); every committed write reaches the replicas through a log."""

from __future__ import annotations

import itertools
import logging
import os
import queue
import re
import shutil
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from kg.config import Settings
from kg.errors import KGError, QueryTimeout, StoreError
from kg.query import QueryOutcome
from kg.sandbox.bounded import FastLane
from kg.sandbox.handle import WorkerHandle
from kg.sandbox.replicated import ReplicatedStore
from kg.sandbox.worker import CHECKPOINT, NQUADS, Entry, QueryRequest, Reply, serve
from kg.store import EmbeddedStore, Store

log = logging.getLogger("kg.sandbox")

START_TIMEOUT = 600.0  # seconds a worker may take to open its replica (an N-Quads load of a big memory store)
MAX_LOG_BYTES = 256 << 20  # above this, idle replicas are replaced by fresh ones instead of replaying the log
# Updates calling these give other values on each replay: replicas are rebuilt from the primary instead
_NONDETERMINISTIC = re.compile(r"\b(?:NOW|RAND|UUID|STRUUID)\s*\(", re.IGNORECASE)


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
        count = settings.query_workers if workers is None else workers
        self._size = count if isinstance(store, EmbeddedStore) else 0
        self._kind = CHECKPOINT if isinstance(store, EmbeddedStore) and _checkpointable(store) else NQUADS
        self._write_lock = threading.Lock()  # one write or one snapshot at a time
        self._lock = threading.Lock()  # the log, the generation and the worker table
        self._idle: queue.Queue[WorkerHandle] = queue.Queue()
        self._workers: dict[str, WorkerHandle] = {}
        self._log: deque[tuple[int, Entry, int]] = deque()
        self._log_bytes = 0
        self._generation = 0
        self._barrier = 0  # replicas older than this cannot catch up from the log: they are replaced
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._counts: Counter[str] = Counter()
        # queries running in this process at once: as many as workers, or as CPUs when there are no workers
        self._in_process = threading.BoundedSemaphore(self._size or os.cpu_count() or 1)
        # provably bounded queries (kg.sandbox.bounded) run in the calling thread, a few at a time: no pool hop
        self._fast_lane = FastLane(store, settings.fast_lane_slots if isinstance(store, EmbeddedStore) else 0)
        self._names = itertools.count(1)
        self._root: Path | None = None
        self.store: Store = ReplicatedStore(store, self)
        if self._size:
            self._spawn(self._start, self._size)

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
        if self._closed:
            raise StoreError("the query workers are stopped (the server is shutting down)")
        if (outcome := self._run_bounded(request)) is not None:
            return outcome
        if not self._ready.is_set():
            return self._run_in_process(request, limit)
        deadline = time.monotonic() + limit
        while True:
            worker, entries, target = self._take(deadline)
            try:
                self._hand_over(worker, ("query", entries, request), limit)
            except _Gone:  # it died while idle, before it read the query: the query is not to blame
                self._replace(worker, "stale")
                continue
            return self._outcome(worker.name, self._receive(worker, target, limit))

    def run_bounded(self, text: str, *, accept: str | None, max_rows: int | None = None) -> QueryOutcome | None:
        """Like run(), for a query on the default graph, but only in the fast lane: None when the text is not
        provably bounded (kg.sandbox.bounded) or no fast-lane slot is free (then call run())."""
        settings = self._settings
        if self._closed:
            raise StoreError("the query workers are stopped (the server is shutting down)")
        return self._run_bounded(QueryRequest(text, accept, settings.max_rows if max_rows is None else max_rows,
                                              (), (), tuple(settings.service_allow), settings.service_timeout))

    def _run_bounded(self, request: QueryRequest) -> QueryOutcome | None:
        """Run a provably bounded query (one triple pattern with a constant subject, DESCRIBE <iri>) right here,
        on the primary, when one of the fast lane's slots is free; None to send it to the workers instead."""
        reply = self._fast_lane.run(request)
        if reply is None:
            return None
        self._count("fast_lane")
        return self._outcome("fast-lane", reply)

    def _take(self, deadline: float) -> tuple[WorkerHandle, list[Entry], int]:
        """A free, live worker whose replica can catch up from the log; the entries it misses and the
        generation they bring it to, read together with the check."""
        while True:
            try:
                worker = self._idle.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise QueryTimeout(f"no query worker became free in time: all {self._size} are busy (setting "
                                   "query_workers, env KG_QUERY_WORKERS); try again later") from None
            with self._lock:
                if worker.generation >= self._barrier and worker.alive:
                    return worker, [e for g, e, _ in self._log if g > worker.generation], self._generation
            self._replace(worker, "stale")

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
        self._replace(worker, "timeouts")
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
            self._replace(worker, "crashes")
            raise StoreError(f"the query stopped its worker process (exit code {code}) and got no answer; "
                             "the worker has been replaced") from None
        if reply[0] == "diverged":
            self._replace(worker, "diverged")
            raise StoreError(f"a query worker could not apply the latest writes ({reply[1]}); it has been "
                             "replaced, try again")
        with self._lock:
            worker.generation = max(worker.generation, target)
            worker.queries += 1
            self._trim()
        self._idle.put(worker)
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
            self._count("timeouts")
            log.warning("in-process query over %g s: the client was answered, the query runs on", limit)
            raise QueryTimeout(f"the query was stopped after {limit:g} s (setting query_timeout, env "
                               "KG_QUERY_TIMEOUT); expected a query that finishes in time")
        return self._outcome("in-process", replies[0])

    # ------------------------------------------------------------------------------------------ writes

    def write(self, entry: Entry, apply: Callable[[], None]) -> None:
        """Apply a write to the primary (`apply`) and log `entry` for the replicas, as one step."""
        with self._write_lock:
            apply()
            with self._lock:
                self._generation += 1
                if entry[0] == "update" and _NONDETERMINISTIC.search(entry[1]):
                    self._barrier = self._generation
                size = _entry_size(entry)
                self._log.append((self._generation, entry, size))
                self._log_bytes += size
                self._trim()
                recycle = self._log_bytes > MAX_LOG_BYTES
        if recycle:
            self._recycle_idle()

    def _trim(self) -> None:
        """Drop the log entries every replica has applied (called with the lock held)."""
        floor = min((w.generation for w in self._workers.values()), default=self._generation)
        floor = max(floor, self._barrier)
        while self._log and self._log[0][0] <= floor:
            self._log_bytes -= self._log.popleft()[2]

    def _recycle_idle(self) -> None:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            self._replace(worker, "recycled")

    # ------------------------------------------------------------------------------------------ workers

    def _start(self, count: int) -> None:
        """Start `count` workers, retrying with a growing pause while starting fails."""
        pause = 0.5
        while count > 0 and not self._stopping.is_set():
            try:
                count -= self._launch(self._prepare(count))
            except (KGError, OSError) as error:
                log.error("query workers could not be prepared: %s", error)
            if count > 0 and self._stopping.wait(pause):
                return
            pause = min(pause * 2, 30.0)

    def _prepare(self, count: int) -> list[WorkerHandle]:
        """Bases for `count` replicas at the current generation, taken under the write lock."""
        if self._root is None:
            self._root = self._make_root()
        chunks: Iterable[bytes] = ()
        with self._write_lock, self._lock:
            if self._closed:
                return []
            if self._kind == CHECKPOINT:
                workers = [self._checkpoint_worker() for _ in range(count)]
            else:
                path = self._root / f"snapshot-{next(self._names)}.nq"
                chunks = self._primary.dump("nquads")  # the snapshot is taken now, written below
                workers = [WorkerHandle(f"r{next(self._names)}", NQUADS, path, self._generation) for _ in range(count)]
            self._workers.update((w.name, w) for w in workers)
        if self._kind == NQUADS:
            _write_file(workers[0].base, chunks)
        return workers

    def _checkpoint_worker(self) -> WorkerHandle:
        assert self._root is not None
        name = f"r{next(self._names)}"
        self._primary.backup(self._root / name)
        return WorkerHandle(name, CHECKPOINT, self._root / name, self._generation)

    def _launch(self, workers: list[WorkerHandle]) -> int:
        """Start the processes, wait until they have opened their replicas; the number that did."""
        try:
            for worker in workers:
                worker.start()
                if self._closed:
                    worker.kill()
        except OSError:
            for worker in workers:
                self._retire(worker)
            raise
        started = 0
        for worker in workers:
            if worker.await_ready(self._stopping, START_TIMEOUT):
                self._idle.put(worker)
                self._ready.set()
                started += 1
            else:
                self._retire(worker)
        if workers and workers[0].kind == NQUADS:
            workers[0].base.unlink(missing_ok=True)
        return started

    def _replace(self, worker: WorkerHandle, reason: str) -> None:
        self._retire(worker)
        self._count(reason)
        if not self._closed:
            self._count("restarts")
            self._spawn(self._start, 1)

    def _count(self, event: str) -> None:
        with self._lock:
            self._counts[event] += 1

    def _retire(self, worker: WorkerHandle) -> None:
        """Kill the worker's process and remove its replica; the first call also closes its connection."""
        with self._lock:
            first, worker.retired = not worker.retired, True
            self._workers.pop(worker.name, None)
            self._trim()
        worker.kill()
        if first:
            worker.remove()

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name="kg-query-pool", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _make_root(self) -> Path:
        """The folder of replicas: next to an on-disk store (so checkpoints are hard links), else in /tmp."""
        if self._kind == CHECKPOINT:
            store_dir = Path(getattr(self._primary, "location", ".")).resolve()
            prefix = f".{store_dir.name}.replicas-"
            _remove_stale(store_dir.parent, prefix)
            try:
                return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=store_dir.parent))
            except OSError as error:
                log.warning("%s: cannot hold replicas (%s); using in-memory replicas", store_dir.parent, error)
                self._kind = NQUADS
        return Path(tempfile.mkdtemp(prefix="kg-replicas-"))

    # ------------------------------------------------------------------------------------------ life cycle

    def wait_ready(self, timeout: float) -> bool:
        """Block until a worker is ready (or `timeout` seconds); False when none is (yet)."""
        return self._ready.wait(timeout) and self._size > 0

    def status(self) -> dict[str, Any]:
        """Figures for health checks and metrics: mode, workers, generation, and counts of timeouts etc."""
        with self._lock:
            mode = "in-process" if not self._size else "workers" if self._ready.is_set() else "starting"
            replicas = [{"name": w.name, "pid": w.pid, "alive": w.alive, "generation": w.generation,
                         "queries": w.queries} for w in self._workers.values()]
            return {"mode": mode, "workers": self._size, "idle": self._idle.qsize(), "replicas": replicas,
                    "generation": self._generation, "log_entries": len(self._log), **self._counts}

    def close(self) -> None:
        """Stop every worker and remove the replicas; queries running now fail with StoreError."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads, workers = list(self._threads), list(self._workers.values())
        self._stopping.set()
        for worker in workers:  # a busy worker's connection is closed by the thread using it, on EOF
            worker.kill()
        self._recycle_idle()
        for thread in threads:
            thread.join(30)
        for worker in list(self._workers.values()):
            worker.kill()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> QueryPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _checkpointable(store: EmbeddedStore) -> bool:
    return store.location != "memory:" and not store.read_only


def _entry_size(entry: Entry) -> int:
    return sum(len(part) if isinstance(part, str | bytes) else _parts_size(part) for part in entry)


def _parts_size(part: object) -> int:
    if isinstance(part, Iterable) and not isinstance(part, str | bytes):
        return sum(len(p) if isinstance(p, str | bytes) else _parts_size(p) for p in part)
    return 0


def _write_file(path: Path, chunks: Iterable[bytes]) -> None:
    with path.open("wb") as handle:
        for chunk in chunks:
            handle.write(chunk)


def _remove_stale(parent: Path, prefix: str) -> None:
    """Remove replica folders left by a server process that no longer runs (killed, say)."""
    for folder in parent.glob(prefix + "*"):
        owner = folder.name[len(prefix):].split("-")[0]
        if owner.isdigit() and int(owner) != os.getpid() and not _alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
