"""Shared fixtures: the seeds ingested once per session, and real uvicorn servers on 127.0.0.1 over temp stores.

`make_server(**settings)` starts a server (in a thread, on a socket bound to a free port before uvicorn starts,
so there is no race for the port) over a fresh on-disk store holding the seeds; servers stop at module end.
`server` is one such server with default settings, shared by the tests of a module.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph
import pytest
import uvicorn
from rdflib import Graph

from kg.config import Settings
from kg.ingest import Pipeline
from kg.server import create_app
from kg.store import Store, open_store

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LiveServer:
    """A running server: `url` ends in '/', e.g. http://127.0.0.1:41234/."""

    url: str
    store: Store
    settings: Settings
    app: Any
    uvicorn: uvicorn.Server
    thread: threading.Thread

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.url + path.lstrip("/"), timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(self.url + path.lstrip("/"), timeout=30, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.url + path.lstrip("/"), timeout=30, **kwargs)

    def put_graph(self, graph: str, body: bytes, media: str = "text/turtle",
                  headers: dict[str, str] | None = None) -> httpx.Response:
        """A Graph Store PUT, authorised with this server's update token unless `headers` are given."""
        return self.request("PUT", "graph-store", params={"graph": graph}, content=body,
                            headers={"Content-Type": media, **(self.auth() if headers is None else headers)})

    def update(self, text: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """A SPARQL Update POSTed as its own media type, authorised as put_graph is."""
        return self.post("sparql", content=text.encode(), headers={
            "Content-Type": "application/sparql-update", **(self.auth() if headers is None else headers)})

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.update_token}"} if self.settings.update_token else {}

    def stop(self) -> None:
        self.uvicorn.should_exit = True
        self.thread.join(timeout=15)
        self.app.state.queries.close()
        self.store.close()


def start_server(store: Store, settings: Settings) -> LiveServer:
    """Serve `store` on 127.0.0.1 and a free port; returns once uvicorn accepts connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = settings.with_overrides(host="127.0.0.1", port=port)
    app = create_app(store, settings)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", access_log=False,
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn-{port}")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{port}/", store, settings, app, server, thread)  # uvicorn closes sock


def dataset_graphs(body: bytes, syntax: str) -> dict[str | None, Graph]:
    """An N-Quads or TriG document as rdflib graphs by graph name (None: the default graph).

    pyoxigraph reads the dataset syntax (rdflib's Dataset.parse warns about its own deprecations); each
    graph is handed to rdflib as N-Triples, so comparisons use rdflib.compare.isomorphic as everywhere else.
    """
    fmt = {"nquads": pyoxigraph.RdfFormat.N_QUADS, "trig": pyoxigraph.RdfFormat.TRIG}[syntax]
    by_graph: dict[str | None, list[pyoxigraph.Triple]] = {}
    for quad in pyoxigraph.parse(body, fmt):
        name = None if isinstance(quad.graph_name, pyoxigraph.DefaultGraph) else quad.graph_name.value
        by_graph.setdefault(name, []).append(quad.triple)
    return {name: Graph().parse(data=pyoxigraph.serialize(triples, format=pyoxigraph.RdfFormat.N_TRIPLES),
                                format="nt")
            for name, triples in by_graph.items()}


@pytest.fixture(scope="session")
def seed_nquads() -> bytes:
    """The seeds ingested once (parse, map, reason, validate), as the N-Quads of the resulting store."""
    settings = Settings()
    with open_store("memory:") as store:
        summary = Pipeline(settings).ingest_paths(store, [settings.seeds_path])
        assert summary.count("ingested") >= 2, summary.outcomes
        return b"".join(store.dump("nquads"))


@pytest.fixture(scope="module")
def make_server(tmp_path_factory: pytest.TempPathFactory, seed_nquads: bytes) -> Iterator[Callable[..., LiveServer]]:
    """A factory: make_server(**settings_overrides) -> a live server over a fresh on-disk store with the seeds."""
    started: list[LiveServer] = []

    def make(**overrides: Any) -> LiveServer:
        directory = tmp_path_factory.mktemp("store")
        store = open_store(str(directory))
        store.load(seed_nquads, "nquads")
        live = start_server(store, Settings().with_overrides(store=str(directory), **overrides))
        started.append(live)
        return live

    yield make
    for live in started:
        live.stop()


@pytest.fixture(scope="module")
def server(make_server: Callable[..., LiveServer]) -> LiveServer:
    """A server with default settings (writes disabled), shared by a module's tests."""
    return make_server()
