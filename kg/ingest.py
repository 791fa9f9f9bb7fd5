"""Prepared documents -> the store: atomic batches, or the bulk loader for first loads; progress and a summary.

Validation and reasoning run per document before it is committed (kg.prepare), so cost stays linear in the
number of documents and a refused document never touches the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import XSD, Graph, Literal, URIRef

from kg.config import Settings
from kg.errors import exit_code
from kg.prepare import (
    DocumentOutcome,
    PreparedDocument,
    Preparer,
    iter_documents,
    outcome_of,
    prepared_in_order,
)
from kg.reason import AlignmentReasoner
from kg.store import Store
from kg.validate import Validator
from kg.vocab import SKG

ATOMIC_BATCH = 50  # documents per transaction
BULK_BATCH = 100  # documents per bulk write: bigger ones cost less CPU a quad, but the loader needs ~5x their size

FLUSH_EVERY_QUADS = 500_000

__all__ = ["DocumentOutcome", "IngestSummary", "Pipeline", "PreparedDocument", "iter_documents"]


@dataclass(slots=True)
class IngestSummary:
    """Totals over a run; `exit_code` follows the CLI convention (0 ok, 1 refused by shapes, 2 input error)."""

    outcomes: list[DocumentOutcome] = field(default_factory=list)
    interrupted_documents: int = 0  # documents of an interrupted bulk ingest removed before this run

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def papers(self) -> int:
        return sum(o.papers for o in self.outcomes)

    @property
    def people(self) -> int:
        return sum(o.people for o in self.outcomes)

    @property
    def triples(self) -> int:
        return sum(o.triples for o in self.outcomes)

    @property
    def warnings(self) -> int:
        return sum(len(o.report.warnings) for o in self.outcomes if o.report is not None)

    @property
    def exit_code(self) -> int:
        codes = [exit_code(o.error) for o in self.outcomes if o.error is not None]
        return max(codes, default=0)


class Pipeline:
    """Prepares documents (kg.prepare) and commits them to a store in batches.

    A batch is one transaction. With `bulk`, documents new to the store are written with the store's bulk
    loader instead (several times faster, memory flat), which is not atomic: each batch is first listed in the
    pending graph (one transaction), then its asserted and inferred graphs are bulk-written, then its
    provenance graphs are added and the pending list removed (one transaction). A run that dies in between
    leaves its documents listed as pending; the next ingest removes them (`remove_interrupted`) before it starts.
    """

    def __init__(self, settings: Settings, *, reasoner: AlignmentReasoner | None = None,
                 validator: Validator | None = None, now: Callable[[], dt.datetime] | None = None) -> None:
        self.settings = settings
        self.preparer = Preparer(settings, reasoner=reasoner, validator=validator, now=now)
        self.iris = self.preparer.iris
        self.reasoner = self.preparer.reasoner
        self.validator = self.preparer.validator
        self._unflushed = 0  # quads committed since the store was last flushed

    def prepare(self, data: bytes, source: str) -> PreparedDocument:
        """Parse, map, validate and reason one document; raises KGError subclasses (NonConformingData: refused)."""
        return self.preparer.prepare(data, source)

    def validate_paths(self, paths: Sequence[Path], on_progress: Callable[[str], None] | None = None,
                       *, workers: int | None = None) -> IngestSummary:
        """Validate documents without writing anything."""
        summary = IngestSummary()
        for outcome, _ in self._prepared(paths, workers, status="valid", ahead=64):
            summary.outcomes.append(outcome)
            if on_progress:
                on_progress(outcome.source)
        return summary

    def ingest_paths(self, store: Store, paths: Sequence[Path], *, batch_size: int | None = None,
                     on_progress: Callable[[str], None] | None = None, workers: int | None = None,
                     bulk: bool | None = None) -> IngestSummary:
        """Ingest documents; each batch of good documents is committed together; bad ones are reported, not
        written. `workers` and `bulk` default to the settings ingest_workers and ingest_bulk; `batch_size` to
        ATOMIC_BATCH documents, or BULK_BATCH with `bulk` (the bulk loader's cost per call falls with size)."""
        summary = IngestSummary(interrupted_documents=self.remove_interrupted(store))
        bulk = self.settings.ingest_bulk if bulk is None else bulk
        batch_size = batch_size or (BULK_BATCH if bulk else ATOMIC_BATCH)
        writer = _BulkWriter(self, store) if bulk else None
        batch: list[PreparedDocument] = []
        for outcome, prepared in self._prepared(paths, workers, status="ingested", ahead=batch_size + 32):
            if prepared is not None:
                batch.append(prepared)
            if len(batch) >= batch_size:
                self._write(store, batch, writer)
            summary.outcomes.append(outcome)
            if on_progress:
                on_progress(outcome.source)
        self._write(store, batch, writer)
        store.flush()  # to the store's files, so that the next open does not replay a long write-ahead log
        return summary

    def ingest_bytes(self, store: Store, data: bytes, source: str) -> DocumentOutcome:
        """Ingest one document given as bytes (used by the server); raises on refusal."""
        prepared = self.prepare(data, source)
        self.commit(store, [prepared])
        return outcome_of(prepared, "ingested")

    def commit(self, store: Store, documents: Iterable[PreparedDocument]) -> None:
        """Write documents in one transaction, replacing any earlier version of each document's graphs."""
        drop: list[str] = []
        add: list[tuple[str, bytes]] = []
        for document in documents:
            drop.extend(iri for iri, _ in document.graphs)
            add.extend(document.graphs)
        if add:
            store.replace_graphs(drop, add)

    def remove_interrupted(self, store: Store) -> int:
        """Remove the documents an interrupted bulk ingest left half-written (listed in the pending graph), in
        one transaction that also updates the merged default graph; the number of documents removed."""
        pending = str(self.iris.pending_graph())
        if store.read_only or pending not in store.named_graphs():
            return 0
        listed = Graph().parse(data=store.graph_ntriples(pending), format="nt")
        documents = sorted({str(s) for s in listed.subjects()})
        graphs = [str(g) for document in documents for g in self.iris.document_graphs(document)]
        store.replace_graphs([*graphs, pending], [])  # the merge loses only what no other graph asserts
        return len(documents)

    def _prepared(self, paths: Sequence[Path], workers: int | None, status: str,
                  ahead: int) -> Iterable[tuple[DocumentOutcome, PreparedDocument | None]]:
        files = list(iter_documents(paths))  # a missing path is reported before any document is written
        count = self.settings.ingest_workers if workers is None else workers
        return prepared_in_order(self.preparer, files, workers=count, status=status, ahead=ahead)

    def _write(self, store: Store, batch: list[PreparedDocument], writer: _BulkWriter | None) -> None:
        if batch:
            if writer is None:
                self.commit(store, batch)
                self._flush_now_and_then(store, batch)
            else:
                writer.write(batch)
            batch.clear()


    def _flush_now_and_then(self, store: Store, batch: list[PreparedDocument]) -> None:
        """Transactions fill RocksDB's memtables (~1 KB of memory a quad written): a 1k-document run peaked at
        3.6 GiB. Writing them to disk every FLUSH_EVERY_QUADS keeps the peak flat at no measurable cost."""
        self._unflushed += sum(blob.count(b"\n") for document in batch for _, blob in document.graphs)
        if self._unflushed >= FLUSH_EVERY_QUADS:
            store.flush()
            self._unflushed = 0


class _BulkWriter:
    """Writes batches of documents with the store's bulk loader, pending list first, provenance last."""

    def __init__(self, pipeline: Pipeline, store: Store) -> None:
        self.pipeline, self.store = pipeline, store
        self.pending = str(pipeline.iris.pending_graph())
        self.known = set(store.named_graphs())  # documents already in the store are replaced atomically instead

    def write(self, batch: Sequence[PreparedDocument]) -> None:
        new = [d for d in batch if d.graphs[-1][0] not in self.known]
        new_ids = {d.document_id for d in new}
        if len(new_ids) < len(new):  # the same document twice in one batch: let the atomic path sort it out
            new = []
        chosen = {id(d) for d in new}
        old = [d for d in batch if id(d) not in chosen]
        if old:
            self.pipeline.commit(self.store, old)
        if new:
            self.store.replace_graphs([], [(self.pending, self._pending_list(new))])
            self.store.bulk_add_graphs([graph for d in new for graph in d.graphs[:-1]])
            self.store.replace_graphs([self.pending], [d.graphs[-1] for d in new])
        self.known.update(iri for d in batch for iri, _ in d.graphs)

    def _pending_list(self, documents: Sequence[PreparedDocument]) -> bytes:
        listed = Graph()
        started = Literal(dt.datetime.now(dt.UTC).replace(microsecond=0), datatype=XSD.dateTime)
        for document in documents:
            listed.add((URIRef(document.graphs[0][0]), SKG.ingestStartedAt, started))
        return listed.serialize(format="nt", encoding="utf-8")
