"""`python -m bench http --triples 100k|1m`: `kg serve`, `oxigraph serve-read-only` and rdflib-endpoint serve
the same data side by side in one run; a query mix (varied and repeated), kg's author pages, and point lookups
(wrk) at 1 and 4 clients; result counts are checked equal across servers first.

Writes bench/results/http-<size>.json (machine, exact command, every figure) and prints the tables.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench import httpreport
from bench.loadgen import cpu_seconds, run_loop, run_wrk
from bench.machine import ROOT, command_line, machine_info
from bench.procs import BIN, Server, free_port
from bench.queries import KINDS, LOOKUP, SELECT_JSON, SPARQL_KINDS, Kind, draw_pools, request_for, sequence
from bench.servedata import dataset_dir, ensure_dataset, kg_server
from bench.verify import verify

RESULTS = ROOT / "bench" / "results"
SERVERS = ("kg", "oxigraph", "rdflib")  # also "kg-whatif" when asked for
PAGE_KINDS = tuple(k for k in KINDS if k.page)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("http", help="HTTP query mix, pages and point lookups vs Oxigraph and rdflib")
    parser.add_argument("--triples", choices=("100k", "1m"), required=True, help="size of the served default graph")
    parser.add_argument("--clients", default="1,4", help="concurrent clients, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each query-mix run")
    parser.add_argument("--lookup-seconds", type=float, default=10.0, help="duration of each wrk run")
    parser.add_argument("--max-requests", type=int, default=100_000, help="request bound of each run")
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help="among kg,oxigraph,rdflib and kg-whatif (bench/whatif_serve.py: a what-if, not a fix)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed of the data")
    parser.add_argument("--profiles", type=int, help="override the number of profiles for --triples")
    parser.add_argument("--kg-env", action="append", default=[], metavar="KEY=VALUE",
                        help="environment for kg serve, e.g. KG_CACHE_ENTRIES=0 (repeatable)")
    parser.add_argument("--tag", default="", help="suffix of the results file name")
    parser.add_argument("--results", type=Path, default=RESULTS)


def run(args: Any) -> int:
    report: dict[str, Any] = {"command": command_line(), "machine": machine_info(), "load_before": os.getloadavg()}
    manifest = ensure_dataset(args.triples, args.seed, args.profiles)
    report["dataset"] = manifest
    data = dataset_dir(args.triples, args.seed)
    pools = draw_pools(data / "oxigraph")
    report["pools"] = {name: len(pool) for name, pool in pools.items()}
    clients = [int(c) for c in args.clients.split(",")]
    env = dict(item.split("=", 1) for item in args.kg_env)
    servers = start_servers(data, [s for s in args.servers.split(",") if s], env, report)
    try:
        report["verification"] = verify(servers, pools)
        report["mix"] = run_mixes(servers, pools, clients, args)
        report["lookups"] = run_lookups(servers, pools, clients, args)
        report["server_memory"] = {s.name: s.rss() for s in servers}
    finally:
        for server in servers:
            server.stop()
    report["load_after"] = os.getloadavg()
    report["summary"] = httpreport.summary(report)
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"http-{args.triples}{'-' + args.tag if args.tag else ''}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(httpreport.tables(report))
    print(f"results: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


def make_server(name: str, data: Path, env: dict[str, str]) -> Server:
    log = data / "logs" / f"serve-{name}.log"
    if name == "kg":
        return kg_server(data / "store", log, env)
    if name == "kg-whatif":  # a copy of the store: RocksDB lets one process at a time hold a store for writing
        copy = data / "store-whatif"
        if not copy.is_dir():
            shutil.copytree(data / "store", copy)
        return kg_server(copy, log, env, whatif=True)
    port = free_port()
    if name == "oxigraph":  # the merge is loaded into its default graph: the same default graph as kg's
        return Server(name, [str(BIN / "oxigraph"), "serve-read-only", "--location", str(data / "oxigraph"),
                             "--bind", f"127.0.0.1:{port}"], port, "/query", "/query?query=ASK%7B%7D", log)
    if name == "rdflib":  # Dataset(default_union=True): its default graph is the merge (set semantics)
        return Server(name, [str(BIN / "rdflib-endpoint"), "serve", str(data / "data.nq"), "--host", "127.0.0.1",
                             "--port", str(port)], port, "/", "/?query=ASK%7B%7D", log)
    raise ValueError(f"--servers: unknown server {name!r}; expected one of {', '.join(SERVERS)}")


def start_servers(data: Path, names: list[str], env: dict[str, str], report: dict[str, Any]) -> list[Server]:
    """Start every server at once and wait for all in parallel (each ready time is its own); one that fails to
    start is recorded and left out."""
    servers = [make_server(name, data, env) for name in names]
    for server in servers:
        server.start()
    info: dict[str, Any] = report.setdefault("servers", {})
    with ThreadPoolExecutor(len(servers)) as pool:
        entries = list(pool.map(_wait, servers))
    for server, entry in zip(servers, entries, strict=True):
        info[server.name] = entry
        print(f"[{time.strftime('%H:%M:%S')}] {server.name}: {entry.get('ready_seconds', entry.get('error'))}",
              flush=True)
    return [server for server in servers if "error" not in info[server.name]]


def _wait(server: Server) -> dict[str, Any]:
    entry: dict[str, Any] = {"command": server.command, "env": server.env}
    try:
        entry["ready_seconds"] = round(server.wait_ready(1800.0), 3)
        entry.update(server.rss())
    except RuntimeError as error:
        entry["error"] = str(error)
        server.stop()
    return entry


def run_mixes(servers: list[Server], pools: dict[str, Any], clients: list[int], args: Any) -> list[dict[str, Any]]:
    """Every (mix, clients) block runs each server back to back, so load drift on the machine hits all alike."""
    runs = []
    for varied in (True, False):
        for count in clients:
            start = 3 + (0 if count == clients[0] else 97)  # parameters 0-2 went to the verification
            for server in servers:
                runs.append(_block(server, SPARQL_KINDS, pools, count, start, varied, args.seconds, args))
            for kg in (s for s in servers if s.name.startswith("kg")):
                runs.append(_block(kg, PAGE_KINDS, pools, count, start, varied, args.seconds / 2, args))
    return runs


def _block(server: Server, kinds: tuple[Kind, ...], pools: dict[str, Any], clients: int, start: int,
           varied: bool, seconds: float, args: Any) -> dict[str, Any]:
    sequences = [sequence(kinds, pools, thread=t, start=start, varied=varied, query_path=server.query_path,
                          length=20_000) for t in range(clients)]
    mix = ("varied" if varied else "repeated") + ("-pages" if kinds[0].page else "")
    print(f"[{time.strftime('%H:%M:%S')}] {mix} {server.name} x{clients} …", flush=True)
    result = run_loop(server.base, sequences, seconds, args.max_requests)
    return {"server": server.name, "mix": mix, **result}


def run_lookups(servers: list[Server], pools: dict[str, Any], clients: list[int], args: Any) -> list[dict[str, Any]]:
    """Point lookups (SELECT ?p ?o WHERE { <paper> ?p ?o }) by wrk: many papers in turn (varied) or one."""
    papers = pools[LOOKUP.pool]
    runs = []
    for varied in (True, False):
        for count in clients:
            for server in servers:
                chosen = papers[3:] if varied else papers[:1]
                paths = [request_for(LOOKUP, p, server.query_path).path for p in chosen]
                print(f"[{time.strftime('%H:%M:%S')}] lookups {server.name} x{count} …", flush=True)
                pid = server.process.pid if server.process else None
                before = cpu_seconds(pid)
                result = run_wrk(server.base, paths, SELECT_JSON, count, args.lookup_seconds)
                after = cpu_seconds(pid)
                if before is not None and after is not None and result.get("requests"):
                    result["server_cpu_ms_per_request"] = round((after - before) * 1000 / result["requests"], 3)
                runs.append({"server": server.name, "mix": "varied" if varied else "repeated", **result})
    return runs
