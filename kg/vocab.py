"""Namespaces, prefixes and deterministic IRI minting: the same input always gives the same IRIs.

Entity IRIs live under the configurable base IRI (`KG_BASE_IRI`); ontology and shape terms live in fixed
namespaces so that the vocabulary is the same in every deployment. No blank nodes are minted for entities.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, unquote

from rdflib import Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SKOS, XSD

SKG = Namespace("https://w3id.org/scholarkg/ontology#")
SKGSH = Namespace("https://w3id.org/scholarkg/shapes#")
SCHEMA = Namespace("http://schema.org/")
DBLP = Namespace("https://dblp.org/rdf/schema#")
SOA = Namespace("https://semopenalex.org/ontology/")
FABIO = Namespace("http://purl.org/spar/fabio/")
BIBO = Namespace("http://purl.org/ontology/bibo/")
SOSA = Namespace("http://www.w3.org/ns/sosa/")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = Namespace("http://rdfs.org/ns/void#")
WD = Namespace("http://www.wikidata.org/entity/")
WDT = Namespace("http://www.wikidata.org/prop/direct/")

ONTOLOGY_IRI = "https://w3id.org/scholarkg/ontology"
SHAPES_IRI = "https://w3id.org/scholarkg/shapes"

PREFIXES: dict[str, str] = {
    "skg": str(SKG),
    "skgsh": str(SKGSH),
    "schema": str(SCHEMA),
    "dcterms": str(DCTERMS),
    "foaf": str(FOAF),
    "skos": str(SKOS),
    "prov": str(PROV),
    "owl": str(OWL),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
    "dblp": str(DBLP),
    "soa": str(SOA),
    "fabio": str(FABIO),
    "bibo": str(BIBO),
    "sosa": str(SOSA),
}

# arXiv archives of the bare category codes the profile site prints (design notes); others stay unmapped.
ARXIV_NOTATIONS: dict[str, str] = {
    "LG": "cs.LG",
    "CL": "cs.CL",
    "RO": "cs.RO",
    "CV": "cs.CV",
    "MA": "cs.MA",
    "AI": "cs.AI",
    "NE": "cs.NE",
    "IR": "cs.IR",
    "CR": "cs.CR",
    "SE": "cs.SE",
    "HC": "cs.HC",
    "NC": "q-bio.NC",
    "ML": "stat.ML",
    "MES-HALL": "cond-mat.mes-hall",
    "MTRL-SCI": "cond-mat.mtrl-sci",
}

METRICS = ("hIndex", "paperCount", "citationCount", "novelty", "aiScore")


def slug(text: str) -> str:
    """A stable, readable path segment: NFC, case-folded, runs of non-word characters become '-'.

    Non-Latin letters are kept (and percent-encoded in the IRI); text with no word character at all gets a
    short hash so that it still has an IRI of its own.
    """
    folded = unicodedata.normalize("NFC", text).casefold()
    words = re.sub(r"[\W_]+", "-", folded).strip("-")
    return words or "h" + digest(text)[:12]


def digest(text: str) -> str:
    """Hex SHA-256 of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalize_title(title: str) -> str:
    """Title key used for identity: NFKC, case-folded, punctuation dropped, spaces collapsed."""
    text = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


@dataclass(frozen=True, slots=True)
class IRIs:
    """Mints every entity IRI under one base."""

    base: str

    def _iri(self, *segments: str) -> URIRef:
        return URIRef(self.base + "/".join(quote(s, safe="-._~") for s in segments))

    def person(self, name: str) -> URIRef:
        return self._iri("person", slug(name))

    def team(self, name: str) -> URIRef:
        return self._iri("team", slug(name))

    def organization(self, tag: str) -> URIRef:
        return self._iri("org", slug(tag))

    def paper(self, title: str, year: int) -> URIRef:
        """One IRI per paper across profiles: the normalised title and the year of publication."""
        return self._iri("paper", digest(f"{normalize_title(title)}|{year}")[:16])

    def authorship(self, paper: URIRef, ordinal: int) -> URIRef:
        return URIRef(f"{paper}/author/{ordinal}")

    def category(self, code: str) -> URIRef:
        """Mapped codes by their full arXiv notation (`cs.LG`); unmapped ones by the bare code."""
        return self._iri("category", ARXIV_NOTATIONS.get(code, code))

    def category_scheme(self) -> URIRef:
        return self._iri("category", "scheme")

    def document_id(self, file_name: str) -> str:
        """The identity of a source document: its file name without extension, as a slug."""
        stem = file_name.rsplit("/", 1)[-1]
        stem = stem[: -len(".txt")] if stem.endswith(".txt") else stem
        return slug(stem)

    def snapshot(self, document_id: str) -> URIRef:
        return self._iri("snapshot", document_id)

    def observation(self, document_id: str, metric: str) -> URIRef:
        return self._iri("snapshot", document_id, "metric", metric)

    def graph(self, document_id: str) -> URIRef:
        """Named graph of the statements asserted by one document."""
        return self._iri("graph", document_id)

    def inferred_graph(self, document_id: str) -> URIRef:
        """Named graph of the alignment view inferred from one document."""
        return self._iri("graph", document_id, "inferred")

    def provenance_graph(self, document_id: str) -> URIRef:
        """Named graph of the provenance of one document's ingest."""
        return self._iri("graph", document_id, "provenance")

    def document_graphs(self, graph_iri: str) -> tuple[URIRef, URIRef, URIRef]:
        """The three graphs (asserted, inferred, provenance) of the document whose asserted graph is `graph_iri`."""
        document_id = unquote(graph_iri.removeprefix(str(self._iri("graph", ""))))
        return self.graph(document_id), self.inferred_graph(document_id), self.provenance_graph(document_id)

    def pending_graph(self) -> URIRef:
        """Named graph listing the documents a bulk ingest is writing (empty and gone once they are complete)."""
        return self._iri("graph", "ingest", "pending")

    def links_graph(self) -> URIRef:
        """Named graph of links to other graphs written by `kg link`."""
        return self._iri("graph", "links")
