"""JSON-LD in and out with the bundled @context only: nothing is ever fetched (the only importer of pyld).

The published context (`ontology/context.jsonld`, served at `/context.jsonld`) names our terms; byline order is
data (`skg:ordinal` on each slot), so it survives every serialisation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from functools import cache
from typing import Any

from pyld import jsonld
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.errors import InputError
from kg.resources import data_dir

CONTEXT_PATH = "context.jsonld"  # published under the base IRI and at the root of `kg serve`
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


@cache
def context_document() -> dict[str, Any]:
    """The published JSON-LD context document (with its top-level "@context")."""
    path = data_dir("ontology") / "context.jsonld"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def graph_to_jsonld(graph: Graph) -> bytes:
    """Compact JSON-LD of `graph` with the bundled context inlined (readers need fetch nothing)."""
    context = context_document()["@context"]
    text = graph.serialize(format="json-ld", context=context, auto_compact=True, indent=1)
    return text.encode("utf-8")


def jsonld_to_graph(data: bytes, source: str = "JSON-LD body", *, base: str | None = None,
                    context_urls: Collection[str] = ()) -> Graph:
    """Parse JSON-LD into a graph; relative IRIs resolve against `base`. A context referenced by URL is accepted
    only when it is one of `context_urls`, the places our context is published, and is then read from the
    package: nothing is ever fetched."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(f"{source}: expected JSON-LD, got invalid JSON ({error})") from None
    options: dict[str, Any] = {"documentLoader": _bundled_only_loader(frozenset(context_urls))}
    if base is not None:
        options["base"] = base
    try:
        dataset = jsonld.to_rdf(document, options)
    except jsonld.JsonLdError as error:
        refused = _find_cause(error)
        if refused is not None:
            raise refused from None
        raise InputError(f"{source}: expected valid JSON-LD ({getattr(error, 'type', 'error')})") from None
    named = sorted(name for name, triples in dataset.items() if name != "@default" and triples)
    if named:
        raise InputError(f"{source}: expected one graph, got named graphs in the JSON-LD ({named[0]}, …)")
    graph = Graph()
    for triple in dataset.get("@default", []):
        graph.add((_term(triple["subject"]), _term(triple["predicate"]), _term(triple["object"])))
    return graph


def _bundled_only_loader(context_urls: frozenset[str]) -> Callable[..., dict[str, Any]]:
    def load(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        if url in context_urls:
            return {"contextUrl": None, "documentUrl": url, "document": context_document()}
        expected = " or ".join(sorted(context_urls)) or "an inline @context"
        raise InputError(f"JSON-LD: expected {expected}, got a remote context {url!r} (contexts are never fetched)")
    return load


def _term(node: dict[str, str]) -> Node:
    """An rdflib term from pyld's RDF dataset node form."""
    if node["type"] == "IRI":
        return URIRef(node["value"])
    if node["type"] == "blank node":
        return BNode(node["value"].removeprefix("_:"))
    language = node.get("language")
    if language:
        return Literal(node["value"], lang=language)
    datatype = node.get("datatype", _XSD_STRING)
    # rdflib tells a plain literal from an explicit xsd:string one; RDF 1.1 does not, so keep them plain.
    return Literal(node["value"]) if datatype == _XSD_STRING else Literal(node["value"], datatype=URIRef(datatype))


def _find_cause(error: BaseException) -> InputError | None:
    """pyld wraps loader errors several levels deep; find our own refusal if it is there."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, InputError):
            return seen
        seen = getattr(seen, "cause", None) or seen.__cause__ or seen.__context__
    return None
