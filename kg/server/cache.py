"""Caches of answers: /sparql results (per query text, dataset, Accept header) and rendered pages (per raw path,
query string, Accept header), each filed under the store generation, so a write makes every earlier entry
unreachable: never a stale answer.

It knows nothing of how a query runs or a page is made; kg.server.sparql and kg.server.pages hand it their
responses, and kg.server.fastpath answers GET hits before FastAPI's routing.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from starlette.types import Scope

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
    media_type: str | None  # the Content-Type header as it was sent
    headers: tuple[tuple[str, str], ...]  # without Content-Length, Content-Type and X-KG-Cache
    form: str  # SELECT, ASK, CONSTRUCT or DESCRIBE, for the query metrics of a hit; "" for a page
    status: int = 200
    route: str = "/sparql"  # the route template, for the request metrics of a hit answered before routing


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

    def get(self, key: Key, *, count_miss: bool = True) -> Answer | None:
        """The answer under `key`, or None; `count_miss=False` for a look-up that another one will repeat."""
        with self._lock:
            self._advance(key.generation)
            answer = self._items.get(key)
            if answer is None:
                self.misses += count_miss
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
RESULTS = "result_cache"
PAGES = "page_cache"


def cache_of(state: Any, name: str = RESULTS) -> ResultCache | None:
    """The application's cache `name` (RESULTS or PAGES), made on first use; None when caching is off
    (cache_entries 0) or the store can change without a write through this server (a remote store)."""
    cache: ResultCache | None = getattr(state, name, None)
    if cache is None and not hasattr(state, name):
        with _INSTALL_LOCK:
            if not hasattr(state, name):
                entries = state.settings.cache_entries
                setattr(state, name, ResultCache(entries) if entries > 0 and _local(state.store) else None)
            cache = getattr(state, name)
    return cache


def _local(store: object) -> bool:
    """Only this process writes an embedded store it opened for writing (RocksDB's lock)."""
    if isinstance(store, ReplicatedStore):  # the worker pool's view: writes go through it to the primary
        store = store.primary
    return isinstance(store, EmbeddedStore) and not store.read_only


def key_for(request: Request, text: str, default_graphs: Sequence[str], named_graphs: Sequence[str]) -> Key | None:
    """The cache key of a query request, with the generation as of now; None when it must not be cached."""
    if request.method not in ("GET", "POST") or not cacheable(text):
        return None
    if cache_of(request.app.state) is None:
        return None
    generation: int = request.app.state.writer.generation
    return Key(text, tuple(default_graphs), tuple(named_graphs), request.headers.get("accept") or "", generation)


def cacheable(text: str) -> bool:
    """False for a text that may name SERVICE, in any spelling: remote data changes without a write here."""
    return _MAY_REACH_OUT.search(text) is None


def page_key(scope: Scope, accept: str, generation: int) -> Key:
    """The key of a page request: the raw path (pages build IRIs from it), the root path, the query string and
    the Accept header. Pages depend on nothing else of the request (no Host: their links are relative)."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    where = f"{scope.get('root_path', '')}|{raw.decode('latin-1')}?{scope.get('query_string', b'').decode('latin-1')}"
    return Key(where, (), (), accept, generation)


def page_key_for(request: Request) -> Key | None:
    """The page cache key of a GET request with the generation as of now (read before the page is made); None
    for other methods or when page caching is off."""
    if request.method != "GET" or cache_of(request.app.state, PAGES) is None:
        return None
    return page_key(request.scope, request.headers.get("accept") or "", request.app.state.writer.generation)


def lookup(request: Request, key: Key | None) -> Response | None:
    """The cached response for `key`, or None (then run the query and call `remember`)."""
    cache = cache_of(request.app.state) if key is not None else None
    answer = cache.get(key) if cache is not None and key is not None else None
    if answer is None:
        return None
    request.app.state.metrics.query(answer.form)
    return response_of(answer)


def response_of(answer: Answer) -> Response:
    """A hit, built exactly as the miss was (the same headers in the same order), with X-KG-Cache: hit."""
    response = Response(answer.body, answer.status, None, answer.media_type)  # adds Content-Length, -Type
    response.raw_headers[:0] = [(name.lower().encode("latin-1"), value.encode("latin-1"))
                                for name, value in answer.headers]  # before them, as in the miss
    response.headers[HEADER] = "hit"
    return response


def remember(state: Any, key: Key | None, response: Response, form: str, *, truncated: bool) -> Response:
    """Keep `response` (a complete, in-memory answer) under `key`, unless truncated or reaching out; returns it.
    `state` is the application's state."""
    cache = cache_of(state) if key is not None else None
    if cache is None or key is None:
        return response
    response.headers[HEADER] = "miss"
    if truncated or inspect_query(key.text).service_iris:  # parsed already: inspect_query is memoised
        return response
    cache.put(key, _answer(response, form, "/sparql"))
    return response


def keep_page(request: Request, key: Key | None, response: Response) -> Response:
    """Keep a page response (200, or a 303 to a document) under `key` from page_key_for; returns it."""
    cache = cache_of(request.app.state, PAGES) if key is not None else None
    if cache is None or key is None or response.status_code not in (200, 303):
        return response
    response.headers[HEADER] = "miss"
    route = getattr(request.scope.get("route"), "path", None)
    cache.put(key, _answer(response, "", route if isinstance(route, str) else "unmatched"))
    return response


def _answer(response: Response, form: str, route: str) -> Answer:
    headers = tuple((name, value) for name, value in response.headers.items()
                    if name.lower() not in ("content-length", "content-type", HEADER.lower()))
    media_type = response.headers.get("content-type")  # as sent (with its charset): replayed unchanged
    return Answer(bytes(response.body), media_type, headers, form, response.status_code, route)
