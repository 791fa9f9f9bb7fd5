"""SPARQL for the server and the CLI: run a query with a row limit, serialise its answer by media type, and
check what it reaches out to. Knows no HTTP objects; pyoxigraph, reached through kg.store, does the work."""

from kg.query.check import QueryInfo, check_query_allowed, inspect_query, parse_query_text
from kg.query.negotiate import FORMATS, GRAPH_FORMS, ResultFormat, negotiate
from kg.query.run import QueryOutcome, run_query

__all__ = [
    "FORMATS",
    "GRAPH_FORMS",
    "QueryInfo",
    "QueryOutcome",
    "ResultFormat",
    "check_query_allowed",
    "inspect_query",
    "negotiate",
    "parse_query_text",
    "run_query",
]
