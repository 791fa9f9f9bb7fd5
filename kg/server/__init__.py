"""The HTTP server: the SPARQL 1.1 endpoint, Graph Store, descriptions, downloads and operations routes.

The only package that imports FastAPI and uvicorn; `create_app` builds the application, `run_server` serves it.
"""

from __future__ import annotations

from kg.server.app import create_app
from kg.server.run import run_server

__all__ = ["create_app", "run_server"]
