"""One document's text -> its three named graphs as N-Triples plus its findings; in worker processes for big runs.

Preparing a document (parse, map, validate, reason, serialise) needs nothing but the document, so it runs in
parallel; what comes back is small and picklable (bytes and findings, no rdflib graph), in input order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from multiprocessing.pool import AsyncResult
from pathlib import Path

from kg.config import Settings
from kg.errors import DocumentTooLarge, InputError, KGError, NonConformingData
from kg.mapping import map_profile
from kg.ntriples import ntriples
from kg.parse import parse_profile
from kg.reason import AlignmentReasoner
from kg.validate import ValidationReport, Validator
from kg.vocab import IRIs

AUTO_WORKERS_MIN_DOCUMENTS = 100  # below this, starting worker processes costs more than it saves


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A document that passed parsing, mapping, validation and reasoning, ready to commit.

    `graphs` holds (graph IRI, N-Triples) for the asserted, inferred and provenance graphs, in that order; the
    provenance graph is written last by bulk ingests, as the mark of a complete document.
    """

    source: str
    document_id: str
    graphs: tuple[tuple[str, bytes], ...]
    papers: int
    people: int
    triples: int
    report: ValidationReport


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


Prepared = tuple[DocumentOutcome, PreparedDocument | None]


class Preparer:
    """Parses, maps, validates and reasons documents; holds the compiled shapes and rules (built once)."""

    def __init__(self, settings: Settings, *, reasoner: AlignmentReasoner | None = None,
                 validator: Validator | None = None, now: Callable[[], dt.datetime] | None = None) -> None:
        self.settings = settings
        self.iris = IRIs(settings.base_iri)
        self.reasoner = reasoner or AlignmentReasoner(mode=settings.reasoner)
        self.validator = validator or Validator()
        self._now = now or (lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))
        # worker processes build their own Preparer from the settings: a given reasoner, validator or clock
        # would not reach them, so such a Preparer prepares in its own process
        self.in_process_only = reasoner is not None or validator is not None or now is not None

    def prepare(self, data: bytes, source: str) -> PreparedDocument:
        """Raises KGError subclasses; NonConformingData (with the findings in words) when the shapes refuse it."""
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
        inferred = self.reasoner.infer_triples(mapped.asserted)
        doc = mapped.document_id
        graphs = ((str(self.iris.graph(doc)), ntriples(mapped.asserted)),
                  (str(self.iris.inferred_graph(doc)), ntriples(inferred)),
                  (str(self.iris.provenance_graph(doc)), ntriples(mapped.provenance)))
        return PreparedDocument(source, doc, graphs, mapped.paper_count, mapped.person_count,
                                len(mapped.asserted), report)

    def prepare_path(self, path: Path, *, status: str = "ingested") -> Prepared:
        """The outcome of one file, and the prepared document when it is good. Reports keep findings only."""
        source = str(path)
        try:
            prepared = self.prepare(read_document(path, self.settings.max_document_bytes), source)
        except NonConformingData as error:
            return DocumentOutcome(source, "refused", error=error), None
        except KGError as error:
            return DocumentOutcome(source, "error", error=error), None
        light = replace(prepared, report=prepared.report.without_graph())
        return outcome_of(light, status), light


def outcome_of(prepared: PreparedDocument, status: str) -> DocumentOutcome:
    return DocumentOutcome(prepared.source, status, papers=prepared.papers, people=prepared.people,
                           triples=prepared.triples, report=prepared.report)


def prepared_in_order(preparer: Preparer, paths: Sequence[Path], *, workers: int = 0,
                      status: str = "ingested", ahead: int = 64) -> Iterator[Prepared]:
    """Each path prepared, in the order given; by `workers` processes (0: one per CPU when there are at least
    AUTO_WORKERS_MIN_DOCUMENTS paths, else none; 1: in this process). At most `ahead` documents are prepared
    before the caller takes them, so memory stays bounded when the caller (the store write) is the slower side.
    Worker processes start as the multiprocessing forkserver does: a script calling this must guard its entry
    point (`if __name__ == "__main__":`), as with any multiprocessing."""
    count = 1 if preparer.in_process_only else worker_count(workers, len(paths))
    if count <= 1:
        yield from (preparer.prepare_path(path, status=status) for path in paths)
        return
    context = multiprocessing.get_context("forkserver")  # fresh interpreters: never a fork of a threaded process
    context.set_forkserver_preload(["kg.prepare"])
    with context.Pool(count, initializer=_start_worker, initargs=(preparer.settings, status)) as pool:
        queued: deque[AsyncResult[Prepared]] = deque()
        for path in paths:
            queued.append(pool.apply_async(_prepare_in_worker, (path,)))
            if len(queued) >= max(ahead, count):
                yield queued.popleft().get()
        while queued:
            yield queued.popleft().get()


def worker_count(requested: int, documents: int) -> int:
    if requested:
        return requested
    return (os.cpu_count() or 1) if documents >= AUTO_WORKERS_MIN_DOCUMENTS else 1


_WORKER: dict[str, tuple[Preparer, str]] = {}


def _start_worker(settings: Settings, status: str) -> None:
    _WORKER["preparer"] = (Preparer(settings), status)


def _prepare_in_worker(path: Path) -> Prepared:
    preparer, status = _WORKER["preparer"]
    return preparer.prepare_path(path, status=status)


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
