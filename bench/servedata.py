"""The data the HTTP, start-up and export benchmarks serve: generated profiles -> `kg ingest` -> `kg export`
(N-Quads and the merged default graph) -> an Oxigraph server store; built once per size and reused.

Sizes are named by the triples queries see (the default graph: the merge of all named graphs).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyoxigraph

from bench.generate import Options, ensure_generated, options_json
from bench.ingest_bench import label
from bench.machine import ROOT
from bench.procs import BIN, Server, free_port, timed_run

WORK = ROOT / "bench" / "work"
# measured: 100 profiles give 190,589 default-graph triples (307,418 quads); growth is close to linear
PROFILES = {"100k": 55, "1m": 550}
READY_TIMEOUT = 1800.0


def dataset_dir(size: str, seed: int = 1) -> Path:
    return WORK / f"http-{size}-s{seed}"


def ensure_dataset(size: str, seed: int = 1, profiles: int | None = None) -> dict[str, Any]:
    """The manifest of the dataset for `size` ("100k", "1m"), building what is missing (each step once)."""
    count = profiles or PROFILES[size]
    options = Options(count, seed)
    out = dataset_dir(size, seed)
    manifest_file = out / "manifest.json"
    manifest: dict[str, Any] = {}
    if manifest_file.is_file():
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        if manifest.get("options") == options_json(options) and manifest.get("complete"):
            return manifest
    if manifest.get("options") != options_json(options):  # another size or seed: start over
        shutil.rmtree(out, ignore_errors=True)
        manifest = {"size": size, "options": options_json(options), "steps": {}}
    out.mkdir(parents=True, exist_ok=True)
    build = _Build(out, manifest, manifest_file)
    build.step("generate", lambda: _generate(WORK / f"p{label(count)}-s{seed}", options))
    build.command("ingest", [str(BIN / "kg"), "ingest", str(WORK / f"p{label(count)}-s{seed}"),
                             "--store", str(out / "store")])
    build.step("first_start", lambda: first_start(out / "store", out / "logs" / "first-start.log"))
    build.command("export_nquads", _export(out, "nquads", out / "data.nq"))
    build.command("export_merge", _export(out, "turtle", out / "merge.ttl"))
    build.command("oxigraph_load", [str(BIN / "oxigraph"), "load", "--location", str(out / "oxigraph"),
                                    "--file", str(out / "data.nq")])
    build.command("oxigraph_load_merge", [str(BIN / "oxigraph"), "load", "--location", str(out / "oxigraph"),
                                          "--file", str(out / "merge.ttl")])
    manifest.update(counts(out))
    manifest["complete"] = True
    build.save()
    return manifest


class _Build:
    """Runs the build steps not already in the manifest (an interrupted build resumes), saving after each."""

    def __init__(self, out: Path, manifest: dict[str, Any], file: Path) -> None:
        self.out, self.manifest, self.file = out, manifest, file

    def save(self) -> None:
        self.file.write_text(json.dumps(self.manifest, indent=2) + "\n", encoding="utf-8")

    def step(self, name: str, work: Callable[[], dict[str, Any]]) -> None:
        steps = self.manifest["steps"]
        if name in steps:
            return
        print(f"[{time.strftime('%H:%M:%S')}] dataset {self.out.name}: {name} …", flush=True)
        steps[name] = work()
        self.save()

    def command(self, name: str, command: list[str]) -> None:
        def work() -> dict[str, Any]:
            result = timed_run(command, self.out / "logs" / f"{name}.log")
            if result.returncode != 0:
                raise RuntimeError(f"{' '.join(command)}: exit {result.returncode}; see {self.out}/logs/{name}.log")
            return result.json()

        self.step(name, work)


def _generate(folder: Path, options: Options) -> dict[str, Any]:
    started = time.perf_counter()
    ensure_generated(folder, options)
    return {"seconds": round(time.perf_counter() - started, 3), "folder": _rel(folder)}


def _export(out: Path, fmt: str, target: Path) -> list[str]:
    return [str(BIN / "kg"), "export", "--format", fmt, "--store", str(out / "store"), "--output", str(target)]


def kg_server(store: Path, log: Path, env: dict[str, str] | None = None, *, whatif: bool = False) -> Server:
    """`kg serve` on a free port; `whatif`: through bench.whatif_serve (no rdflib parse of plain queries)."""
    port = free_port()
    kg = [str(BIN / "python"), "-m", "bench.whatif_serve"] if whatif else [str(BIN / "kg")]
    command = [*kg, "serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port)]
    return Server("kg-whatif" if whatif else "kg", command, port, "/sparql", "/healthz", log, dict(env or {}))


def first_start(store: Path, log: Path) -> dict[str, Any]:
    """`kg serve` on the store exactly as `kg ingest` left it (RocksDB may first replay its write-ahead log)."""
    wal = sum(p.stat().st_size for p in store.glob("*.log"))
    server = kg_server(store, log)
    server.start()
    try:
        ready = server.wait_ready(READY_TIMEOUT)
    finally:
        server.stop()
    return {"ready_seconds": round(ready, 3), "wal_bytes_before": wal}


def counts(out: Path) -> dict[str, Any]:
    """Triples in the default graph (the merge), quads and named graphs, read from the Oxigraph copy."""
    store = pyoxigraph.Store.read_only(str(out / "oxigraph"))
    default = _count(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    quads = _count(store, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
    return {"triples": default, "quads": quads, "named_graphs": len(list(store.named_graphs())),
            "nquads_bytes": (out / "data.nq").stat().st_size}


def _count(store: pyoxigraph.Store, query: str) -> int:
    solutions = store.query(query)
    assert isinstance(solutions, pyoxigraph.QuerySolutions)
    return int(next(iter(solutions))["n"].value)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
