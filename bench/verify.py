"""Before timing: every query of the mix, with three parameter sets, sent once to each server; the answers'
row or triple counts must agree, so the servers are compared on the same work."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pyoxigraph

from bench.loadgen import HEADERS
from bench.procs import Server
from bench.queries import KINDS, LOOKUP, Kind, request_for

_GRAPH_FORMATS = {"application/n-triples": pyoxigraph.RdfFormat.N_TRIPLES, "text/turtle": pyoxigraph.RdfFormat.TURTLE,
                  "application/rdf+xml": pyoxigraph.RdfFormat.RDF_XML,
                  "application/sparql-results+xml": pyoxigraph.RdfFormat.RDF_XML}  # rdflib-endpoint's DESCRIBE


def verify(servers: list[Server], pools: dict[str, Any], sets: int = 3) -> dict[str, Any]:
    checks = []
    for kind in (*KINDS, LOOKUP):
        for index in range(sets):
            params = pools[kind.pool][index % len(pools[kind.pool])]
            row: dict[str, Any] = {"kind": kind.name, "params": list(params), "servers": {}}
            for server in servers:
                if kind.page and not server.name.startswith("kg"):
                    continue
                row["servers"][server.name] = _count(server, kind, params)
            counts = {v.get("count") for v in row["servers"].values()}
            row["agree"] = len(counts) == 1 and None not in counts
            checks.append(row)
    bad = [f"{c['kind']}{c['params']}" for c in checks if not c["agree"]]
    return {"all_agree": not bad, "disagreements": bad, "checks": checks}


def _count(server: Server, kind: Kind, params: tuple[str, ...]) -> dict[str, Any]:
    request = request_for(kind, params, server.query_path)
    started = time.perf_counter()
    try:
        with httpx.Client(base_url=server.base, timeout=600.0, headers=HEADERS, follow_redirects=True) as http:
            response = http.get(request.path, headers={"Accept": request.accept})
    except httpx.HTTPError as error:
        return {"error": type(error).__name__}
    result: dict[str, Any] = {"status": response.status_code, "ms": round((time.perf_counter() - started) * 1000, 2),
                              "bytes": len(response.content)}
    if response.status_code != 200:
        return result
    media = response.headers.get("content-type", "").split(";")[0].strip()
    if kind.page:
        result["count"] = int(media == "text/html" and b"</html>" in response.content)
    elif kind.graph:
        result["count"] = _triples(response.content, media)
    else:
        result["count"] = len(response.json()["results"]["bindings"])
    return result


def _triples(body: bytes, media: str) -> int | None:
    fmt = _GRAPH_FORMATS.get(media)
    if fmt is None:
        return None
    return len({str(t) for t in pyoxigraph.parse(body, fmt)})
