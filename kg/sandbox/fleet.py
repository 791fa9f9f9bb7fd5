"""WorkerFleet: a QueryPool's worker processes and the write log that keeps their replicas current: it starts,
lends out and replaces workers, and logs every write. It does not run queries or know their time limits."""

from __future__ import annotations

import itertools
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kg.errors import KGError, QueryTimeout
from kg.sandbox.handle import WorkerHandle
from kg.sandbox.worker import CHECKPOINT, NQUADS, Entry
from kg.sandbox.writelog import WriteLog
from kg.store import EmbeddedStore, Store

log = logging.getLogger("kg.sandbox")

START_TIMEOUT = 600.0  # seconds a worker may take to open its replica (an N-Quads load of a big memory store)


class WorkerFleet:
    """`workers` processes over replicas of the embedded store `primary` (none for a remote store): a RocksDB
    checkpoint of an on-disk store, else an N-Quads snapshot. Counts events (timeouts, restarts, …) for status()."""

    def __init__(self, primary: Store, workers: int) -> None:
        self._primary = primary
        self.size = workers if isinstance(primary, EmbeddedStore) else 0
        self._kind = CHECKPOINT if isinstance(primary, EmbeddedStore) and _checkpointable(primary) else NQUADS
        self._write_lock = threading.Lock()  # one write or one snapshot at a time
        self._lock = threading.Lock()  # the log, the generation and the worker table
        self._idle: queue.Queue[WorkerHandle] = queue.Queue()
        self._workers: dict[str, WorkerHandle] = {}
        self._log = WriteLog()
        self.ready = threading.Event()  # set once the first replica is ready
        self._stopping = threading.Event()
        self.closed = False
        self._threads: list[threading.Thread] = []
        self._counts: Counter[str] = Counter()
        self._names = itertools.count(1)
        self._root: Path | None = None

    def open(self) -> None:
        """Start the workers in the background: start-up does not wait for them (see `ready`)."""
        if self.size:
            self._spawn(self._start, self.size)

    # ------------------------------------------------------------------------------------------ lending

    def take(self, deadline: float) -> tuple[WorkerHandle, list[Entry], int]:
        """A free, live worker whose replica can catch up from the log; the entries it misses and the
        generation they bring it to, read together with the check."""
        while True:
            try:
                worker = self._idle.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise QueryTimeout(f"no query worker became free in time: all {self.size} are busy (setting "
                                   "query_workers, env KG_QUERY_WORKERS); try again later") from None
            with self._lock:
                if worker.generation >= self._log.barrier and worker.alive:
                    return worker, self._log.since(worker.generation), self._log.generation
            self.replace(worker, "stale")

    def give_back(self, worker: WorkerHandle, target: int) -> None:
        """A worker that answered a query, its replica now at generation `target`, is free again."""
        with self._lock:
            worker.generation = max(worker.generation, target)
            worker.queries += 1
            self._trim()
        self._idle.put(worker)

    def replace(self, worker: WorkerHandle, reason: str) -> None:
        """Kill the worker, count `reason`, and start another in the background (unless closed)."""
        self._retire(worker)
        self.count(reason)
        if not self.closed:
            self.count("restarts")
            self._spawn(self._start, 1)

    def count(self, event: str) -> None:
        with self._lock:
            self._counts[event] += 1

    # ------------------------------------------------------------------------------------------ writes

    def write(self, entry: Entry, apply: Callable[[], None]) -> None:
        """Apply a write to the primary (`apply`) and log `entry` for the replicas, as one step."""
        with self._write_lock:
            apply()
            with self._lock:
                self._log.append(entry)
                self._trim()
                recycle = self._log.too_long()
        if recycle:
            self._recycle_idle()

    def _trim(self) -> None:
        """Drop the log entries every replica has applied (called with the lock held)."""
        self._log.trim(min((w.generation for w in self._workers.values()), default=self._log.generation))

    def _recycle_idle(self) -> None:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            self.replace(worker, "recycled")

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
            if self.closed:
                return []
            if self._kind == CHECKPOINT:
                workers = [self._checkpoint_worker() for _ in range(count)]
            else:
                path = self._root / f"snapshot-{next(self._names)}.nq"
                chunks = self._primary.dump("nquads")  # the snapshot is taken now, written below
                generation = self._log.generation
                workers = [WorkerHandle(f"r{next(self._names)}", NQUADS, path, generation) for _ in range(count)]
            self._workers.update((w.name, w) for w in workers)
        if self._kind == NQUADS:
            _write_file(workers[0].base, chunks)
        return workers

    def _checkpoint_worker(self) -> WorkerHandle:
        assert self._root is not None
        name = f"r{next(self._names)}"
        self._primary.backup(self._root / name)
        return WorkerHandle(name, CHECKPOINT, self._root / name, self._log.generation)

    def _launch(self, workers: list[WorkerHandle]) -> int:
        """Start the processes, wait until they have opened their replicas; the number that did."""
        try:
            for worker in workers:
                worker.start()
                if self.closed:
                    worker.kill()
        except OSError:
            for worker in workers:
                self._retire(worker)
            raise
        started = 0
        for worker in workers:
            if worker.await_ready(self._stopping, START_TIMEOUT):
                self._idle.put(worker)
                self.ready.set()
                started += 1
            else:
                self._retire(worker)
        if workers and workers[0].kind == NQUADS:
            workers[0].base.unlink(missing_ok=True)
        return started

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

    def status(self) -> dict[str, Any]:
        """Figures for health checks and metrics: mode, workers, generation, and counts of timeouts etc."""
        with self._lock:
            mode = "in-process" if not self.size else "workers" if self.ready.is_set() else "starting"
            replicas = [{"name": w.name, "pid": w.pid, "alive": w.alive, "generation": w.generation,
                         "queries": w.queries} for w in self._workers.values()]
            return {"mode": mode, "workers": self.size, "idle": self._idle.qsize(), "replicas": replicas,
                    "generation": self._log.generation, "log_entries": len(self._log), **self._counts}

    def close(self) -> None:
        """Stop every worker and remove the replicas."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
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


def _checkpointable(store: EmbeddedStore) -> bool:
    return store.location != "memory:" and not store.read_only


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
