"""Load generators: a bounded loop of httpx clients in threads (fixed duration, bounded request count) that
times every request, and wrk with a Lua script for point lookups (less client overhead per request)."""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.queries import Request
from bench.treewatch import tree_cpu_seconds

TIMEOUT = 120.0  # seconds per request: a slower answer counts as an error
HEADERS = {"Accept-Encoding": "identity"}  # the same bytes from every server: no one pays for gzip


@dataclass
class Sample:
    kind: str
    seconds: float
    status: int
    size: int
    cache: str


def run_loop(base: str, sequences: Sequence[Sequence[Request]], seconds: float, max_requests: int) -> dict[str, Any]:
    """One thread per sequence sends its requests in order (cycling) until `seconds` pass or `max_requests` are
    sent in all; returns per-kind and overall figures. Requests in flight at the deadline are waited for."""
    samples: list[Sample] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    budget = [max_requests]

    def client(requests: Sequence[Request]) -> None:
        with httpx.Client(base_url=base, timeout=TIMEOUT, headers=HEADERS, follow_redirects=True) as http:
            i = 0
            while time.perf_counter() < deadline:
                with lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                request = requests[i % len(requests)]
                i += 1
                sample = _one(http, request)
                with lock:
                    samples.append(sample)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(seq,), daemon=True) for seq in sequences]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return summarise(samples, wall, len(sequences))


def _one(http: httpx.Client, request: Request) -> Sample:
    started = time.perf_counter()
    try:
        response = http.get(request.path, headers={"Accept": request.accept})
        status, size, cache = response.status_code, len(response.content), response.headers.get("x-kg-cache", "")
    except httpx.HTTPError as error:
        status, size, cache = 0, 0, type(error).__name__
    return Sample(request.kind, time.perf_counter() - started, status, size, cache)


def summarise(samples: list[Sample], wall: float, clients: int) -> dict[str, Any]:
    kinds = sorted({s.kind for s in samples})
    per_kind = {kind: _figures([s for s in samples if s.kind == kind], wall) for kind in kinds}
    sparql = [s for s in samples if s.kind != "author_page"]
    return {"clients": clients, "wall_seconds": round(wall, 3), "overall": _figures(samples, wall),
            "sparql": _figures(sparql, wall), "per_kind": per_kind}


def _figures(samples: list[Sample], wall: float) -> dict[str, Any]:
    ok = sorted(s.seconds for s in samples if 200 <= s.status < 300)
    errors = [s for s in samples if not 200 <= s.status < 300]
    figures: dict[str, Any] = {"requests": len(samples), "ok": len(ok), "errors": len(errors),
                               "rps": round(len(ok) / wall, 2) if wall else None}
    if errors:
        figures["error_statuses"] = sorted({str(s.status or s.cache) for s in errors})
    if ok:
        figures.update(median_ms=round(statistics.median(ok) * 1000, 2), p95_ms=round(_pct(ok, 0.95) * 1000, 2),
                       mean_ms=round(statistics.fmean(ok) * 1000, 2), max_ms=round(ok[-1] * 1000, 2))
    hits = sum(1 for s in samples if s.cache == "hit")
    if any(s.cache in ("hit", "miss") for s in samples):
        figures["cache_hits"] = hits
    return figures


def cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds so far of server `pid` with all its processes (query workers, also those replaced), or None."""
    return None if pid is None else tree_cpu_seconds(pid)


def _pct(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


_WRK_SCRIPT = """
local paths = %s
local accept = "%s"
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  i = tid * %d
end
function request()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], {["Accept"] = accept, ["Accept-Encoding"] = "identity"})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKJSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p95_us\\": %%d,"
    .. " \\"p99_us\\": %%d, \\"mean_us\\": %%f, \\"errors\\": %%d}\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def run_wrk(base: str, paths: Sequence[str], accept: str, clients: int, seconds: float) -> dict[str, Any]:
    """wrk over `paths` in turn (each wrk thread starts at its own offset): p50, p95, p99 latency and req/s."""
    threads = min(clients, 2)
    lua = "{" + ", ".join(json.dumps(p) for p in paths) + "}"
    script = _WRK_SCRIPT % (lua, accept, max(1, len(paths) // threads))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        done = subprocess.run(["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds:.0f}s",
                               "--timeout", "30s", "-s", handle.name, base], capture_output=True, text=True,
                              timeout=seconds + 120, check=False)
    finally:
        Path(handle.name).unlink(missing_ok=True)
    line = next((line for line in done.stdout.splitlines() if line.startswith("WRKJSON ")), None)
    if line is None:
        return {"clients": clients, "error": (done.stderr or done.stdout)[-500:]}
    raw = json.loads(line.removeprefix("WRKJSON "))
    seconds_run = raw["duration_us"] / 1e6
    return {"clients": clients, "requests": raw["requests"], "errors": raw["errors"],
            "rps": round(raw["requests"] / seconds_run, 1), "p50_ms": raw["p50_us"] / 1000,
            "p95_ms": raw["p95_us"] / 1000, "p99_ms": raw["p99_us"] / 1000, "mean_ms": round(raw["mean_us"] / 1000, 3),
            "distinct_paths": len(paths)}
