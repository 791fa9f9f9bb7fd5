"""A result cache for /sparql: the serialised answer (body, media type, headers) kept per query text, dataset,
Accept header and store generation, so a write makes every earlier entry unreachable: never a stale answer.

It knows nothing of how a query runs; kg.server.sparql asks it before running one and hands it the response.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import Request, Response

from kg.query import inspect_query
from kg.sandbox import ReplicatedStore
from kg.store import EmbeddedStore

MAX_BYTES = 64 << 20  # all cached bodies together
MAX_ENTRY_BYTES = 4 << 20  # a bigger answer is served, not kept
HEADER = "X-KG-Cache"  # "hit" or "miss": lets clients and benchmarks see what happened
# A text that may name SERVICE (remote data changes without a write here), in any spelling: never cached
_MAY_REACH_OUT = re.compile(r"service|\\u|\\U", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Key:
    """What an answer depends on. `accept` is the raw header: equal headers negotiate to the same format."""

    text: str
    default_graphs: tuple[str, ...]
    named_graphs: tuple[str, ...]
    accept: str
    generation: int


@dataclass(frozen=True, slots=True)
class Answer:
    body: bytes
    media_type: str | None
    headers: tuple[tuple[str, str], ...]
    form: str  # SELECT, ASK, CONSTRUCT or DESCRIBE, for the query metrics of a hit


class ResultCache:
    """A thread-safe LRU of answers, bounded by `entries` and MAX_BYTES, holding one store generation only.

    An entry is filed under the generation read *before* its query ran; the first lookup or insert under a
    newer generation empties the cache, and an answer computed under an older generation is dropped.
    """

    def __init__(self, entries: int, max_bytes: int = MAX_BYTES) -> None:
        self.entries = entries
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._items: OrderedDict[Key, Answer] = OrderedDict()
        self._bytes = 0
        self._generation = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: Key) -> Answer | None:
        with self._lock:
            self._advance(key.generation)
            answer = self._items.get(key)
            if answer is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return answer

    def put(self, key: Key, answer: Answer) -> None:
        size = len(answer.body)
        if self.entries < 1 or size > min(MAX_ENTRY_BYTES, self.max_bytes):
            return
        with self._lock:
            self._advance(key.generation)
            if key.generation != self._generation:
                return  # a write happened while the query ran: its answer may already be stale
            old = self._items.pop(key, None)
            self._bytes += size - (len(old.body) if old is not None else 0)
            self._items[key] = answer
            while len(self._items) > self.entries or self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted.body)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def _advance(self, generation: int) -> None:
        if generation > self._generation:
            self._items.clear()
            self._bytes = 0
            self._generation = generation


_INSTALL_LOCK = threading.Lock()


def cache_of(request: Request) -> ResultCache | None:
    """The application's cache, made on first use; None when caching is off (cache_entries 0) or the store can
    change without a write through this server (a remote store)."""
    state = request.app.state
    cache: ResultCache | None = getattr(state, "result_cache", None)
    if cache is None and not hasattr(state, "result_cache"):
        with _INSTALL_LOCK:
            if not hasattr(state, "result_cache"):
                entries = state.settings.cache_entries
                state.result_cache = ResultCache(entries) if entries > 0 and _local(state.store) else None
            cache = state.result_cache
    return cache


def _local(store: object) -> bool:
    """Only this process writes an embedded store it opened for writing (RocksDB's lock)."""
    if isinstance(store, ReplicatedStore):  # the worker pool's view: writes go through it to the primary
        store = store.primary
    return isinstance(store, EmbeddedStore) and not store.read_only


def key_for(request: Request, text: str, default_graphs: Sequence[str], named_graphs: Sequence[str]) -> Key | None:
    """The cache key of a query request, with the generation as of now; None when it must not be cached."""
    if request.method not in ("GET", "POST") or _MAY_REACH_OUT.search(text):
        return None
    if cache_of(request) is None:
        return None
    generation: int = request.app.state.writer.generation
    return Key(text, tuple(default_graphs), tuple(named_graphs), request.headers.get("accept") or "", generation)


def lookup(request: Request, key: Key | None) -> Response | None:
    """The cached response for `key`, or None (then run the query and call `remember`)."""
    cache = cache_of(request) if key is not None else None
    answer = cache.get(key) if cache is not None and key is not None else None
    if answer is None:
        return None
    request.app.state.metrics.query(answer.form)
    return Response(answer.body, media_type=answer.media_type, headers={**dict(answer.headers), HEADER: "hit"})


def remember(request: Request, key: Key | None, response: Response, form: str, *, truncated: bool) -> Response:
    """Keep `response` (a complete, in-memory answer) under `key`, unless truncated or reaching out; returns it."""
    cache = cache_of(request) if key is not None else None
    if cache is None or key is None:
        return response
    response.headers[HEADER] = "miss"
    if truncated or inspect_query(key.text).service_iris:  # parsed already: inspect_query is memoised
        return response
    headers = tuple((name, value) for name, value in response.headers.items()
                    if name.lower() not in ("content-length", "content-type", HEADER.lower()))
    cache.put(key, Answer(bytes(response.body), response.media_type, headers, form))
    return response
