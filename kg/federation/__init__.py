"""SERVICE clauses evaluated by us, never by the engines: `plan` cuts each clause out of the query text, `remote`
asks its endpoint with VALUES batches, and the query, each clause replaced by its rows, then runs on the store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import httpx

from kg.federation.plan import Plan, has_service
from kg.federation.remote import ACCEPT, BATCH_ROWS, Resolver, new_client, post_query
from kg.store import QueryResult, Store

if TYPE_CHECKING:
    from kg.query import QueryInfo

# the limits (MAX_BINDINGS, …) live in kg.federation.remote, where they are read
__all__ = ["ACCEPT", "has_service", "new_client", "post_query", "run_federated"]


def run_federated(store: Store, info: QueryInfo, *, service_allow: Sequence[str], timeout: float,
                  default_graph_uris: Sequence[str] | None, named_graph_uris: Sequence[str] | None,
                  batch_rows: int = BATCH_ROWS, client: httpx.Client | None = None) -> QueryResult:
    """Evaluate each SERVICE clause of `info.text` (document order) against its endpoint, which must be one of
    `service_allow` (QueryRefused otherwise), with `timeout` seconds per HTTP call; then run the query, with each
    clause replaced by its rows as VALUES, on `store` over the given dataset (None: the union of all graphs).

    The bindings shipped to an endpoint are the distinct values of the shared variables given by the patterns
    before the SERVICE in its group (FILTERs left out). A failing endpoint raises RemoteServiceError, unless the
    clause says SILENT: it then gives one empty solution, as SPARQL 1.1 Federated Query prescribes.
    """
    plan = Plan.of(info.text)
    plan.check(info.form, service_allow)
    own = client is None
    http = client or new_client(timeout)
    try:
        resolver = Resolver(plan, store, http, timeout, batch_rows, (default_graph_uris, named_graph_uris))
        for clause in plan.clauses:
            plan.values[clause.start] = resolver.values_for(clause)
    finally:
        if own:
            http.close()
    return store.query(plan.render(0, len(plan.text)), default_graph_uris=default_graph_uris,
                       named_graph_uris=named_graph_uris)
