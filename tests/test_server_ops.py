"""Operations and the HTTP surface: /healthz, /metrics, OpenAPI, error bodies, and `kg serve` end to end."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, LiveServer, start_server

from kg.config import Settings
from kg.store import EmbeddedStore

pytestmark = pytest.mark.slow

SAMPLE = re.compile(r'^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>[0-9.e+-]+|\+Inf)$')


def metrics(server: LiveServer) -> dict[tuple[str, str], float]:
    """Samples by (name, labels); every line is a comment or a well-formed sample."""
    response = server.get("metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for line in response.text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ ", line), line
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample: {line!r}"
        samples[(match["name"], match["labels"] or "")] = float(match["value"])
    return samples


def test_healthz_reports_the_store(server: LiveServer) -> None:
    body = server.get("healthz").json()
    assert body == {"ok": True, "triples": server.store.quad_count(), "graphs": len(server.store.named_graphs())}


def test_metrics_count_requests_queries_and_errors(server: LiveServer) -> None:
    before = metrics(server)
    server.get("sparql", params={"query": "ASK {}"})
    server.get("sparql", params={"query": "ASK {}"})
    server.get("sparql", params={"query": "ASK {"})
    after = metrics(server)
    ok = ("kg_http_requests_total", 'route="/sparql",method="GET",status="200"')
    bad = ("kg_http_requests_total", 'route="/sparql",method="GET",status="400"')
    assert after[ok] - before.get(ok, 0) == 2
    assert after[bad] - before.get(bad, 0) == 1
    asks = ("kg_sparql_queries_total", 'form="ASK"')
    assert after[asks] - before.get(asks, 0) == 2
    assert any(name == "kg_sparql_query_errors_total" for name, _ in after)
    assert after[("kg_store_triples", "")] == server.store.quad_count()
    count = after[("kg_http_request_duration_seconds_count", 'route="/sparql"')]
    assert after[("kg_http_request_duration_seconds_bucket", 'route="/sparql",le="+Inf"')] == count >= 3


def test_unmatched_paths_share_one_label(server: LiveServer) -> None:
    server.get("no/such/path/" + "x" * 20)
    labels = {labels for name, labels in metrics(server) if name == "kg_http_requests_total"}
    assert not any("no/such/path" in label for label in labels)
    assert any('route="unmatched"' in label for label in labels)


def test_openapi_documents_every_route(server: LiveServer) -> None:
    spec = server.get("openapi.json").json()
    expected = {
        "/sparql": {"get", "head", "post"}, "/graph-store": {"get", "head", "put", "post", "delete"},
        "/.well-known/void": {"get"}, "/void": {"get"}, "/dump": {"get"}, "/ontology": {"get"},
        "/shapes": {"get"}, "/context.jsonld": {"get"}, "/healthz": {"get"}, "/metrics": {"get"},
    }
    ids = []
    for path, methods in expected.items():
        assert methods <= set(spec["paths"][path]), path
        for method in methods:
            operation = spec["paths"][path][method]
            assert operation["summary"] and operation["responses"]
            ids.append(operation["operationId"])
    assert len(ids) == len(set(ids))
    for path, operations in spec["paths"].items():  # bad parameters get 400; 422 is only a refused write
        for method, operation in operations.items():
            if operation.get("parameters") or "requestBody" in operation:
                assert "400" in operation["responses"], (path, method)
            if "422" in operation["responses"]:
                assert method in {"post", "put", "delete"}, (path, method)
                assert "SHACL" in operation["responses"]["422"]["description"], (path, method)
    assert "HTTPValidationError" not in json.dumps(spec)
    assert "application/sparql-results+json" in spec["paths"]["/sparql"]["get"]["responses"]["200"]["content"]
    assert "application/sparql-update" in spec["paths"]["/sparql"]["post"]["requestBody"]["content"]
    assert "application/n-quads" in spec["paths"]["/dump"]["get"]["responses"]["200"]["content"]
    docs = server.get("docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text


@pytest.mark.parametrize(("accept", "media"), [
    (None, "text/plain"), ("application/json", "application/json"), ("text/html", "text/html"),
    ("application/sparql-results+json", "text/plain"),
])
def test_errors_come_in_the_preferred_form(server: LiveServer, accept: str | None, media: str) -> None:
    headers = {"Accept": accept} if accept else {}
    response = server.get("graph-store", params={"graph": "https://example.org/none"}, headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(media)
    assert "no such named graph" in response.text


def test_wrong_method_is_405(server: LiveServer) -> None:
    assert server.request("DELETE", "sparql").status_code == 405


class _BrokenStore(EmbeddedStore):
    def quad_count(self) -> int:
        raise RuntimeError("disk on fire at /secret/path")


@pytest.fixture
def broken(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(_BrokenStore(tmp_path / "store"), Settings())
    yield live
    live.stop()


def test_an_unexpected_error_is_a_generic_500_with_a_logged_traceback(
        broken: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="kg.server"):
        response = broken.get("healthz")
    assert response.status_code == 500
    assert "secret" not in response.text and "internal server error" in response.text
    assert any(record.exc_info and "disk on fire" in str(record.exc_info[1]) for record in caplog.records)


def test_kg_serve_ingests_the_seeds_into_an_empty_store_and_serves(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "KG_STORE": str(tmp_path / "store"), "KG_PORT": str(port)}
    process = subprocess.Popen([str(Path(sys.executable).parent / "kg"), "serve"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        health = _wait_for(f"http://127.0.0.1:{port}/healthz", process)
        assert health["graphs"] >= 6 and health["triples"] > 1000
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert "the store was empty; ingested 2 documents" in output


def _wait_for(url: str, process: subprocess.Popen[str]) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"kg serve exited: {process.communicate()[0]}")
        try:
            return dict(httpx.get(url, timeout=2).json())
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("kg serve did not answer within 60 s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cors_only_when_configured(server: LiveServer, make_server: Callable[..., LiveServer]) -> None:
    origin = {"Origin": "https://yasgui.example.org"}
    assert "access-control-allow-origin" not in server.get("sparql", params={"query": "ASK {}"}, headers=origin).headers
    open_server = make_server(cors_origins=("*",))
    answer = open_server.get("sparql", params={"query": "ASK {}"}, headers=origin)
    assert answer.headers["access-control-allow-origin"] == "*"
    preflight = open_server.request("OPTIONS", "sparql", headers={**origin, "Access-Control-Request-Method": "POST",
                                                                 "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200


def test_api_docs_load_only_vendored_assets(server: LiveServer) -> None:
    page = httpx.get(server.url + "docs", timeout=10)
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(src.startswith("/static/vendor/swagger-ui/") for src in sources), sources
    for src in sources:
        assert httpx.get(server.url + src.lstrip("/"), timeout=10).status_code == 200
    assert "validatorUrl" in page.text and "cdn." not in page.text
