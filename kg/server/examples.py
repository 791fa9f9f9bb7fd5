"""The example queries the query page (`/`) opens as YASGUI tabs: plain SPARQL text, no HTTP, no templates."""

from __future__ import annotations

from collections.abc import Sequence

_PREFIXES = """PREFIX skg: <https://w3id.org/scholarkg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX prov: <http://www.w3.org/ns/prov#>
"""

AUTHOR_PAPERS = _PREFIXES + """
# The papers of an author, newest first, with their category and whether the byline was cut ("et al.").
# DISTINCT: a statement that several documents make is in several named graphs, so in their union more than once.
SELECT DISTINCT ?paper ?date ?title ?category ?truncated WHERE {
  ?person skg:name "Shariq Iqbal" .
  ?paper skg:hasAuthor ?person ;
         skg:title ?title ;
         skg:publicationDate ?date ;
         skg:bylineTruncated ?truncated ;
         skg:category/skos:notation ?category .
}
ORDER BY DESC(?date)
LIMIT 100
"""

COAUTHOR_PAIRS = _PREFIXES + """
# Pairs of agents printed in the same byline, with the number of papers they share.
SELECT ?a ?b (COUNT(DISTINCT ?paper) AS ?papers) WHERE {
  ?paper skg:hasAuthorship/skg:agent ?agentA , ?agentB .
  ?agentA skg:name ?a .
  ?agentB skg:name ?b .
  FILTER (STR(?agentA) < STR(?agentB))
}
GROUP BY ?a ?b
ORDER BY DESC(?papers) ?a ?b
LIMIT 50
"""

PAPERS_PER_CATEGORY_YEAR = _PREFIXES + """
# How many papers each arXiv category has per year.
SELECT ?category ?year (COUNT(DISTINCT ?paper) AS ?papers) WHERE {
  ?paper skg:category/skos:notation ?category ;
         skg:publicationDate ?date .
  BIND (YEAR(?date) AS ?year)
}
GROUP BY ?category ?year
ORDER BY ?category ?year
"""

QUALITY_WARNINGS = _PREFIXES + """
# Data-quality warnings (the checks of shapes/quality.ttl, as plain SPARQL over the whole store):
# an h-index above the paper count, and papers with a Code badge but no code repository.
SELECT DISTINCT ?snapshot ?warning WHERE {
  {
    ?h prov:wasDerivedFrom ?snapshot ; skg:metric skg:hIndex ; skg:value ?hIndex .
    ?p prov:wasDerivedFrom ?snapshot ; skg:metric skg:paperCount ; skg:value ?papers .
    FILTER (?hIndex > ?papers)
    BIND (CONCAT("h-index ", STR(?hIndex), " is greater than the number of papers ", STR(?papers)) AS ?warning)
  } UNION {
    ?snapshot skg:lists ?paper .
    ?paper skg:hasCodeBadge true ; skg:title ?title .
    FILTER NOT EXISTS { ?paper skg:codeRepository ?repository }
    BIND (CONCAT("Code badge but no repository: ", ?title) AS ?warning)
  }
}
ORDER BY ?snapshot ?warning
"""

_FEDERATED = _PREFIXES + """
# A federated query: the titles of our papers joined with another SPARQL endpoint's statements about them.
# SERVICE may call only the endpoints the server allows (KG_SERVICE_ALLOW; here: {allowed}).
SELECT ?paper ?title ?remoteTitle WHERE {{
  ?paper skg:title ?title .
  SERVICE <{endpoint}> {{ ?paper skg:title ?remoteTitle }}
}}
LIMIT 10
"""


def examples(endpoint: str, service_allow: Sequence[str]) -> list[dict[str, str]]:
    """The example tabs: {name, query}. The federated one calls the first allowed SERVICE endpoint, else this one."""
    remote = service_allow[0] if service_allow else endpoint
    allowed = ", ".join(service_allow) if service_allow else "none, so this example is refused until one is set"
    return [
        {"name": "An author's papers", "query": AUTHOR_PAPERS},
        {"name": "Co-author pairs", "query": COAUTHOR_PAIRS},
        {"name": "Papers per category per year", "query": PAPERS_PER_CATEGORY_YEAR},
        {"name": "Data-quality warnings", "query": QUALITY_WARNINGS},
        {"name": "Federated", "query": _FEDERATED.format(endpoint=remote, allowed=allowed)},
    ]
