"""Writes through the server (SPARQL Update, Graph Store): bearer token, SHACL check, one commit, the generation.

A write is tried on an in-memory copy of the graphs it can touch; the store sees it only as one replace_graphs
transaction, and only when the changed graphs show no SHACL violation they did not show before.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from rdflib import Graph
from rdflib.plugins.sparql.algebra import translateUpdate
from rdflib.plugins.sparql.parser import parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import URIRef, Variable

from kg.config import Settings
from kg.errors import (
    InputError,
    NonConformingData,
    QueryError,
    QueryRefused,
    QuerySyntaxError,
    StoreError,
    Unauthorized,
    WritesDisabled,
)
from kg.ingest import Pipeline
from kg.query import check_query_allowed, inspect_query
from kg.store import EmbeddedStore, Store
from kg.validate import Finding

T = TypeVar("T")
Change = tuple[bytes, Graph | None]  # (N-Triples before, the graph after or None when dropped)
_DEFAULT_PROBE = "urn:x-scholarkg:default-graph-probe"


class Writer:
    """Serialises writes, checks them, commits them, and counts them: `generation` grows with every commit.

    Caches of anything computed from the store (VoID, counts) go through `cached`, keyed on the generation,
    so the first read after a write recomputes them.
    """

    def __init__(self, store: Store, settings: Settings, pipeline: Pipeline | None = None) -> None:
        self.store = store
        self.settings = settings
        self._pipeline = pipeline
        self._write_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._cache: dict[str, tuple[int, Any]] = {}
        self._computing: dict[str, threading.Lock] = {}  # one per key: its first computation runs once
        self.generation = 0

    @property
    def enabled(self) -> bool:
        return bool(self.settings.update_token)

    def authorize(self, authorization: str | None) -> None:
        """WritesDisabled without a configured token; Unauthorized unless the header is `Bearer <token>`."""
        if not self.enabled:
            raise WritesDisabled("writes are disabled on this server; expected KG_UPDATE_TOKEN to be set to allow "
                                 "SPARQL Update and Graph Store writes")
        scheme, _, given = (authorization or "").strip().partition(" ")
        token = self.settings.update_token.encode("utf-8")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode("utf-8"), token):
            raise Unauthorized("write refused: expected the header 'Authorization: Bearer <KG_UPDATE_TOKEN>'")

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """The value of `compute()` for the current generation, computed at most once per generation: callers
        arriving while it is computed wait for it (readiness probes must not pile up store scans)."""
        generation = self.generation
        with self._cache_lock:
            hit = self._cache.get(key)
            computing = self._computing.setdefault(key, threading.Lock())
        if hit is not None and hit[0] == generation:
            return hit[1]  # type: ignore[no-any-return]
        with computing:
            with self._cache_lock:
                hit = self._cache.get(key)
            if hit is not None and hit[0] == generation:
                return hit[1]  # type: ignore[no-any-return]  # computed while this caller waited
            value = compute()
            with self._cache_lock:
                if self.generation == generation:
                    self._cache[key] = (generation, value)
        return value

    @property
    def pipeline(self) -> Pipeline:
        """The validator and reasoner of ingest, built on the first write (start-up stays fast)."""
        if self._pipeline is None:
            self._pipeline = Pipeline(self.settings)
        return self._pipeline

    # ------------------------------------------------------------------------------------------ writes

    def replace(self, graphs: Mapping[str, Graph | None], *, merge: bool = False) -> list[str]:
        """Set each named graph to the graph given (None drops it), or with `merge` add the graph's triples to
        what it holds; returns the graphs that did not exist before."""
        with self._write_lock:
            existing = set(self.store.named_graphs())
            changes: dict[str, Change] = {}
            for iri, given in graphs.items():
                before = self.store.graph_ntriples(iri) if iri in existing else b""
                after = _graph(before) + given if merge and given is not None and before else given
                changes[iri] = (before, after)
            self._commit(changes)
            return [iri for iri in graphs if iri not in existing]

    def update(self, text: str) -> list[str]:
        """Apply a SPARQL Update; returns the graphs it changed. It runs first on an in-memory copy of every
        graph it names (all graphs when it names one by a variable, or says ALL / NAMED)."""
        info = inspect_query(text)
        if not info.is_update:
            raise QueryError(f"expected a SPARQL Update, got a {info.form} query; send queries as query=")
        check_query_allowed(info, self.settings.service_allow, allow_dataset_clauses=True)
        names, every = graphs_named(info.text)
        with self._write_lock:
            existing = self.store.named_graphs()
            copied = existing if every else [iri for iri in existing if iri in names]
            before = {iri: self.store.graph_ntriples(iri) for iri in copied}
            after = _run_on_copy(before, info.text)
            changes = {iri: (before.get(iri, b""), None if iri not in after else _graph(after[iri]))
                       for iri in set(before) | set(after) if _lines(before.get(iri)) != _lines(after.get(iri))}
            if changes:
                self._commit(changes)
            return sorted(changes)

    def _commit(self, changes: Mapping[str, Change]) -> None:
        self._refuse_derived(changes)
        self._check_shapes(changes)
        drop: dict[str, None] = {}
        add: list[tuple[str, bytes]] = []
        for iri, (_, after) in changes.items():
            if self.derived_from(iri) in changes:
                continue  # recomputed below from its asserted graph
            drop[iri] = None
            if after is not None and len(after):
                add.append((iri, _ntriples(after)))
            inferred = self.inferred_graph(iri)
            if inferred is not None:
                drop[inferred] = None
                if after is not None:
                    add.append((inferred, _ntriples(self.pipeline.reasoner.infer(after))))
        self.store.replace_graphs(list(drop), add)
        self.generation += 1

    def _refuse_derived(self, changes: Mapping[str, Change]) -> None:
        for iri in changes:
            asserted = self.derived_from(iri)
            if asserted is not None and asserted not in changes:
                raise QueryRefused(f"graph <{iri}>: it is inferred from <{asserted}> by the reasoner; "
                                   "expected a write to the asserted graph, which recomputes it")

    def _check_shapes(self, changes: Mapping[str, Change]) -> None:
        """NonConformingData when a changed graph would show a SHACL violation it did not show before."""
        validator = self.pipeline.validator
        new: list[tuple[str, Finding]] = []
        for iri, (before, after) in changes.items():
            if after is None or self.derived_from(iri) is not None:
                continue
            report = validator.validate(after)
            if report.conforms:
                continue
            old = set(validator.validate(_graph(before)).violations) if before else set()
            new.extend((iri, finding) for finding in report.violations if finding not in old)
        if new:
            text = "\n".join(f"<{iri}> {finding.to_text()}" for iri, finding in new)
            graphs = ", ".join(dict.fromkeys(f"<{iri}>" for iri, _ in new))
            raise NonConformingData(f"write refused by the shapes ({len(new)} new violations in {graphs}); "
                                    "nothing was written", text)

    # ------------------------------------------------------------------------------------------ graph names

    def inferred_graph(self, iri: str) -> str | None:
        """The alignment-view graph of a document's asserted graph `{base}graph/{doc}`; None for other graphs."""
        prefix = self.settings.base_iri + "graph/"
        rest = iri[len(prefix):] if iri.startswith(prefix) else ""
        return f"{iri}/inferred" if rest and "/" not in rest and rest != "links" else None

    def derived_from(self, iri: str) -> str | None:
        """The asserted graph an inferred graph is computed from; None when `iri` is not an inferred graph."""
        asserted = iri.removesuffix("/inferred")
        return asserted if asserted != iri and self.inferred_graph(asserted) == iri else None


