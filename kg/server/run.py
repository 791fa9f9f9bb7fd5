"""`kg serve`: open the store, ingest the seeds into an empty one, and serve the application with uvicorn.

Start-up does no full scan of the store: counts and statistics are computed on first request.
"""

from __future__ import annotations

import sys

import uvicorn

from kg.config import Settings
from kg.ingest import IngestSummary, Pipeline
from kg.sandbox import QueryPool
from kg.server.app import create_app
from kg.store import Store, open_store


def run_server(settings: Settings) -> None:
    """Serve until interrupted on settings.host:settings.port; the store is closed on the way out."""
    store = open_store(settings.store)
    pool: QueryPool | None = None
    try:
        pipeline = seed_if_empty(store, settings)
        pool = QueryPool(store, settings)  # workers start in the background: start-up does not wait for them
        app = create_app(pool.store, settings, pipeline=pipeline, queries=pool)
        print(f"kg serve: http://{settings.host}:{settings.port}/ (SPARQL at /sparql, API at /docs)", flush=True)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", proxy_headers=True,
                    access_log=settings.access_log)
    finally:
        if pool is not None:
            pool.close()
        store.close()


def seed_if_empty(store: Store, settings: Settings) -> Pipeline | None:
    """Ingest settings.seeds_path when the store has no named graph; the pipeline used, or None."""
    if store.named_graphs():
        return None
    pipeline = Pipeline(settings)
    summary = pipeline.ingest_paths(store, [settings.seeds_path])
    print(summary_line(summary, str(settings.seeds_path)), flush=True)
    for outcome in summary.outcomes:
        if outcome.error is not None:
            print(f"kg serve: {outcome.error}", file=sys.stderr, flush=True)
    return pipeline


def summary_line(summary: IngestSummary, source: str) -> str:
    refused = summary.count("refused") + summary.count("error")
    return (f"kg serve: the store was empty; ingested {summary.count('ingested')} documents from {source} "
            f"({summary.papers} papers, {summary.people} people, {summary.triples} triples"
            f"{f', {refused} refused' if refused else ''})")
