"""Pins the data flow: which module may import which engine, and that parsing knows nothing of RDF."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

KG = Path(__file__).resolve().parent.parent / "kg"

# engine -> the only places (module files or package folders, relative to kg/) allowed to import it
ENGINE_OWNERS = {
    "pyshacl": {"validate.py"},
    "owlrl": {"reason.py"},
    "pyoxigraph": {"store/"},
    "pyld": {"jsonld.py"},
    "jinja2": {"web/render.py"},
    "fastapi": {"server/"},
    "uvicorn": {"server/"},
}
RDF_FREE = {"model.py", "parse.py", "errors.py", "config.py"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules() -> list[Path]:
    return sorted(KG.rglob("*.py"))


def _owned_by(relative: str, owners: set[str]) -> bool:
    return any(relative == owner or (owner.endswith("/") and relative.startswith(owner)) for owner in owners)


@pytest.mark.parametrize("engine", sorted(ENGINE_OWNERS))
def test_each_engine_is_imported_by_its_one_owner(engine: str) -> None:
    importers = {str(p.relative_to(KG)) for p in _modules() if engine in _imports(p)}
    strays = {m for m in importers if not _owned_by(m, ENGINE_OWNERS[engine])}
    assert not strays, f"{engine} imported outside its owner: {sorted(strays)}"


def test_parsing_and_records_know_nothing_of_rdf() -> None:
    for name in RDF_FREE:
        imported = _imports(KG / name)
        assert not imported & {"rdflib", "pyoxigraph", "pyshacl", "owlrl"}, name


def test_no_utils_module() -> None:
    assert not [p for p in _modules() if p.stem in {"utils", "util", "helpers", "misc"}]


def test_every_module_imports_on_its_own() -> None:
    """No import cycle that only works when another module happens to be loaded first (as `kg link` found)."""
    names = [".".join(("kg", *p.relative_to(KG).with_suffix("").parts)).removesuffix(".__init__") for p in _modules()]
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'kg' or m.startswith('kg.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as error:\n"
        "        print(f'{name}: {error}')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr
