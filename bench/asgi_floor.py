"""The floor of the HTTP stack on this machine: uvicorn serving a fixed 2 kB JSON body from a bare ASGI app and
from a FastAPI route (plain `def`, like kg's), to compare kg's cache hits with. Benchmarks only.

`python -m bench.asgi_floor bare|fastapi PORT [--access-log]`, then e.g. `wrk -t1 -c1 -d10s --latency URL`.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

BODY = b'{"head": {"vars": ["p", "o"]}, "results": {"bindings": [' + b",".join(
    b'{"p": {"type": "uri", "value": "https://w3id.org/scholarkg/ontology#title"}}' for _ in range(25)) + b"]}}"
HEADERS = [(b"content-type", b"application/sparql-results+json"), (b"content-length", str(len(BODY)).encode())]


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def fastapi_app() -> Any:
    from fastapi import FastAPI, Response

    app = FastAPI()

    @app.get("/sparql")
    def sparql(query: str | None = None) -> Response:
        return Response(BODY, media_type="application/sparql-results+json", headers={"Vary": "Accept"})

    return app


def main(argv: list[str]) -> None:
    kind, port = argv[0], int(argv[1])
    app = bare if kind == "bare" else fastapi_app()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info" if "--access-log" in argv else "warning",
                access_log="--access-log" in argv)


if __name__ == "__main__":
    main(sys.argv[1:])
