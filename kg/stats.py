"""Counts that describe a store's content: documents, papers, people, triples, graphs."""

from __future__ import annotations

import json

from kg.query import run_query
from kg.store import Store

_COUNTS = """
PREFIX skg: <https://w3id.org/scholarkg/ontology#>
SELECT
  (COUNT(DISTINCT ?snapshot) AS ?documents) (COUNT(DISTINCT ?paper) AS ?papers)
  (COUNT(DISTINCT ?person) AS ?people) (COUNT(DISTINCT ?team) AS ?teams)
  (COUNT(DISTINCT ?org) AS ?organizations) (COUNT(DISTINCT ?category) AS ?categories)
WHERE {
  { ?snapshot a skg:ProfileSnapshot } UNION { ?paper a skg:Paper } UNION { ?person a skg:Person }
  UNION { ?team a skg:Team } UNION { ?org a skg:Organization } UNION { ?category a skg:Category }
}
"""


def store_stats(store: Store) -> dict[str, int]:
    """Entity counts by class, plus quads and named graphs."""
    outcome = run_query(store, _COUNTS, accept="json", max_rows=1)
    row = json.loads(b"".join(outcome.body))["results"]["bindings"][0]
    figures = {name: int(row[name]["value"]) for name in row}
    figures["quads"] = store.quad_count()
    figures["named graphs"] = len(store.named_graphs())
    return figures
