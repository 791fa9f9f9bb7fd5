"""ClientLimiter: at most N queries at a time per client; one more is refused with TooManyRequests (HTTP 429)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from kg.errors import TooManyRequests


class ClientLimiter:
    """Counts running queries per client id (an address, say); thread-safe."""

    def __init__(self, max_concurrent: int, retry_after: int = 1) -> None:
        self.max_concurrent = max_concurrent
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}

    def acquire(self, client_id: str) -> None:
        """Count one more query for `client_id`, or raise TooManyRequests when it already runs the maximum."""
        with self._lock:
            running = self._running.get(client_id, 0)
            if running >= self.max_concurrent:
                raise TooManyRequests(
                    f"client {client_id}: {running} queries are already running; expected at most "
                    f"{self.max_concurrent} at a time (setting max_concurrent_per_client, env "
                    f"KG_MAX_CONCURRENT_PER_CLIENT); retry after {self.retry_after} s", retry_after=self.retry_after)
            self._running[client_id] = running + 1

    def release(self, client_id: str) -> None:
        """Count one query of `client_id` as finished (call it in a `finally` after a successful acquire)."""
        with self._lock:
            running = self._running.get(client_id, 0) - 1
            if running > 0:
                self._running[client_id] = running
            else:
                self._running.pop(client_id, None)  # idle clients leave no entry behind

    @contextmanager
    def slot(self, client_id: str) -> Iterator[None]:
        """`with limiter.slot(client):` acquire, run, release."""
        self.acquire(client_id)
        try:
            yield
        finally:
            self.release(client_id)

    def running(self, client_id: str) -> int:
        with self._lock:
            return self._running.get(client_id, 0)
