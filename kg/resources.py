"""Locates the files that ship with Scholar KG: the ontology, the shapes, the seeds and the web assets."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder `name` (ontology, shapes, seeds): beside the package in a checkout, inside it in a wheel."""
    for candidate in (_PACKAGE.parent / name, _PACKAGE / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"Scholar KG is installed without its {name}/ folder")


def ontology_files() -> list[Path]:
    """The Turtle files of the ontology (the core and its alignments), in name order."""
    return sorted(data_dir("ontology").glob("*.ttl"))


def shapes_files() -> list[Path]:
    """The Turtle files of the SHACL shapes."""
    return sorted(data_dir("shapes").glob("*.ttl"))
