"""`python -m bench <command> …`: one sub-command per benchmark module (each gives `add_parser` and `run`)."""

from __future__ import annotations

import argparse
import importlib
import sys

# sub-command -> module under bench/ exposing add_parser(subparsers) and run(args) -> int
COMMANDS = {
    "generate": "bench.generate",
    "ingest": "bench.ingest_bench",
    "fastpaths": "bench.fastpaths_bench",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Scholar KG benchmarks")
    subparsers = parser.add_subparsers(dest="command", required=True)
    modules = {name: importlib.import_module(path) for name, path in COMMANDS.items()}
    for module in modules.values():
        module.add_parser(subparsers)
    args = parser.parse_args(argv)
    return int(modules[args.command].run(args))


if __name__ == "__main__":
    sys.exit(main())
