"""`python -m bench profile --triples 100k --workload lookups|mix`: py-spy samples `kg serve` while the HTTP
benchmark's load runs against it; prints where the server's time goes (inclusive and self, by function).

Writes the collapsed stacks to bench/results/profile-<size>-<workload>.txt and a summary JSON beside them.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from bench.loadgen import run_loop, run_wrk
from bench.machine import ROOT, command_line, machine_info
from bench.procs import BIN
from bench.queries import LOOKUP, SELECT_JSON, SPARQL_KINDS, draw_pools, request_for, sequence
from bench.servedata import dataset_dir, ensure_dataset, kg_server

RESULTS = ROOT / "bench" / "results"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("profile", help="py-spy profile of kg serve under the HTTP benchmark's load")
    parser.add_argument("--triples", choices=("100k", "1m"), default="100k")
    parser.add_argument("--workload", choices=("lookups", "mix"), default="mix")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--kg-env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--results", type=Path, default=RESULTS)


def run(args: Any) -> int:
    ensure_dataset(args.triples)
    data = dataset_dir(args.triples)
    pools = draw_pools(data / "oxigraph")
    env = dict(item.split("=", 1) for item in args.kg_env)
    server = kg_server(data / "store", data / "logs" / "profile.log", env)
    server.start()
    name = f"profile-{args.triples}-{args.workload}" + ("-" + "-".join(args.kg_env) if args.kg_env else "")
    raw = args.results / f"{name}.txt"
    args.results.mkdir(parents=True, exist_ok=True)
    try:
        server.wait_ready(1800.0)
        assert server.process is not None
        spy = subprocess.Popen([str(BIN / "py-spy"), "record", "--pid", str(server.process.pid), "--format", "raw",
                                "--rate", "250", "--duration", f"{args.seconds:.0f}", "--output", str(raw),
                                "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        load = threading.Thread(target=_load, args=(server.base, pools, args), daemon=True)
        load.start()
        spy.wait(timeout=args.seconds + 120)
        load.join(timeout=args.seconds + 120)
    finally:
        server.stop()
    report = {"command": command_line(), "machine": machine_info(), **summarise(raw)}
    (args.results / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(report))
    return 0


def _load(base: str, pools: dict[str, Any], args: Any) -> None:
    if args.workload == "lookups":
        paths = [request_for(LOOKUP, p, "/sparql").path for p in pools[LOOKUP.pool][3:]]
        run_wrk(base, paths, SELECT_JSON, args.clients, args.seconds)
        return
    sequences = [sequence(SPARQL_KINDS, pools, thread=t, start=200, varied=True, query_path="/sparql",
                          length=20_000) for t in range(args.clients)]
    run_loop(base, sequences, args.seconds, 1_000_000)


def summarise(raw: Path, top: int = 30) -> dict[str, Any]:
    """Inclusive and self sample shares by function ("name (file)") over the collapsed stacks py-spy wrote."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_function(f) for f in stack.split(";")]
        total += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
        own[frames[-1]] += int(count)
    share = {"inclusive": inclusive, "self": own}
    return {"samples": total, **{kind: [[f, round(100 * n / total, 1)] for f, n in counter.most_common(top)]
                                 for kind, counter in share.items()}}


def _function(frame: str) -> str:
    """'name (path/to/file.py:123)' -> 'name (file.py)': lines of one function are counted together."""
    name, _, where = frame.partition(" (")
    path = where.split(":")[0]
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if parts else path
    return f"{name} ({short})"


def table(report: dict[str, Any]) -> str:
    lines = [f"{report['samples']} samples", "| function | inclusive % |", "|---|---:|"]
    lines += [f"| `{f}` | {p} |" for f, p in report["inclusive"]]
    lines += ["", "| function (self) | self % |", "|---|---:|"]
    lines += [f"| `{f}` | {p} |" for f, p in report["self"][:15]]
    return "\n".join(lines)