def graphs_named(update: str) -> tuple[set[str], bool]:
    """The IRIs an update names (prefixes and BASE resolved) and whether it can reach every named graph."""
    try:
        algebra = translateUpdate(parseUpdate(update)).algebra
    except Exception as error:  # rdflib's parser reports bad input with assorted exception types
        raise QuerySyntaxError(f"SPARQL update: {error}") from None
    names: set[str] = set()
    every = False
    stack: list[Any] = list(algebra)
    while stack:
        item = stack.pop()
        if isinstance(item, URIRef):
            names.add(str(item))
        elif isinstance(item, CompValue):
            every |= _reaches_every_graph(item)
            stack.extend(item.values())
        elif isinstance(item, Mapping):
            every |= any(isinstance(key, Variable) for key in item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, Iterable) and not isinstance(item, str | bytes):
            stack.extend(item)
    return names, every


def _reaches_every_graph(node: CompValue) -> bool:
    if node.name in ("Drop", "Clear") and node.get("graphiri") in ("ALL", "NAMED"):
        return True
    return node.name == "Graph" and isinstance(node.get("term"), Variable)


def _run_on_copy(graphs: Mapping[str, bytes], update: str) -> dict[str, bytes]:
    """Run `update` over an in-memory store holding `graphs`; the named graphs afterwards, as N-Triples."""
    scratch = EmbeddedStore(None, merged_default=False)
    try:
        for iri, data in graphs.items():
            scratch.load(data, "ntriples", graph=iri)
        try:
            scratch.update(update)
        except StoreError as error:  # on a scratch copy, a failure is the request's fault
            raise QueryError(f"SPARQL update failed and changed nothing: {error.message}") from None
        scratch.update(f"INSERT {{ GRAPH <{_DEFAULT_PROBE}> {{ ?s ?p ?o }} }} WHERE {{ ?s ?p ?o }}")
        if _DEFAULT_PROBE in scratch.named_graphs():
            raise QueryRefused("SPARQL update: it writes to the default graph, which is the union of all named "
                               "graphs here; expected GRAPH <iri> { … } or WITH <iri> around what it inserts")
        return {iri: scratch.graph_ntriples(iri) for iri in scratch.named_graphs()}
    finally:
        scratch.close()


def _lines(data: bytes | None) -> frozenset[bytes] | None:
    return None if data is None else frozenset(line for line in data.splitlines() if line.strip())


def _graph(data: bytes) -> Graph:
    graph = Graph()
    try:
        graph.parse(data=data, format="nt")
    except Exception as error:  # rdflib's N-Triples parser raises its own ParseError and plain exceptions
        raise InputError(f"N-Triples: {error}") from None
    return graph


def _ntriples(graph: Graph) -> bytes:
    return graph.serialize(format="nt", encoding="utf-8")

