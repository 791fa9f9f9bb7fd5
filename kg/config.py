"""Settings in one place: a frozen dataclass read from `KG_*` environment variables; CLI flags override them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from kg.errors import UsageError

DEFAULT_BASE_IRI = "https://w3id.org/scholarkg/"
DEFAULT_STORE = "kg-store"


@dataclass(frozen=True, slots=True)
class Settings:
    """Every tunable of Scholar KG. Each field `x` is read from the environment variable `KG_X`."""

    base_iri: str = DEFAULT_BASE_IRI
    store: str = DEFAULT_STORE  # a directory (embedded store) or a remote SPARQL endpoint spec
    seeds_dir: str = ""  # documents ingested by `kg serve` when the store is empty; "" = the bundled seeds/
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # the URL clients reach the server at, if it differs from http://host:port/
    update_token: str = ""  # "" disables SPARQL Update and Graph Store writes
    service_allow: tuple[str, ...] = ()  # exact endpoint URLs that SERVICE may call
    service_timeout: float = 10.0  # seconds per remote SERVICE call
    query_timeout: float = 10.0  # seconds; the query is stopped after that
    max_rows: int = 10_000  # result rows returned before truncation
    max_query_length: int = 100_000  # characters of query text
    max_body_bytes: int = 10_000_000  # bytes of an HTTP request body
    max_document_bytes: int = 5_000_000  # bytes of one ingested profile document
    max_concurrent_per_client: int = 4  # concurrent queries per client address
    cors_origins: tuple[str, ...] = ()  # allowed CORS origins; ("*",) allows any, never with credentials
    reasoner: str = "rules"  # "rules" (fast, compiled from owlrl) or "owlrl" (the reference)
    query_workers: int = 2  # worker processes that run public queries (killed on timeout); 0 = in the server
    cache_entries: int = 256  # cached query results; any write clears the cache
    ingest_workers: int = 0  # processes preparing documents in `kg ingest`; 0 = one per CPU for 100+ documents
    ingest_bulk: bool = False  # `kg ingest` writes new documents with the bulk loader (fast, flat memory)
    fast_lane_slots: int = 4  # provably bounded queries run in the server process at once; 0 = all go to workers
    access_log: bool = False  # `kg serve` logs every request (uvicorn's access log; ~0.05 ms each)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from `environ` (default: os.environ), then `overrides` (CLI flags) that are not None."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = env.get("KG_" + field.name.upper())
            if raw is not None and raw != "":
                values[field.name] = _convert(field.name, raw, type(getattr(cls(), field.name)))
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.check()
        return settings

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given non-None values replaced."""
        new = replace(self, **{k: v for k, v in overrides.items() if v is not None})
        new.check()
        return new

    def check(self) -> None:
        """Raise UsageError for a value no component could work with."""
        if not self.base_iri.startswith(("http://", "https://")) or not self.base_iri.endswith(("/", "#")):
            raise UsageError(f"KG_BASE_IRI: expected an http(s) IRI ending in '/' or '#', got {self.base_iri!r}")
        if self.reasoner not in ("rules", "owlrl"):
            raise UsageError(f"KG_REASONER: expected 'rules' or 'owlrl', got {self.reasoner!r}")
        if "*" in self.cors_origins and len(self.cors_origins) > 1:
            raise UsageError("KG_CORS_ORIGINS: expected either '*' alone or a list of origins")
        for name in ("port", "max_rows", "max_query_length", "max_body_bytes", "max_document_bytes",
                     "max_concurrent_per_client"):
            if getattr(self, name) < 1:
                raise UsageError(f"KG_{name.upper()}: expected a positive number, got {getattr(self, name)}")
        if self.query_workers < 0:
            raise UsageError(f"KG_QUERY_WORKERS: expected 0 (queries run in the server process) or more, "
                             f"got {self.query_workers}")
        if self.ingest_workers < 0:
            raise UsageError(f"KG_INGEST_WORKERS: expected 0 (automatic), 1 (no worker processes) or more, "
                             f"got {self.ingest_workers}")
        if self.fast_lane_slots < 0:
            raise UsageError(f"KG_FAST_LANE_SLOTS: expected 0 (every query goes to the workers) or more, "
                             f"got {self.fast_lane_slots}")
        if self.query_timeout <= 0 or self.service_timeout <= 0:
            raise UsageError("KG_QUERY_TIMEOUT and KG_SERVICE_TIMEOUT: expected a positive number of seconds")

    @property
    def seeds_path(self) -> Path:
        """The folder of documents `kg serve` loads into an empty store."""
        if self.seeds_dir:
            return Path(self.seeds_dir)
        from kg.resources import data_dir

        return data_dir("seeds")

    @property
    def server_url(self) -> str:
        """The URL this server is reachable at, ending in '/'."""
        url = self.public_url or f"http://{self.host}:{self.port}/"
        return url if url.endswith("/") else url + "/"


def _convert(name: str, raw: str, kind: type) -> Any:
    try:
        if kind is bool:
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is tuple:
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"KG_{name.upper()}: expected a {kind.__name__}, got {raw!r}") from None
    return raw
