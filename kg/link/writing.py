"""Discovering links (read, match) and writing them as scored owl:sameAs / skos:exactMatch triples with
SSSOM and PROV annotations into the links graph."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS, XSD

from kg.errors import NotFound, UsageError
from kg.link.matching import match_papers, match_people
from kg.link.sources import Select, Source, dump_source, endpoint_source, read_ours, read_works
from kg.link.targets import TARGETS, LinkReport, Target
from kg.store import Store
from kg.vocab import IRIs, digest

SSSOM = Namespace("https://w3id.org/sssom/")
SEMAPV = Namespace("https://w3id.org/semapv/vocab/")


def discover(store: Store, target: str, select: Select, *, min_score: float = 0.9, exhaustive: bool = False,
             source: str = "") -> LinkReport:
    """Match our papers and people against the graph behind `select` (`exhaustive`: read all its papers, as
    for a dump; else look up candidates by title and author name)."""
    profile = _target(target)
    ours = read_ours(store)
    theirs = read_works(select, profile, None if exhaustive else ours)
    papers, paper_misses = match_papers(ours, theirs, min_score)
    people, people_misses = match_people(ours, theirs, papers, min_score)
    return LinkReport(target, source, papers + people, paper_misses + people_misses, len(theirs))


def link_store(store: Store, iris: IRIs, target: str, *, endpoint: str | None = None, dump: Path | None = None,
               min_score: float = 0.9, timeout: float = 10.0, now: dt.datetime | None = None) -> LinkReport:
    """`kg link`: discover links against an endpoint or a dump (exactly one) and write them; the report."""
    _target(target)
    if not 0 < min_score <= 1:
        raise UsageError(f"--min-score: expected a number in (0, 1], got {min_score}")
    select, exhaustive, source = _source(endpoint, dump, timeout)
    with select:
        report = discover(store, target, select, min_score=min_score, exhaustive=exhaustive, source=source)
    write_links(store, iris, report, now=now)
    return report


def _source(endpoint: str | None, dump: Path | None, timeout: float) -> tuple[Source, bool, str]:
    if dump is not None and endpoint is None:
        return dump_source(dump), True, f"{dump.name} (sha256 {digest_file(dump)[:16]})"
    if endpoint is not None and dump is None:
        return endpoint_source(endpoint, timeout), False, endpoint
    raise UsageError("kg link: expected exactly one of --endpoint URL and --dump FILE")


def digest_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_links(store: Store, iris: IRIs, report: LinkReport, *, now: dt.datetime | None = None) -> int:
    """Replace this target's links in the links graph (other targets' stay) in one transaction; the triple count."""
    graph_iri = str(iris.links_graph())
    kept = _without_target(_current(store, graph_iri), iris, report.target)
    for triple in link_triples(iris, report, now or dt.datetime.now(dt.UTC)):
        kept.add(triple)
    store.replace_graphs([graph_iri], [(graph_iri, kept.serialize(format="nt", encoding="utf-8"))])
    return len(kept)


def link_triples(iris: IRIs, report: LinkReport, now: dt.datetime) -> Iterator[tuple[Any, Any, Any]]:
    """Each link as a direct triple, plus an owl:Axiom annotating it (SSSOM confidence and justification,
    PROV activity); node IRIs are digests of the link, so a re-run rewrites the same nodes."""
    base = _target_base(iris, report.target)
    activity = URIRef(base + "activity")
    yield activity, RDF.type, PROV.Activity
    yield activity, RDFS.label, Literal(f"kg link --target {report.target}")
    yield activity, PROV.endedAtTime, Literal(now.replace(microsecond=0), datatype=XSD.dateTime)
    yield activity, DCTERMS.source, Literal(report.source or report.target)
    for link in report.links:
        ours, theirs = URIRef(link.ours), URIRef(link.theirs)
        predicate = OWL.sameAs if link.kind == "paper" else SKOS.exactMatch
        node = URIRef(base + digest(f"{link.ours} {predicate} {link.theirs}")[:16])
        yield ours, predicate, theirs
        yield from ((node, RDF.type, OWL.Axiom), (node, OWL.annotatedSource, ours),
                    (node, OWL.annotatedProperty, predicate), (node, OWL.annotatedTarget, theirs),
                    (node, SSSOM.confidence, Literal(Decimal(f"{link.score:.3f}"))),
                    (node, SSSOM.mapping_justification, SEMAPV.LexicalMatching if link.kind == "paper"
                     else SEMAPV.StructuralMatching),
                    (node, SSSOM.similarity_measure, Literal(link.method)), (node, PROV.wasGeneratedBy, activity))


def _target_base(iris: IRIs, target: str) -> str:
    return f"{iris.base}link/{target}/"


def _current(store: Store, graph_iri: str) -> Graph:
    graph = Graph()
    with contextlib.suppress(NotFound):
        graph.parse(data=store.graph_ntriples(graph_iri), format="nt")
    return graph


def _without_target(graph: Graph, iris: IRIs, target: str) -> Graph:
    base = _target_base(iris, target)
    nodes = {s for s in graph.subjects() if isinstance(s, URIRef) and str(s).startswith(base)}
    for node in nodes:
        if (node, RDF.type, OWL.Axiom) in graph:
            statement = tuple(graph.value(node, p) for p in (OWL.annotatedSource, OWL.annotatedProperty,
                                                              OWL.annotatedTarget))
            graph.remove(statement)  # type: ignore[arg-type]
        graph.remove((node, None, None))
    return graph


def _target(name: str) -> Target:
    if name not in TARGETS:
        raise UsageError(f"--target {name!r}: expected one of {', '.join(TARGETS)}")
    return TARGETS[name]
