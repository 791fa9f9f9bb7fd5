"""Operations: /healthz, /metrics (Prometheus text format) and the middleware that counts requests.

Counts are kept in this process only; the store's triple count is cached until the next write.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kg.server.writes import Writer

router = APIRouter(tags=["Operations"])

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """Thread-safe counters and latency histograms, written out in the Prometheus text format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[str, list[int]] = {}
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.queries: dict[str, int] = defaultdict(int)
        self.query_errors: dict[str, int] = defaultdict(int)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, method, status)] += 1
            counts = self.latency.setdefault(route, [0] * (len(BUCKETS) + 1))
            counts[next((i for i, bound in enumerate(BUCKETS) if seconds <= bound), len(BUCKETS))] += 1
            self.latency_sum[route] += seconds

    def query(self, form: str) -> None:
        with self._lock:
            self.queries[form] += 1

    def query_error(self, kind: str) -> None:
        with self._lock:
            self.query_errors[kind] += 1

    def exposition(self, triples: int, graphs: int) -> str:
        """All metrics as Prometheus text (format 0.0.4)."""
        with self._lock:
            lines = _counter("kg_http_requests_total", "HTTP requests by route, method and status",
                             {f'route="{_esc(r)}",method="{m}",status="{s}"': n
                              for (r, m, s), n in sorted(self.requests.items())})
            lines += self._histogram()
            lines += _counter("kg_sparql_queries_total", "SPARQL queries answered, by form",
                              {f'form="{f}"': n for f, n in sorted(self.queries.items())})
            lines += _counter("kg_sparql_query_errors_total", "SPARQL requests refused or failed, by error",
                              {f'error="{e}"': n for e, n in sorted(self.query_errors.items())})
        lines += ["# HELP kg_store_triples Quads in the store", "# TYPE kg_store_triples gauge",
                  f"kg_store_triples {triples}",
                  "# HELP kg_store_graphs Named graphs in the store", "# TYPE kg_store_graphs gauge",
                  f"kg_store_graphs {graphs}"]
        return "\n".join(lines) + "\n"

    def _histogram(self) -> list[str]:
        name = "kg_http_request_duration_seconds"
        lines = [f"# HELP {name} Time to answer a request, by route", f"# TYPE {name} histogram"]
        for route, counts in sorted(self.latency.items()):
            label = f'route="{_esc(route)}"'
            total = 0
            for bound, count in zip((*BUCKETS, float("inf")), counts, strict=True):
                total += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(f'{name}_bucket{{{label},le="{le}"}} {total}')
            lines.append(f"{name}_sum{{{label}}} {self.latency_sum[route]:.6f}")
            lines.append(f"{name}_count{{{label}}} {total}")
        return lines


def _counter(name: str, help_text: str, samples: dict[str, int]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} counter",
            *(f"{name}{{{labels}}} {value}" for labels, value in samples.items())]


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsMiddleware:
    """Pure ASGI middleware (streams pass through untouched) timing each request until its last byte."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.metrics.observe(_route(scope), scope["method"], status, time.perf_counter() - start)


def _route(scope: Scope) -> str:
    """The route template that matched (bounded label values), not the raw path."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "/static" if str(scope.get("path", "")).startswith("/static/") else "unmatched"


def store_counts(writer: Writer) -> tuple[int, int]:
    """(quads, named graphs), counted once per store generation: counting quads scans the store."""
    return writer.cached("counts", lambda: (writer.store.quad_count(), len(writer.store.named_graphs())))


@router.get("/healthz", summary="Liveness and size of the store",
            responses={200: {"description": '`{"ok": true, "triples": N, "graphs": M}`',
                             "content": {"application/json": {}}}})
def healthz(request: Request) -> JSONResponse:
    """Answers when the store can be read; `triples` counts quads over all graphs."""
    triples, graphs = store_counts(request.app.state.writer)
    return JSONResponse({"ok": True, "triples": triples, "graphs": graphs})


@router.get("/metrics", summary="Request and query metrics (Prometheus text format)",
            response_class=PlainTextResponse,
            responses={200: {"content": {PROMETHEUS_TYPE.split(";")[0]: {}}}})
def metrics(request: Request) -> PlainTextResponse:
    """Requests by route and status, latency histograms, queries, query errors and store size."""
    triples, graphs = store_counts(request.app.state.writer)
    text = request.app.state.metrics.exposition(triples, graphs)
    return PlainTextResponse(text, media_type=PROMETHEUS_TYPE)
