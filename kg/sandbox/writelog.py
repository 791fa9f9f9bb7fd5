"""WriteLog: the writes committed to the primary that some replica has yet to replay, numbered by generation,
and the barrier below which replay cannot bring a replica (a non-deterministic update). No locks, no processes."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable

from kg.sandbox.worker import Entry

MAX_LOG_BYTES = 256 << 20  # above this, idle replicas are replaced by fresh ones instead of replaying the log
# Updates calling these give other values on each replay: replicas are rebuilt from the primary instead
_NONDETERMINISTIC = re.compile(r"\b(?:NOW|RAND|UUID|STRUUID)\s*\(", re.IGNORECASE)


class WriteLog:
    """Not thread-safe: its owner (WorkerFleet) holds one lock around every use."""

    def __init__(self) -> None:
        self._entries: deque[tuple[int, Entry, int]] = deque()
        self._bytes = 0
        self.generation = 0
        self.barrier = 0  # replicas older than this cannot catch up from the log: they are replaced

    def __len__(self) -> int:
        return len(self._entries)

    def append(self, entry: Entry) -> None:
        """Log a write the primary has applied, as the next generation."""
        self.generation += 1
        if entry[0] == "update" and _NONDETERMINISTIC.search(entry[1]):
            self.barrier = self.generation
        size = _entry_size(entry)
        self._entries.append((self.generation, entry, size))
        self._bytes += size

    def too_long(self) -> bool:
        """True when idle replicas should be replaced rather than replay the log (MAX_LOG_BYTES)."""
        return self._bytes > MAX_LOG_BYTES

    def since(self, generation: int) -> list[Entry]:
        """The entries a replica at `generation` misses, oldest first."""
        return [e for g, e, _ in self._entries if g > generation]

    def trim(self, floor: int) -> None:
        """Drop the entries up to generation `floor` (every replica has them) and those behind the barrier."""
        floor = max(floor, self.barrier)
        while self._entries and self._entries[0][0] <= floor:
            self._bytes -= self._entries.popleft()[2]


def _entry_size(entry: Entry) -> int:
    return sum(len(part) if isinstance(part, str | bytes) else _parts_size(part) for part in entry)


def _parts_size(part: object) -> int:
    if isinstance(part, Iterable) and not isinstance(part, str | bytes):
        return sum(len(p) if isinstance(p, str | bytes) else _parts_size(p) for p in part)
    return 0
