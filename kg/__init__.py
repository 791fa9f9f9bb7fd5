"""Scholar KG: scholarly author profiles to a validated, provenance-tracked, queryable knowledge graph."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from kg.config import Settings
from kg.errors import KGError

try:
    __version__ = version("scholar-kg")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0"

__all__ = ["KGError", "Settings", "__version__"]
