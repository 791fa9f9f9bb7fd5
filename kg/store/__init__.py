"""The RDF store behind one small interface: an embedded pyoxigraph store or a remote SPARQL 1.1 endpoint.

The `kg.store` package is the only code that imports pyoxigraph; other modules use the names re-exported here.
It knows nothing of profiles, of HTTP requests made to us, or of result media types.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, Self
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
from pyoxigraph import (
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    RdfFormat,
    Triple,
    parse_query_results,
    serialize,
)

from kg.errors import UsageError
from kg.store.embedded import EmbeddedStore, restore
from kg.store.rdf import DUMP_FORMATS, RDF_FORMATS, QueryResult, replace_update
from kg.store.remote import DIALECTS, RemoteStore

__all__ = [
    "DUMP_FORMATS",
    "RDF_FORMATS",
    "EmbeddedStore",
    "QueryBoolean",
    "QueryResult",
    "QueryResultsFormat",
    "QuerySolutions",
    "RdfFormat",
    "RemoteStore",
    "Store",
    "Triple",
    "open_store",
    "parse_query_results",
    "replace_update",
    "restore_store",
    "serialize",
]


class Store(Protocol):
    """What ingest, query, the server and the CLI need from a store; every write is one transaction.

    Query dataset: `default_graph_uris`/`named_graph_uris`, when either is given (even empty), define it exactly,
    as the SPARQL Protocol's parameters do. Both None: the default graph is the union of all graphs and every
    named graph is visible; the embedded store then ignores the query's own FROM / FROM NAMED, so
    `kg.query.run_query` passes them here explicitly. Graph names are absolute IRIs; bad ones raise InputError.
    """

    @property
    def read_only(self) -> bool: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def query(self, sparql: str, *, default_graph_uris: Sequence[str] | None = None,
              named_graph_uris: Sequence[str] | None = None) -> QueryResult:
        """A QuerySolutions, QueryBoolean, or iterable of Triple; QuerySyntaxError, StoreError."""
        ...

    def update(self, sparql_update: str) -> None:
        """One SPARQL Update request, applied atomically."""
        ...

    def replace_graphs(self, drop: Iterable[str], add: Iterable[tuple[str, bytes]]) -> None:
        """Drop graphs and insert N-Triples blobs (graph IRI, bytes) in one transaction; nothing changes on error."""
        ...

    def bulk_add_graphs(self, add: Iterable[tuple[str, bytes]]) -> None:
        """Insert N-Triples blobs of graphs new to the store as fast as it can; NOT atomic: a crash may leave part
        of them written (kg.ingest lists such documents as pending first). Bad N-Triples: InputError, nothing
        written."""
        ...

    def named_graphs(self) -> list[str]: ...

    def quad_count(self) -> int: ...

    def graph_ntriples(self, graph_iri: str) -> bytes:
        """One named graph as N-Triples; NotFound when it does not exist."""
        ...

    def dump(self, format: str = "nquads", graph: str | None = None) -> Iterator[bytes]:
        """Everything (nquads, trig) or one graph (also turtle, ntriples), streamed in chunks."""
        ...

    def load(self, data: bytes | Path, format: str, graph: str | None = None) -> None:
        """Add a document in one transaction; triples go to `graph` (None: the default graph)."""
        ...

    def backup(self, target_dir: Path) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


_SPEC_KEYS = ("query", "update", "gsp", "user", "password", "auth", "timeout", "dialect")
_KEY_VALUE = re.compile(r"^(?:{})=".format("|".join(_SPEC_KEYS)))


def open_store(spec: str, *, read_only: bool = False) -> Store:
    """The store a spec names (setting `store`, env KG_STORE); docs/scaling.md has examples per server:

    - `memory:` — an embedded store in memory;
    - `sparql+http://…` or `sparql+https://…` — a remote endpoint taking queries and updates at that URL (the
      URL minus `sparql+`); `user:password@` in it gives HTTP basic auth;
    - a JSON object, or `key=value` words separated by spaces, with the keys `query` (required), `update`
      (default: the query URL), `gsp` (Graph Store endpoint), `user`, `password`, `auth` (`basic`, the
      default, or `digest`, as Virtuoso wants), `timeout` (seconds, default 30) and `dialect` (`auto`, the
      default: decided from the server's answer, `virtuoso` or `standard`), e.g.
      `query=http://h:8890/sparql update=http://h:8890/sparql-auth user=dba password=dba auth=digest`;
    - anything else — the directory of an embedded on-disk store (created when missing, unless read-only).
    """
    text = spec.strip()
    if not text:
        raise UsageError("KG_STORE: expected a directory, 'memory:' or a SPARQL endpoint spec, got ''")
    if text == "memory:":
        return EmbeddedStore(None, read_only)
    if text.startswith("{"):
        return _remote(_json_spec(text), read_only)
    if text.startswith(("sparql+http://", "sparql+https://")):
        return _remote(_url_spec(text), read_only)
    if _KEY_VALUE.match(text):
        return _remote(dict(_word_spec(word) for word in text.split()), read_only)
    return EmbeddedStore(Path(text).expanduser(), read_only)


def restore_store(source: Path, spec: str) -> None:
    """Replace the embedded on-disk store that `spec` names with a copy of the backup directory `source`."""
    text = spec.strip()
    if not text or text == "memory:" or _remote_spec(text):
        raise UsageError(f"KG_STORE: restore works on an on-disk store directory, got {spec!r}")
    restore(source, Path(text).expanduser())


def _remote_spec(text: str) -> bool:
    return text.startswith(("{", "sparql+http://", "sparql+https://")) or bool(_KEY_VALUE.match(text))


def _json_spec(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"KG_STORE: expected a JSON object, got invalid JSON ({error})") from None
    if not isinstance(value, dict):
        raise UsageError("KG_STORE: expected a JSON object with a 'query' URL")
    return value


def _url_spec(text: str) -> dict[str, Any]:
    parts = urlsplit(text.removeprefix("sparql+"))
    spec: dict[str, Any] = {"query": urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))}
    if parts.username is not None:
        spec["user"] = unquote(parts.username)
        spec["password"] = unquote(parts.password or "")
    return spec


def _word_spec(word: str) -> tuple[str, str]:
    key, sep, value = word.partition("=")
    if not sep:
        raise UsageError(f"KG_STORE: expected key=value words, got {word!r}")
    return key, value


def _remote(spec: dict[str, Any], read_only: bool) -> RemoteStore:
    unknown = sorted(set(spec) - set(_SPEC_KEYS))
    if unknown:
        raise UsageError(f"KG_STORE: unknown key {unknown[0]!r}; expected some of {', '.join(_SPEC_KEYS)}")
    urls = {key: spec.get(key) for key in ("query", "update", "gsp")}
    if not urls["query"]:
        raise UsageError("KG_STORE: a remote store needs a 'query' URL")
    for key, url in urls.items():
        if url is not None and not str(url).startswith(("http://", "https://")):
            raise UsageError(f"KG_STORE: {key}: expected an http(s) URL, got {url!r}")
    try:
        timeout = float(spec.get("timeout", 30.0))
    except ValueError:
        raise UsageError(f"KG_STORE: timeout: expected seconds, got {spec['timeout']!r}") from None
    dialect = str(spec.get("dialect", "auto"))
    if dialect not in DIALECTS:
        raise UsageError(f"KG_STORE: dialect: expected one of {', '.join(DIALECTS)}, got {dialect!r}")
    return RemoteStore(str(urls["query"]), urls["update"], urls["gsp"], _auth(spec), timeout=timeout,
                       read_only=read_only, dialect=dialect)


def _auth(spec: dict[str, Any]) -> httpx.Auth | None:
    user, password, kind = spec.get("user"), str(spec.get("password", "")), spec.get("auth", "basic")
    if kind not in ("basic", "digest"):
        raise UsageError(f"KG_STORE: auth: expected 'basic' or 'digest', got {kind!r}")
    if user is None:
        return None
    return httpx.DigestAuth(str(user), password) if kind == "digest" else httpx.BasicAuth(str(user), password)
