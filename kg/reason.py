"""The alignment view of one document: the new triples the ontology's OWL 2 RL alignments give its entities.

The only importer of owlrl. Mode "owlrl" runs the reference closure per document; mode "rules" (the default) runs
owlrl once over the ontology with probe individuals, compiles what each kind of triple entails into lookup tables,
and applies them in one pass. Both modes return the same triples (tests/test_reason.py).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import owlrl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.term import Node

from kg.errors import UsageError
from kg.resources import ontology_files

Triple = tuple[Node, Node, Node]
# A compiled consequence: (subject role, predicate, object role, constant); role 0 = the triple's subject,
# 1 = its object, 2 = the constant.
Template = tuple[int, Node, int, Node | None]

MODES = ("rules", "owlrl")
_BUILTIN_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(XSD))
_OWL_NS, _SCHEMA_NAMESPACES = str(OWL), (str(OWL), str(RDFS))
_TRIVIAL_TYPES = frozenset({OWL.Thing, RDFS.Resource})
_SCHEMA_PREDICATES = frozenset({RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range})
# Constructs whose OWL 2 RL rules combine two data triples: the one-pass rules cannot reproduce them.
_UNCOMPILABLE = frozenset({
    OWL.TransitiveProperty, OWL.SymmetricProperty, OWL.InverseFunctionalProperty, OWL.inverseOf,
    OWL.propertyChainAxiom, OWL.someValuesFrom, OWL.allValuesFrom, OWL.intersectionOf, OWL.unionOf,
    OWL.hasKey, OWL.maxCardinality, OWL.maxQualifiedCardinality, OWL.oneOf, OWL.sameAs, OWL.complementOf,
})
_PROBE = "urn:x-scholarkg-probe:"


class AlignmentReasoner:
    """Infers the alignment view of documents; built once from the ontology files, then reused (thread-safe)."""

    def __init__(self, mode: str = "rules", files: Sequence[Path] | None = None) -> None:
        if mode not in MODES:
            raise UsageError(f"reasoner mode: expected 'rules' or 'owlrl', got {mode!r}")
        self.mode = mode
        self.files = tuple(files if files is not None else ontology_files())
        # Shared between reasoners built from the same unchanged files: treat as read-only.
        self.ontology, self.terms, self._rules = _prepare(_files_key(self.files), mode == "rules")

    def infer(self, asserted: Graph) -> Graph:
        """Only the new triples of the alignment view about the entities of `asserted`."""
        graph = Graph()
        add = graph.add
        for triple in self.infer_triples(asserted):
            add(triple)
        return graph

    def infer_triples(self, asserted: Graph) -> set[Triple]:
        """Like `infer`, as a set of triples (cheaper when the caller writes them elsewhere)."""
        triples: list[Triple] = list(asserted)
        if self._rules is not None:
            inferred = self._rules.apply(triples, self.terms)
            if inferred is not None:
                return inferred
        return self._reference(triples)

    def _reference(self, triples: list[Triple]) -> set[Triple]:
        new = owlrl_closure(self.ontology, triples)
        entities = {node for s, _, o in triples for node in (s, o) if not isinstance(node, Literal)} - self.terms
        asserted = set(triples)
        return {t for t in new if t[0] in entities and t not in asserted and not _trivial(t, entities)}


def _files_key(files: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    try:
        return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    except OSError as error:
        raise UsageError(f"{error.filename}: expected a readable ontology file, got {error.strerror}") from None


@functools.lru_cache(maxsize=8)
def _prepare(key: tuple[tuple[str, int, int], ...], rules: bool) -> tuple[Graph, frozenset[Node], _Rules | None]:
    """The ontology, its terms and (for mode "rules") the compiled rules; compiled once per set of unchanged files."""
    files = [Path(path) for path, _, _ in key]
    ontology = load_ontology(files)
    terms = ontology_terms(ontology)
    return ontology, terms, _compile(ontology, files) if rules else None


def load_ontology(files: Iterable[Path]) -> Graph:
    """The union of the ontology files (owl:imports are not followed: every file is given)."""
    graph = Graph()
    for path in files:
        try:
            graph.parse(path, format="turtle")
        except Exception as error:  # rdflib raises many unrelated types for bad Turtle
            raise UsageError(f"{path}: expected an ontology in Turtle, got {error}") from None
    return graph


def ontology_terms(ontology: Graph) -> frozenset[Node]:
    """Everything the ontology describes (classes, properties, individuals, restrictions) and built-in terms."""
    terms: set[Node] = set(ontology.subjects())
    terms.update(n for t in ontology for n in t if isinstance(n, URIRef) and str(n).startswith(_BUILTIN_NAMESPACES))
    return frozenset(terms)


def owlrl_closure(ontology: Graph, triples: Iterable[Triple]) -> set[Triple]:
    """The triples the OWL 2 RL closure adds to the ontology plus `triples`."""
    graph = Graph()
    add = graph.add
    for triple in ontology:
        add(triple)
    for triple in triples:
        add(triple)
    before = set(graph)
    # improved_datatypes=False: the improved conversions are switched on and off globally, which is not thread-safe.
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, improved_datatypes=False).expand(graph)
    return set(graph) - before


def _trivial(triple: Triple, entities: set[Node]) -> bool:
    s, p, o = triple
    if p == RDF.type and o in _TRIVIAL_TYPES:
        return True
    if p == OWL.sameAs and s == o:
        return True
    return isinstance(o, BNode) and o not in entities  # an anonymous class of the ontology


@dataclass(frozen=True, slots=True)
class _Rules:
    """What one data triple entails, by its predicate and by (predicate, object); plus functional properties."""

    by_predicate: dict[Node, tuple[Template, ...]]
    by_predicate_object: dict[tuple[Node, Node], tuple[Template, ...]]
    functional: dict[Node, tuple[Node, ...]]  # predicate -> the functional properties it implies

    def apply(self, triples: list[Triple], terms: frozenset[Node]) -> set[Triple] | None:
        """The inferred triples, or None when the data needs the full reasoner (schema triples, a functional
        property with two values)."""
        if not self._compilable(triples):
            return None
        out: set[Triple] = set()
        empty: tuple[Template, ...] = ()
        for s, p, o in triples:
            templates = self.by_predicate.get(p, empty) + self.by_predicate_object.get((p, o), empty)
            for sr, q, orole, const in templates:
                subject = s if sr == 0 else o
                if isinstance(subject, Literal) or subject in terms:
                    continue
                out.add((subject, q, const if const is not None else (s if orole == 0 else o)))
        out.difference_update(triples)
        return out

    def _compilable(self, triples: list[Triple]) -> bool:
        values: dict[tuple[Node, Node], Node] = {}
        for s, p, o in triples:
            if _schema_triple(p, o):
                return False
            for f in self.functional.get(p, ()):
                if values.setdefault((s, f), o) != o:
                    return False
        return True


def _schema_triple(p: Node, o: Node) -> bool:
    if p in _SCHEMA_PREDICATES or str(p).startswith(_OWL_NS):
        return True
    return p == RDF.type and isinstance(o, URIRef) and str(o).startswith(_SCHEMA_NAMESPACES)


def _compile(ontology: Graph, files: Sequence[Path]) -> _Rules:
    """Run owlrl once on the ontology plus one probe triple per class, property and hasValue restriction."""
    _check_compilable(ontology, files)
    probes = _probes(ontology)
    new = owlrl_closure(ontology, [t for t, _ in probes])
    by_subject: dict[Node, list[Triple]] = {}
    for triple in new:
        by_subject.setdefault(triple[0], []).append(triple)
    by_predicate: dict[Node, tuple[Template, ...]] = {}
    by_predicate_object: dict[tuple[Node, Node], tuple[Template, ...]] = {}
    for (s, p, o), keyed_by_object in probes:
        templates = _templates(s, o, by_subject)
        if keyed_by_object:
            by_predicate_object[(p, o)] = templates
        else:
            by_predicate[p] = templates
    return _Rules(by_predicate, by_predicate_object, _functional(ontology, by_subject, probes))


def _check_compilable(ontology: Graph, files: Sequence[Path]) -> None:
    for s, p, o in ontology:
        construct = p if p in _UNCOMPILABLE else o if p == RDF.type and o in _UNCOMPILABLE else None
        if construct is not None:
            raise UsageError(f"{', '.join(map(str, files))}: the rules reasoner supports subclass, subproperty, "
                             f"equivalence, domain, range, hasValue and functional axioms; got {construct} on {s} "
                             "(use reasoner mode 'owlrl')")


def _probes(ontology: Graph) -> list[tuple[Triple, bool]]:
    """(probe triple, keyed by object?): `x rdf:type C` per class, `x p y` per property, `x p v` per hasValue."""
    probes: list[tuple[Triple, bool]] = []
    for i, cls in enumerate(_classes(ontology)):
        probes.append(((URIRef(f"{_PROBE}c{i}"), RDF.type, cls), True))
    for i, prop in enumerate(_properties(ontology)):
        probes.append(((URIRef(f"{_PROBE}s{i}"), prop, URIRef(f"{_PROBE}o{i}")), False))
    for i, restriction in enumerate(ontology.subjects(OWL.hasValue, None)):
        for on in ontology.objects(restriction, OWL.onProperty):
            for value in ontology.objects(restriction, OWL.hasValue):
                probes.append(((URIRef(f"{_PROBE}v{i}"), on, value), True))
    return probes


def _classes(ontology: Graph) -> list[URIRef]:
    found = _typed(ontology, OWL.Class, RDFS.Class)
    for axiom in (RDFS.subClassOf, OWL.equivalentClass):
        found.update(n for pair in ontology.subject_objects(axiom) for n in pair)
    return sorted(n for n in found if isinstance(n, URIRef))


def _properties(ontology: Graph) -> list[URIRef]:
    found = _typed(ontology, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDF.Property,
                   OWL.FunctionalProperty)
    for axiom in (RDFS.subPropertyOf, OWL.equivalentProperty):
        found.update(n for pair in ontology.subject_objects(axiom) for n in pair)
    found.update(ontology.objects(None, OWL.onProperty))
    return sorted(n for n in found if isinstance(n, URIRef))


def _typed(ontology: Graph, *types: Node) -> set[Node]:
    return {s for t in types for s in ontology.subjects(RDF.type, t)}


def _templates(s: Node, o: Node, by_subject: dict[Node, list[Triple]]) -> tuple[Template, ...]:
    """What the probe triple (s, p, o) entailed about s and o, with s and o turned into roles."""
    roles = {s: 0, o: 1} if str(o).startswith(_PROBE) else {s: 0}
    found: set[Template] = set()
    for node, role in roles.items():
        for _, q, value in by_subject.get(node, ()):
            if _trivial((node, q, value), set()):
                continue
            if value in roles:
                found.add((role, q, roles[value], None))
            else:
                found.add((role, q, 2, value))
    return tuple(sorted(found, key=str))


def _functional(ontology: Graph, by_subject: dict[Node, list[Triple]],
                probes: list[tuple[Triple, bool]]) -> dict[Node, tuple[Node, ...]]:
    """For each probed property, itself and its superproperties that are owl:FunctionalProperty."""
    functional = set(ontology.subjects(RDF.type, OWL.FunctionalProperty))
    result: dict[Node, tuple[Node, ...]] = {}
    for (s, p, o), keyed_by_object in probes:
        if keyed_by_object:
            continue
        implied = {p} | {q for _, q, y in by_subject.get(s, ()) if y == o}
        found = tuple(sorted(implied & functional, key=str))
        if found:
            result[p] = found
    return result
