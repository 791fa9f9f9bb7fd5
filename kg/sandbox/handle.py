"""WorkerHandle: one query worker process seen from the server: start it (a fresh interpreter talking over a
socket pair, never a fork of the threaded server), wait until its replica is open, kill it, clean up after it."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from kg.sandbox.worker import CHECKPOINT

log = logging.getLogger("kg.sandbox")

_ENTRY = "import sys; from kg.sandbox.worker import main; main(sys.argv[1:])"


@dataclass(eq=False)
class WorkerHandle:
    """A worker process, its connection, its replica's base (checkpoint folder or snapshot file) and the
    generation of the write log the replica has applied."""

    name: str
    kind: str
    base: Path
    generation: int
    process: subprocess.Popen[bytes] | None = None
    conn: Connection | None = None
    queries: int = 0
    retired: bool = False

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the process; its stderr is the server's, so a native crash message reaches the server log."""
        parent, child = multiprocessing.Pipe()
        command = [sys.executable, "-c", _ENTRY, self.kind, str(self.base), str(child.fileno()), str(os.getpid())]
        try:
            self.process = subprocess.Popen(command, pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL)
        finally:
            child.close()
        self.conn = parent

    def await_ready(self, stopping: threading.Event, timeout: float) -> bool:
        """True once the worker says its replica is open; False if it fails, dies, or `stopping` is set."""
        assert self.conn is not None
        deadline = time.monotonic() + timeout
        while not stopping.is_set() and time.monotonic() < deadline:
            try:
                if self.conn.poll(0.25):
                    reply = self.conn.recv()
                    if reply[0] == "ready":
                        return True
                    log.error("query worker %s did not start: %s", self.name, reply[1])
                    return False
            except (EOFError, OSError):
                break
            if not self.alive and not self.conn.poll(0):
                break
        if not stopping.is_set():
            log.error("query worker %s did not start (exit code %s)", self.name, self.exit_code(wait=0))
        return False

    def exit_code(self, wait: float = 1.0) -> int | None:
        """The exit code (negative: the signal that ended it), waiting up to `wait` seconds; None if running."""
        if self.process is None:
            return None
        try:
            return self.process.wait(wait)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """SIGKILL the process and reap it; safe to call again, and from several threads."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.exit_code(wait=10)

    def remove(self) -> None:
        """Close the connection and delete a checkpoint folder; call once, after kill()."""
        if self.conn is not None:
            self.conn.close()
        if self.kind == CHECKPOINT:
            shutil.rmtree(self.base, ignore_errors=True)
