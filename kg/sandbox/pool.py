"""QueryPool: queries run in worker processes over replicas of the store, so a query past its time limit is
really stopped (its worker is killed and replaced); every committed write reaches the replicas through a log."""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from kg import errors
from kg.config import Settings
from kg.errors import KGError, QueryTimeout, StoreError
from kg.query import QueryOutcome, run_query
from kg.sandbox.worker import CHECKPOINT, NQUADS, Entry, QueryRequest, Reply
from kg.store import EmbeddedStore, Store

log = logging.getLogger("kg.sandbox")

START_TIMEOUT = 600.0  # seconds a worker may take to open its replica (an N-Quads load of a big memory store)
MAX_LOG_BYTES = 256 << 20  # above this, idle replicas are replaced by fresh ones instead of replaying the log
# Updates calling these give other values on each replay: replicas are rebuilt from the primary instead
_ENTRY = "import sys; from kg.sandbox.worker import main; main(sys.argv[1:])"
_NONDETERMINISTIC = re.compile(r"\b(?:NOW|RAND|UUID|STRUUID)\s*\(", re.IGNORECASE)


class WorkerFailure(RuntimeError):
    """A bug inside a query worker (not the client's fault): the server answers 500 and logs the traceback."""


@dataclass(eq=False)
class _Worker:
    """A worker process and the generation of the write log its replica has applied."""

    name: str
    kind: str
    base: Path
    generation: int
    process: subprocess.Popen[bytes] | None = None
    conn: Connection | None = None
    queries: int = 0
    retired: bool = False


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
        from kg.sandbox.replicated import ReplicatedStore

        self._primary = store
        self._settings = settings
        count = settings.query_workers if workers is None else workers
        self._size = count if isinstance(store, EmbeddedStore) else 0
        self._kind = CHECKPOINT if isinstance(store, EmbeddedStore) and _checkpointable(store) else NQUADS
        self._write_lock = threading.Lock()  # one write or one snapshot at a time
        self._lock = threading.Lock()  # the log, the generation and the worker table
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: dict[str, _Worker] = {}
        self._log: deque[tuple[int, Entry, int]] = deque()
        self._log_bytes = 0
        self._generation = 0
        self._barrier = 0  # replicas older than this cannot catch up from the log: they are replaced
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._counts: Counter[str] = Counter()
        self._in_process = threading.BoundedSemaphore(max(1, self._size))
        self._names = itertools.count(1)
        self._root: Path | None = None
        self.store: Store = ReplicatedStore(store, self)
        if self._size:
            self._spawn(self._start, self._size)

    # ------------------------------------------------------------------------------------------ queries

    def run(self, text: str, *, accept: str | None, max_rows: int | None = None,
            default_graph_uris: Sequence[str] = (), named_graph_uris: Sequence[str] = (),
            service_allow: Sequence[str] | None = None, timeout: float | None = None) -> QueryOutcome:
        """kg.query.run_query in a worker, stopped after `timeout` seconds (default settings.query_timeout)
        with QueryTimeout. KGErrors of the query come back as themselves; a worker that dies on the query gives
        StoreError (503). Defaults: settings.max_rows, and SERVICE checked against settings.service_allow."""
        settings = self._settings
        request = QueryRequest(text, accept, settings.max_rows if max_rows is None else max_rows,
                               tuple(default_graph_uris), tuple(named_graph_uris),
                               tuple(settings.service_allow if service_allow is None else service_allow))
        limit = settings.query_timeout if timeout is None else timeout
        if self._closed:
            raise StoreError("the query workers are stopped (the server is shutting down)")
        if not self._ready.is_set():
            return self._run_in_process(request, limit)
        worker = self._take(time.monotonic() + limit)
        return self._outcome(worker, self._exchange(worker, request, limit))

    def _take(self, deadline: float) -> _Worker:
        while True:
            try:
                worker = self._idle.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise QueryTimeout(f"no query worker became free in time: all {self._size} are busy (setting "
                                   "query_workers, env KG_QUERY_WORKERS); try again later") from None
            if worker.generation >= self._barrier and worker.process is not None and worker.process.poll() is None:
                return worker
            self._replace(worker, "stale")

    def _exchange(self, worker: _Worker, request: QueryRequest, limit: float) -> Reply:
        with self._lock:
            entries = [entry for generation, entry, _ in self._log if generation > worker.generation]
            target = self._generation
        conn = worker.conn
        assert conn is not None and worker.process is not None
        try:
            conn.send(("query", entries, request))
            if not conn.poll(limit):
                self._replace(worker, "timeouts")
                log.warning("query stopped after %g s; worker %s killed and replaced", limit, worker.name)
                raise QueryTimeout(f"the query was stopped after {limit:g} s (setting query_timeout, env "
                                   "KG_QUERY_TIMEOUT); expected a query that finishes in time")
            reply: Reply = conn.recv()
        except (EOFError, OSError):
            code = _exit_code(worker.process)
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
    def _outcome(worker: _Worker, reply: Reply) -> QueryOutcome:
        if reply[0] == "ok":
            form, fmt, media_type, body, truncated, count = reply[1]
            return QueryOutcome(form, fmt, media_type, iter((body,)), truncated, count)
        if reply[0] == "error":
            raise _kg_error(reply[1], reply[2])
        raise WorkerFailure(f"query worker {worker.name} failed:\n{reply[1]}")

    def _run_in_process(self, request: QueryRequest, limit: float) -> QueryOutcome:
        """Run on the primary in a thread; the caller gets QueryTimeout after `limit`, the thread runs on
        (pyoxigraph cannot be interrupted). At most as many such threads as workers run at once."""
        if not self._in_process.acquire(timeout=limit):
            raise QueryTimeout(f"the query could not start within {limit:g} s: the server is still starting "
                               "its query workers and earlier queries are running; try again later")
        box: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["value"] = _run_here(self._primary, request)
            except BaseException as error:  # handed over to the caller's thread as it is
                box["error"] = error
            finally:
                self._in_process.release()
                done.set()

        threading.Thread(target=work, name="kg-query-in-process", daemon=True).start()
        if not done.wait(limit):
            self._counts["timeouts"] += 1
            log.warning("in-process query over %g s: the client was answered, the query runs on", limit)
            raise QueryTimeout(f"the query was stopped after {limit:g} s (setting query_timeout, env "
                               "KG_QUERY_TIMEOUT); expected a query that finishes in time")
        if "error" in box:
            raise box["error"]
        return box["value"]  # type: ignore[no-any-return]

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

    def _prepare(self, count: int) -> list[_Worker]:
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
                workers = [_Worker(f"r{next(self._names)}", NQUADS, path, self._generation) for _ in range(count)]
            self._workers.update((w.name, w) for w in workers)
        if self._kind == NQUADS:
            _write_file(workers[0].base, chunks)
        return workers

    def _checkpoint_worker(self) -> _Worker:
        assert self._root is not None
        name = f"r{next(self._names)}"
        self._primary.backup(self._root / name)
        return _Worker(name, CHECKPOINT, self._root / name, self._generation)

    def _launch(self, workers: list[_Worker]) -> int:
        """Start the processes, wait until they have opened their replicas; the number that did."""
        for worker in workers:
            self._start_process(worker)
        started = 0
        for worker in workers:
            if self._await_ready(worker):
                self._idle.put(worker)
                self._ready.set()
                started += 1
            else:
                self._retire(worker)
        if workers and workers[0].kind == NQUADS:
            workers[0].base.unlink(missing_ok=True)
        return started

    def _start_process(self, worker: _Worker) -> None:
        """A fresh interpreter (no fork of this threaded process) talking over a socket pair."""
        parent, child = multiprocessing.Pipe()
        command = [sys.executable, "-c", _ENTRY, worker.kind, str(worker.base), str(child.fileno()),
                   str(os.getpid())]
        try:
            process = subprocess.Popen(command, pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL)
        finally:
            child.close()
        with self._lock:
            worker.process, worker.conn = process, parent
        if self._closed:
            process.kill()

    def _await_ready(self, worker: _Worker) -> bool:
        assert worker.conn is not None and worker.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while not self._closed and time.monotonic() < deadline:
            try:
                if worker.conn.poll(0.25):
                    reply = worker.conn.recv()
                    if reply[0] == "ready":
                        return True
                    log.error("query worker %s did not start: %s", worker.name, reply[1])
                    return False
            except (EOFError, OSError):
                break
            if worker.process.poll() is not None and not worker.conn.poll(0):
                break
        if not self._closed:
            log.error("query worker %s did not start (exit code %s)", worker.name, worker.process.poll())
        return False

    def _replace(self, worker: _Worker, reason: str) -> None:
        self._retire(worker)
        self._counts[reason] += 1
        if not self._closed:
            self._counts["restarts"] += 1
            self._spawn(self._start, 1)

    def _retire(self, worker: _Worker) -> None:
        """Kill the worker's process and remove its replica; the first call also closes its connection."""
        with self._lock:
            first, worker.retired = not worker.retired, True
            self._workers.pop(worker.name, None)
            self._trim()
        if worker.process is not None:
            _exit_code(worker.process, kill=True)
        if first:
            if worker.conn is not None:
                worker.conn.close()
            if worker.kind == CHECKPOINT:
                shutil.rmtree(worker.base, ignore_errors=True)

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
            replicas = [{"name": w.name, "pid": w.process.pid if w.process else None, "generation": w.generation,
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
            if worker.process is not None:
                _exit_code(worker.process, kill=True)
        self._recycle_idle()
        for thread in threads:
            thread.join(30)
        for worker in list(self._workers.values()):
            if worker.process is not None:
                _exit_code(worker.process, kill=True)
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> QueryPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _run_here(store: Store, request: QueryRequest) -> QueryOutcome:
    outcome = run_query(store, request.text, accept=request.accept, max_rows=request.max_rows,
                        default_graph_uris=request.default_graph_uris, named_graph_uris=request.named_graph_uris,
                        service_allow=request.service_allow)
    body = b"".join(outcome.body)
    return QueryOutcome(outcome.form, outcome.format, outcome.media_type, iter((body,)), outcome.truncated,
                        outcome.count)


def _kg_error(name: str, message: str) -> KGError:
    """The worker's KGError, rebuilt here with its class and message."""
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, KGError)):
        cls = KGError
    error = cls.__new__(cls)
    KGError.__init__(error, message)
    return error


def _exit_code(process: subprocess.Popen[bytes], *, kill: bool = False) -> int | None:
    """The process's exit code (negative: the signal that ended it), after killing it if asked."""
    if kill and process.poll() is None:
        process.kill()
    try:
        return process.wait(10 if kill else 1)
    except subprocess.TimeoutExpired:
        return None


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
