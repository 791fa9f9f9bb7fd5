"""How the anonymous memory (RssAnon) of a process writing to an on-disk store grows with the quads it writes,
through kg's two write paths: transactional (`EmbeddedStore.replace_graphs`, a native `Store.extend` for new
graphs) or the bulk loader (`EmbeddedStore.bulk_add_graphs`, what `kg ingest --bulk` uses).

`python -m bench.store_memory extend|bulk [--profiles 50] [--rounds 10]`: the same prepared documents are written
`rounds` times under new graph names into a fresh store; prints RssAnon after each round, after flush and close.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import sys
import tempfile
from pathlib import Path

from bench.generate import Options, ensure_generated
from bench.ingest_bench import WORK
from kg.config import Settings
from kg.ingest import Pipeline
from kg.store import EmbeddedStore


def rss_anon_mib() -> int:
    """This process's anonymous resident memory (Linux), in MiB."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) // 1024
    return -1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store_memory")
    parser.add_argument("mode", choices=("extend", "bulk"))
    parser.add_argument("--profiles", type=int, default=50, help="documents written per round")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    data = ensure_generated(WORK / "p100-s1", Options(100, 1))
    pipeline = Pipeline(Settings())
    prepared = [pipeline.prepare(p.read_bytes(), str(p)) for p in sorted(data.glob("*.txt"))[: args.profiles]]
    graphs = [g for document in prepared for g in document.graphs]
    del prepared
    folder = tempfile.mkdtemp(prefix="kg-store-memory-")
    rows: list[dict[str, int | str]] = [{"after": "start", "rss_anon_mib": rss_anon_mib(), "quads": 0}]
    try:
        store = EmbeddedStore(Path(folder))
        for round_ in range(args.rounds):
            renamed = [(f"{iri}/r{round_}", blob) for iri, blob in graphs]
            if args.mode == "bulk":
                store.bulk_add_graphs(renamed)
            else:
                store.replace_graphs([], renamed)
            rows.append({"after": f"round {round_ + 1}", "rss_anon_mib": rss_anon_mib(),
                         "quads": store.quad_count()})
        store.flush()
        rows.append({"after": "flush", "rss_anon_mib": rss_anon_mib(), "quads": store.quad_count()})
        store.close()
        del store
        gc.collect()
        rows.append({"after": "close", "rss_anon_mib": rss_anon_mib(), "quads": 0})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({"mode": args.mode, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
