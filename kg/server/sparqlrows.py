"""Runs the site's own read queries on the store and hands back rows as SPARQL JSON bindings (plain dicts).

The pages' queries always bind their subject (an IRI checked here before it is spliced into the text), so each
touches only the data around one resource. No HTTP, no templates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from string import Template
from typing import Any

from kg.errors import StoreError
from kg.store import QueryResultsFormat, QuerySolutions, Store
from kg.store.rdf import node
from kg.vocab import PREFIXES

Binding = dict[str, str]  # {"type": "uri"|"literal"|"bnode", "value": …, "datatype"?: …, "xml:lang"?: …}
Row = dict[str, Binding]

PROLOGUE = "".join(f"PREFIX {prefix}: <{namespace}>\n" for prefix, namespace in sorted(PREFIXES.items()))


def ref(iri: str) -> str:
    """`<iri>` for splicing into SPARQL text; InputError when `iri` is not an absolute IRI (so it cannot escape)."""
    return str(node(iri))


def select(store: Store, sparql: str, *, graphs: Sequence[str] | None = None, **slots: str) -> list[Row]:
    """The rows of a SELECT (the project prefixes declared), as SPARQL JSON bindings.

    `slots` fill the `$name` placeholders of `sparql` with SPARQL text (IRIs made safe by `ref`, numbers); the
    queries name their variables `?x`, never `$x`. `graphs`, when given, is the query's default graph (else the
    union of all graphs).
    """
    text = PROLOGUE + (Template(sparql).substitute(slots) if slots else sparql)
    result = store.query(text, default_graph_uris=graphs, named_graph_uris=[] if graphs is not None else None)
    if not isinstance(result, QuerySolutions):
        raise StoreError("a page query expected SELECT rows from the store, got another kind of answer")
    try:
        data: dict[str, Any] = json.loads(result.serialize(format=QueryResultsFormat.JSON) or b"{}")
    except (OSError, RuntimeError) as error:  # pyoxigraph evaluates lazily and reports failures this way
        raise StoreError(f"a page query failed while running: {error}") from None
    rows: list[Row] = data.get("results", {}).get("bindings", [])
    return rows


def value(row: Row, name: str, default: str = "") -> str:
    """The lexical form or IRI bound to `name` in `row`, or `default` when it is unbound."""
    binding = row.get(name)
    return default if binding is None else binding["value"]


def first(rows: list[Row], name: str, default: str = "") -> str:
    """The smallest value bound to `name` over `rows` (a stable pick when several graphs disagree)."""
    values = [row[name]["value"] for row in rows if name in row]
    return min(values) if values else default
