"""One document = parse -> map -> reason -> validate -> one store transaction; batches of documents with progress.

Validation and reasoning run per document before it is committed, so cost stays linear in the number of documents
and a refused document never touches the store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph

from kg.config import Settings
from kg.errors import DocumentTooLarge, InputError, KGError, NonConformingData, exit_code
from kg.mapping import MappedDocument, map_profile
from kg.parse import parse_profile
from kg.reason import AlignmentReasoner
from kg.store import Store
from kg.validate import ValidationReport, Validator
from kg.vocab import IRIs


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A document that passed parsing, mapping, reasoning and validation, ready to commit."""

    source: str
    mapped: MappedDocument
    inferred_ntriples: bytes
    report: ValidationReport

    def graphs(self, iris: IRIs) -> list[tuple[str, bytes]]:
        """The three named graphs of the document, as (graph IRI, N-Triples)."""
        doc = self.mapped.document_id
        return [
            (str(iris.graph(doc)), _ntriples(self.mapped.asserted)),
            (str(iris.inferred_graph(doc)), self.inferred_ntriples),
            (str(iris.provenance_graph(doc)), _ntriples(self.mapped.provenance)),
        ]


@dataclass(frozen=True, slots=True)
class DocumentOutcome:
    """What happened to one document: ingested, refused by the shapes, or unreadable."""

    source: str
    status: str  # "ingested" | "valid" | "refused" | "error"
    papers: int = 0
    people: int = 0
    triples: int = 0
    report: ValidationReport | None = None
    error: KGError | None = None


@dataclass(slots=True)
class IngestSummary:
    """Totals over a run; `exit_code` follows the CLI convention (0 ok, 1 refused by shapes, 2 input error)."""

    outcomes: list[DocumentOutcome] = field(default_factory=list)

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
    """Parses, maps, reasons and validates documents; commits them to a store in atomic batches."""

    def __init__(self, settings: Settings, *, reasoner: AlignmentReasoner | None = None,
                 validator: Validator | None = None, now: Callable[[], dt.datetime] | None = None) -> None:
        self.settings = settings
        self.iris = IRIs(settings.base_iri)
        self.reasoner = reasoner or AlignmentReasoner(mode=settings.reasoner)
        self.validator = validator or Validator()
        self._now = now or (lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))

    def prepare(self, data: bytes, source: str) -> PreparedDocument:
        """Parse, map, reason and validate one document; raises KGError subclasses, NonConformingData when refused."""
        if len(data) > self.settings.max_document_bytes:
            raise DocumentTooLarge(
                f"{source}: expected at most {self.settings.max_document_bytes} bytes, got {len(data)}")
        profile = parse_profile(data, source)
        mapped = map_profile(profile, self.iris, ingested_at=self._now(),
                             file_sha256=hashlib.sha256(data).hexdigest())
        report = self.validator.validate(mapped.asserted)
        if not report.conforms:
            raise NonConformingData(f"{source}: refused by the shapes ({len(report.violations)} violations)",
                                    report.to_text())
        inferred = self.reasoner.infer(mapped.asserted)
        return PreparedDocument(source, mapped, _ntriples(inferred), report)

    def validate_paths(self, paths: Sequence[Path],
                       on_progress: Callable[[str], None] | None = None) -> IngestSummary:
        """Validate documents without writing anything."""
        summary = IngestSummary()
        for path in iter_documents(paths):
            summary.outcomes.append(self._try_prepare(path, committed=False)[0])
            if on_progress:
                on_progress(str(path))
        return summary

    def ingest_paths(self, store: Store, paths: Sequence[Path], *, batch_size: int = 50,
                     on_progress: Callable[[str], None] | None = None) -> IngestSummary:
        """Ingest documents; each batch of good documents is one transaction; bad ones are reported, not written."""
        summary = IngestSummary()
        batch: list[tuple[DocumentOutcome, PreparedDocument]] = []
        for path in iter_documents(paths):
            outcome, prepared = self._try_prepare(path, committed=True)
            if prepared is None:
                summary.outcomes.append(outcome)
            else:
                batch.append((outcome, prepared))
            if len(batch) >= batch_size:
                self._commit(store, batch, summary)
            if on_progress:
                on_progress(str(path))
        self._commit(store, batch, summary)
        store.flush()  # to the store's files, so that the next open does not replay a long write-ahead log
        return summary

    def ingest_bytes(self, store: Store, data: bytes, source: str) -> DocumentOutcome:
        """Ingest one document given as bytes (used by the server); raises on refusal."""
        prepared = self.prepare(data, source)
        self.commit(store, [prepared])
        return _outcome(prepared, "ingested")

    def commit(self, store: Store, documents: Iterable[PreparedDocument]) -> None:
        """Write documents in one transaction, replacing any earlier version of each document's graphs."""
        drop: list[str] = []
        add: list[tuple[str, bytes]] = []
        for document in documents:
            graphs = document.graphs(self.iris)
            drop.extend(iri for iri, _ in graphs)
            add.extend(graphs)
        if add:
            store.replace_graphs(drop, add)

    def _commit(self, store: Store, batch: list[tuple[DocumentOutcome, PreparedDocument]],
                summary: IngestSummary) -> None:
        if batch:
            self.commit(store, (prepared for _, prepared in batch))
            summary.outcomes.extend(outcome for outcome, _ in batch)
            batch.clear()

    def _try_prepare(self, path: Path, *, committed: bool) -> tuple[DocumentOutcome, PreparedDocument | None]:
        source = str(path)
        try:
            data = read_document(path, self.settings.max_document_bytes)
            prepared = self.prepare(data, source)
        except NonConformingData as error:
            return DocumentOutcome(source, "refused", error=error), None
        except KGError as error:
            return DocumentOutcome(source, "error", error=error), None
        return _outcome(prepared, "ingested" if committed else "valid"), prepared


def _outcome(prepared: PreparedDocument, status: str) -> DocumentOutcome:
    mapped = prepared.mapped
    return DocumentOutcome(prepared.source, status, papers=mapped.paper_count, people=mapped.person_count,
                           triples=len(mapped.asserted), report=prepared.report)


def iter_documents(paths: Sequence[Path]) -> Iterator[Path]:
    """Files as given, folders expanded to their `*.txt` files in name order; a missing path is an InputError."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.txt") if p.is_file())
        elif path.is_file():
            yield path
        else:
            raise InputError(f"{path}: expected a profile file or a folder of them, but nothing is there")


def read_document(path: Path, max_bytes: int) -> bytes:
    """The bytes of one document, refusing files over `max_bytes` before reading them whole."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentTooLarge(f"{path}: expected at most {max_bytes} bytes, got {size}")
        return path.read_bytes()
    except OSError as error:
        raise InputError(f"{path}: expected a readable file, got {error.strerror}") from None


def _ntriples(graph: Graph) -> bytes:
    return graph.serialize(format="nt", encoding="utf-8")
