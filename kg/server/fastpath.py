"""A pure ASGI middleware for the cheapest GET requests, before FastAPI's routing and validation: cache hits
(/sparql results and rendered pages) and provably bounded queries (kg.sandbox.bounded). All else passes through.

It sits inside kg's other middlewares (metrics, CORS, gzip), so its answers get exactly the headers the
application's own answers get; it builds them with the same functions (kg.server.cache, kg.server.sparql).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kg.errors import KGError
from kg.sandbox.bounded import bounded
from kg.server import cache, sparql
from kg.server.cache import Answer, Key


@dataclass(frozen=True, slots=True)
class _Route:
    """What the metrics middleware reads from scope["route"]: the template of the route that would have run."""

    path: str


class CachedAnswers:
    """Serves cache hits for GET /sparql (under the key the /sparql handler files answers under) and for pages
    (kg.server.pages files them), and runs bounded GET queries in the fast lane. Misses, HEAD, POST, errors and
    anything unusual go on to the application, which answers them as it always does."""

    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state  # state.fast_answers False sends every request on (tests compare both paths)
        self._executor = ThreadPoolExecutor(max(state.settings.fast_lane_slots, 1), "kg-fast-lane")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response | None = None
        if scope["type"] == "http" and scope["method"] == "GET" and self.state.fast_answers:
            if scope["path"] == "/sparql":
                response = await self._query(scope)
            else:
                response = self._page(scope)
        if response is None:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)

    def _page(self, scope: Scope) -> Response | None:
        pages = cache.cache_of(self.state, cache.PAGES)
        if pages is None or scope["path"].startswith("/static/"):
            return None
        key = cache.page_key(scope, _header(scope, b"accept") or "", self.state.writer.generation)
        return _hit(scope, pages.get(key, count_miss=False))

    async def _query(self, scope: Scope) -> Response | None:
        """A /sparql hit, keyed exactly as kg.server.sparql keys it (Starlette's reading of the query string),
        else the answer of a bounded query; None for everything else."""
        params = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        texts = [value for name, value in params if name == "query"]
        if scope.get("root_path") or len(texts) != 1 or any(name == "update" for name, _ in params):
            return None  # the service description, an error, or an ambiguous request: the handler decides
        accept = _header(scope, b"accept")
        results = cache.cache_of(self.state)
        defaults = tuple(v for n, v in params if n == "default-graph-uri")
        named = tuple(v for n, v in params if n == "named-graph-uri")
        key = None if results is None or not cache.cacheable(texts[0]) else \
            Key(texts[0], defaults, named, accept or "", self.state.writer.generation)
        if results is not None and key is not None and (answer := results.get(key, count_miss=False)):
            self.state.metrics.query(answer.form)
            return _hit(scope, answer)
        if defaults or named or not bounded(texts[0]):  # decided here: only a bounded text takes the hop
            return None
        client = scope["client"][0] if scope.get("client") else "unknown"
        try:
            response = await asyncio.get_running_loop().run_in_executor(
                self._executor, sparql.bounded_answer, self.state, texts[0], accept, client, key)
        except KGError:
            return None  # answered again by the application, with its error response and error metrics
        if response is not None:
            scope["route"] = _Route("/sparql")
        return response


def _hit(scope: Scope, answer: Answer | None) -> Response | None:
    if answer is None:
        return None
    scope["route"] = _Route(answer.route)  # the label the metrics middleware gives the request
    return cache.response_of(answer)


def _header(scope: Scope, name: bytes) -> str | None:
    """The first header `name` (lower case) as Starlette's Headers.get reads it, or None."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
