"""Ratios, the issue's targets and Markdown tables from one HTTP benchmark report (bench/results/http-*.json)."""

from __future__ import annotations

from typing import Any


def _find(runs: list[dict[str, Any]], server: str, mix: str, clients: int) -> dict[str, Any] | None:
    return next((r for r in runs if r["server"] == server and r["mix"] == mix and r["clients"] == clients), None)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _median(run: dict[str, Any] | None, part: str = "sparql") -> float | None:
    return run[part].get("median_ms") if run else None


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """Per (mix, clients): medians and ratios; then each target of issue 6 with the measured value."""
    runs, lookups = report.get("mix", []), report.get("lookups", [])
    clients = sorted({r["clients"] for r in runs})
    rows = []
    for mix in ("varied", "repeated"):
        for count in clients:
            kg, ox, rd = (_find(runs, s, mix, count) for s in ("kg", "oxigraph", "rdflib"))
            rows.append({"mix": mix, "clients": count, "kg_ms": _median(kg), "oxigraph_ms": _median(ox),
                         "rdflib_ms": _median(rd), "kg_over_oxigraph": _ratio(_median(kg), _median(ox)),
                         "rdflib_over_kg": _ratio(_median(rd), _median(kg)),
                         "kg_rps": kg["sparql"]["rps"] if kg else None,
                         "oxigraph_rps": ox["sparql"]["rps"] if ox else None,
                         "rdflib_rps": rd["sparql"]["rps"] if rd else None,
                         "kg_cache_hits": kg["sparql"].get("cache_hits") if kg else None,
                         "kg_requests": kg["sparql"]["requests"] if kg else None})
    return {"mix": rows, "targets": _targets(rows, runs, lookups, clients)}


def _targets(rows: list[dict[str, Any]], runs: list[dict[str, Any]], lookups: list[dict[str, Any]],
             clients: list[int]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        if row["mix"] == "varied":
            out.append(_target(f"query mix median ≤ 1.25× Oxigraph ({row['clients']} clients)",
                               row["kg_over_oxigraph"], lambda v: v <= 1.25))
            out.append(_target(f"query mix median ≥ 20× lower than rdflib-endpoint ({row['clients']} clients)",
                               row["rdflib_over_kg"], lambda v: v >= 20))
        else:
            out.append(_target(f"repeated queries faster than Oxigraph: kg/Oxigraph median ({row['clients']} clients)",
                               row["kg_over_oxigraph"], lambda v: v < 1))
    for count in clients:
        for mix in ("varied", "repeated"):
            kg, ox = _find(lookups, "kg", mix, count), _find(lookups, "oxigraph", mix, count)
            if kg and ox and "p50_ms" in kg and "p50_ms" in ox:
                gap = round(kg["p50_ms"] - ox["p50_ms"], 3)
                out.append(_target(f"point lookups ({mix}, {count} clients): p50 within 2 ms of Oxigraph (ms over)",
                                   gap, lambda v: v <= 2))
                out.append(_target(f"point lookups ({mix}, {count} clients): ≥ 1,500 req/s", kg["rps"],
                                   lambda v: v >= 1500))
                if mix == "repeated":
                    out.append(_target(f"repeated point lookups faster than Oxigraph ({count} clients): "
                                       "kg/Oxigraph p50",
                                       _ratio(kg["p50_ms"], ox["p50_ms"]), lambda v: v < 1))
        page = _find(runs, "kg", "varied-pages", count)
        if page:
            out.append(_target(f"author page p95 ≤ 100 ms ({count} clients)", page["overall"].get("p95_ms"),
                               lambda v: v <= 100))
        repeated_page = _find(runs, "kg", "repeated-pages", count)
        if repeated_page:
            out.append({"target": f"repeated author page median ({count} clients), ms",
                        "value": repeated_page["overall"].get("median_ms"), "met": None})
    return out


def _target(name: str, value: float | None, test: Any) -> dict[str, Any]:
    return {"target": name, "value": value, "met": None if value is None else bool(test(value))}


def tables(report: dict[str, Any]) -> str:
    """The report as Markdown: mix summary, per-query medians, lookups, targets."""
    parts = [_mix_table(report), _kind_table(report), _lookup_table(report), _target_table(report)]
    return "\n\n".join(parts)


def _mix_table(report: dict[str, Any]) -> str:
    lines = ["| mix | clients | kg median ms | Oxigraph median ms | rdflib median ms | kg/Oxigraph | rdflib/kg | "
             "kg req/s | Oxigraph req/s | rdflib req/s | kg cache hits |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report["summary"]["mix"]:
        lines.append(f"| {r['mix']} | {r['clients']} | {_f(r['kg_ms'])} | {_f(r['oxigraph_ms'])} | "
                     f"{_f(r['rdflib_ms'])} | {_f(r['kg_over_oxigraph'])} | {_f(r['rdflib_over_kg'])} | "
                     f"{_f(r['kg_rps'])} | {_f(r['oxigraph_rps'])} | {_f(r['rdflib_rps'])} | "
                     f"{r['kg_cache_hits']}/{r['kg_requests']} |")
    return "\n".join(lines)


def _kind_table(report: dict[str, Any]) -> str:
    lines = ["| mix | clients | query | kg median / p95 ms | Oxigraph median / p95 ms | rdflib median / p95 ms | "
             "kg/Oxigraph | rdflib/kg |", "|---|---:|---|---:|---:|---:|---:|---:|"]
    runs = report.get("mix", [])
    for run in runs:
        if run["server"] != "kg":
            continue
        ox = _find(runs, "oxigraph", run["mix"], run["clients"])
        rd = _find(runs, "rdflib", run["mix"], run["clients"])
        for kind, figures in run["per_kind"].items():
            o = (ox or {}).get("per_kind", {}).get(kind, {})
            d = (rd or {}).get("per_kind", {}).get(kind, {})
            lines.append(f"| {run['mix']} | {run['clients']} | {kind} | {_mp(figures)} | {_mp(o)} | {_mp(d)} | "
                         f"{_f(_ratio(figures.get('median_ms'), o.get('median_ms')))} | "
                         f"{_f(_ratio(d.get('median_ms'), figures.get('median_ms')))} |")
    return "\n".join(lines)


def _lookup_table(report: dict[str, Any]) -> str:
    lines = ["| lookups | clients | server | p50 ms | p95 ms | p99 ms | req/s | server CPU ms / request | errors |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in report.get("lookups", []):
        lines.append(f"| {r['mix']} | {r['clients']} | {r['server']} | {_f(r.get('p50_ms'))} | {_f(r.get('p95_ms'))} | "
                     f"{_f(r.get('p99_ms'))} | {_f(r.get('rps'))} | {_f(r.get('server_cpu_ms_per_request'))} | "
                     f"{r.get('errors', r.get('error'))} |")
    return "\n".join(lines)


def _target_table(report: dict[str, Any]) -> str:
    lines = ["| target | measured | met |", "|---|---:|---|"]
    for t in report["summary"]["targets"]:
        met = "—" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['target']} | {_f(t['value'])} | {met} |")
    return "\n".join(lines)


def _mp(figures: dict[str, Any]) -> str:
    if not figures or "median_ms" not in figures:
        return "—" if not figures else f"errors {figures.get('errors')}"
    errors = f" ({figures['errors']} err)" if figures.get("errors") else ""
    return f"{_f(figures['median_ms'])} / {_f(figures['p95_ms'])}{errors}"


def _f(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)
