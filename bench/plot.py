"""`python -m bench plot`: the HTTP benchmark as a PNG (matplotlib): median latency per query and server, for the
varied and the repeated mix at each client count, log scale; point lookups in the last column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.machine import ROOT

COLOURS = {"kg": "#1f77b4", "kg-whatif": "#9ecae1", "oxigraph": "#ff7f0e", "rdflib": "#2ca02c"}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("plot", help="plot an HTTP benchmark report as a PNG")
    parser.add_argument("--report", type=Path, default=ROOT / "bench" / "results" / "http-1m.json")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks-http.png")


def run(args: Any) -> int:
    import matplotlib

    matplotlib.use("Agg")
    report = json.loads(args.report.read_text(encoding="utf-8"))
    figure = draw(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=110, bbox_inches="tight")
    print(f"plot: {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


def draw(report: dict[str, Any]) -> Any:
    import matplotlib.pyplot as plt

    runs = report["mix"]
    clients = sorted({r["clients"] for r in runs})
    servers = [s for s in COLOURS if any(r["server"] == s for r in runs)]
    figure, axes = plt.subplots(len(clients), 3, figsize=(17, 4.6 * len(clients)), squeeze=False,
                                gridspec_kw={"width_ratios": [5, 5, 1.6]})
    for row, count in enumerate(clients):
        for col, mix in enumerate(("varied", "repeated")):
            _bars(axes[row][col], runs, servers, mix, count)
        _lookups(axes[row][2], report.get("lookups", []), servers, count)
    dataset = report["dataset"]
    figure.suptitle(f"Median latency per request, {dataset['triples']:,} triples ({dataset['quads']:,} quads); "
                    "log scale, lower is better; whiskers: p95", fontsize=12)
    figure.tight_layout()
    return figure


def _bars(ax: Any, runs: list[dict[str, Any]], servers: list[str], mix: str, clients: int) -> None:
    by_server = {r["server"]: r for r in runs if r["mix"] == mix and r["clients"] == clients}
    pages = {r["server"]: r for r in runs if r["mix"] == f"{mix}-pages" and r["clients"] == clients}
    kinds = [*sorted({k for r in by_server.values() for k in r["per_kind"]}), "author_page"]
    width = 0.8 / len(servers)
    for i, server in enumerate(servers):
        source = [pages.get(server, {}) if k == "author_page" else by_server.get(server, {}) for k in kinds]
        figures = [s.get("per_kind", {}).get(k, {}) for s, k in zip(source, kinds, strict=True)]
        medians = [f.get("median_ms", 0) for f in figures]
        errors = [[0] * len(kinds), [max(0, f.get("p95_ms", 0) - f.get("median_ms", 0)) for f in figures]]
        xs = [x + i * width for x in range(len(kinds))]
        ax.bar(xs, medians, width, yerr=errors, label=server, color=COLOURS[server], capsize=2)
    ax.set_yscale("log")
    ax.set_xticks([x + width * (len(servers) - 1) / 2 for x in range(len(kinds))])
    ax.set_xticklabels(kinds, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("ms")
    ax.set_title(f"{mix} mix, {clients} client{'s' if clients > 1 else ''}")
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8)


def _lookups(ax: Any, lookups: list[dict[str, Any]], servers: list[str], clients: int) -> None:
    for col, mix in enumerate(("varied", "repeated")):
        for i, server in enumerate(servers):
            run = next((r for r in lookups if r["server"] == server and r["mix"] == mix and r["clients"] == clients),
                       None)
            if run and "p50_ms" in run:
                ax.bar(col + i * 0.2, run["p50_ms"], 0.2, color=COLOURS[server],
                       yerr=[[0], [max(0, run["p95_ms"] - run["p50_ms"])]], capsize=2)
    ax.set_yscale("log")
    ax.set_xticks([0.3, 1.3])
    ax.set_xticklabels(["varied", "repeated"], fontsize=8)
    ax.set_title(f"point lookups (wrk), {clients} cl.")
    ax.grid(axis="y", which="both", alpha=0.3)
