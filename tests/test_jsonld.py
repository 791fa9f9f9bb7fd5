"""JSON-LD in: the bundled context only, under the URLs where it is published; relative IRIs against the base."""

from __future__ import annotations

import json
import re

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic

from kg.errors import InputError
from kg.jsonld import graph_to_jsonld, jsonld_to_graph

PUBLISHED = "https://w3id.org/scholarkg/context.jsonld"
TITLE = URIRef("https://w3id.org/scholarkg/ontology#title")


def _body(context: object, **node: str) -> bytes:
    return json.dumps({"@context": context, **node}).encode()


def test_a_published_context_url_is_read_from_the_package_and_relative_iris_use_the_base() -> None:
    graph = jsonld_to_graph(_body(PUBLISHED, **{"@id": "p1", "title": "T"}), base="https://example.org/g/",
                            context_urls={PUBLISHED})
    assert set(graph) == {(URIRef("https://example.org/g/p1"), TITLE, Literal("T"))}


@pytest.mark.parametrize("context", ["https://elsewhere.example/context.jsonld", PUBLISHED + "/../x.jsonld",
                                     [PUBLISHED, "https://elsewhere.example/more.jsonld"]])
def test_any_other_context_url_is_refused_naming_what_was_expected(context: object) -> None:
    with pytest.raises(InputError, match=re.escape(f"expected {PUBLISHED}, got a remote context")):
        jsonld_to_graph(_body(context, **{"@id": "https://example.org/p1", "title": "T"}), context_urls={PUBLISHED})


def test_without_published_urls_only_inline_contexts_are_read() -> None:
    with pytest.raises(InputError, match="expected an inline @context"):
        jsonld_to_graph(_body(PUBLISHED, **{"@id": "https://example.org/p1"}))
    inline = {"title": str(TITLE)}
    assert len(jsonld_to_graph(_body(inline, **{"@id": "https://example.org/p1", "title": "T"}))) == 1


def test_invalid_json_names_the_source() -> None:
    with pytest.raises(InputError, match="request body: expected JSON-LD, got invalid JSON"):
        jsonld_to_graph(b"{not json", "request body")


def test_our_json_ld_reads_back_to_an_isomorphic_graph() -> None:
    graph = Graph()
    graph.add((URIRef("https://example.org/p1"), TITLE, Literal("Ünïcode title")))
    graph.add((URIRef("https://example.org/p1"), URIRef("https://schema.org/position"), Literal(3)))
    assert isomorphic(jsonld_to_graph(graph_to_jsonld(graph)), graph)
