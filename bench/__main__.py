"""`python -m bench <command> …`: one sub-command per benchmark module (each gives `add_parser` and `run`)."""

from __future__ import annotations

import argparse
import importlib
import sys

# sub-command -> module under bench/ exposing add_parser(subparsers) and run(args) -> int
COMMANDS = {
    "generate": "bench.generate",
    "ingest": "bench.ingest_bench",
    "bulkwrite": "bench.bulkwrite",
    "http": "bench.http_bench",
    "startup": "bench.startup_bench",
    "export": "bench.export_bench",
    "profile": "bench.profile_serve",
    "plot": "bench.plot",
}


def main(argv: list[str] | None = None) -> int:
    """Only the chosen command's module is imported: one missing or broken benchmark does not stop the others."""
    arguments = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in arguments if not a.startswith("-")), None)
    parser = argparse.ArgumentParser(prog="python -m bench", description="Scholar KG benchmarks")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, path in COMMANDS.items():
        if name == chosen:
            importlib.import_module(path).add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=f"({path}; `python -m bench {name} -h` for its options)")
    args = parser.parse_args(arguments)
    return int(importlib.import_module(COMMANDS[args.command]).run(args))


if __name__ == "__main__":
    sys.exit(main())
