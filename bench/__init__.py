"""Benchmarks of Scholar KG: `python -m bench <command>` (see docs/benchmarks.md); not part of the kg package."""
