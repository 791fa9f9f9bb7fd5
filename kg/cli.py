"""The `kg` command line: ingest, validate, query, link, export, stats, serve, backup and restore.

Every user mistake ends with one line on stderr and exit code 2 (1 when data does not conform); never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kg.config import Settings
from kg.errors import KGError, UsageError, exit_code
from kg.ingest import IngestSummary, Pipeline, iter_documents
from kg.stats import store_stats

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Scholar KG: author profiles to a validated, queryable, linked knowledge graph.")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

StoreOption = Annotated[
    str | None, typer.Option("--store", help="Store directory or SPARQL endpoint spec [env KG_STORE]")]
BaseOption = Annotated[str | None, typer.Option("--base-iri", help="Base IRI of minted entities [env KG_BASE_IRI]")]
T = TypeVar("T")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KGError as error:  # raised outside a command body (settings)
        err.print(f"[red]error:[/red] {error}", markup=True, highlight=False)
        sys.exit(exit_code(error))


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except KGError as error:
        err.print(f"[red]error:[/red] {error}", markup=True, highlight=False)
        raise typer.Exit(exit_code(error)) from None


def _settings(**overrides: Any) -> Settings:
    return Settings.from_env(**overrides)


def _open(settings: Settings, *, read_only: bool = False) -> Any:
    from kg.store import open_store

    return open_store(settings.store, read_only=read_only)


def _with_progress(paths: list[Path], run: Callable[[Callable[[str], None]], T]) -> T:
    total = sum(1 for _ in iter_documents(paths))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("documents", total=total)
        return run(lambda _source: progress.advance(task))


def _print_summary(summary: IngestSummary, verb: str) -> None:
    for outcome in summary.outcomes:
        if outcome.error is not None:
            err.print(f"[red]{outcome.status}:[/red] {outcome.error}", markup=True, highlight=False)
            report_text = getattr(outcome.error, "report_text", "")
            if report_text:
                err.print(report_text, markup=False, highlight=False)
        elif outcome.report is not None:
            for line in outcome.report.to_text().splitlines():
                err.print(f"{outcome.source}: {line}", markup=False, highlight=False)
    table = Table(title=f"{verb} summary", show_header=False)
    for label, value in (("documents read", summary.count("ingested") + summary.count("valid")),
                         ("refused", summary.count("refused")), ("unreadable", summary.count("error")),
                         ("papers listed", summary.papers), ("people named", summary.people),
                         ("triples", summary.triples), ("warnings", summary.warnings)):
        table.add_row(label, str(value))
    out.print(table)


@app.command()
def ingest(paths: Annotated[list[Path], typer.Argument(help="Profile files or folders of *.txt files")],
           store: StoreOption = None, base_iri: BaseOption = None,
           batch_size: Annotated[int | None, typer.Option(
               help="Documents per transaction [default: 50; with --bulk 100]")] = None,
           workers: Annotated[int | None, typer.Option(
               help="Processes preparing documents; 0: one per CPU for 100+ documents [env KG_INGEST_WORKERS]")] = None,
           bulk: Annotated[bool | None, typer.Option(
               "--bulk/--no-bulk", help="Write new documents with the store's bulk loader: several times faster "
               "and flat in memory, but not atomic (the next ingest removes what an interrupted one left) "
               "[env KG_INGEST_BULK]")] = None) -> None:
    """Ingest profile documents into the store (each batch is one transaction unless --bulk)."""
    with _user_errors():
        if batch_size is not None and batch_size < 1:
            raise UsageError(f"--batch-size: expected a positive number, got {batch_size}")
        settings = _settings(store=store, base_iri=base_iri, ingest_workers=workers, ingest_bulk=bulk)
        pipeline = Pipeline(settings)
        with _open(settings) as kg_store:
            summary = _with_progress(
                paths, lambda tick: pipeline.ingest_paths(kg_store, paths, batch_size=batch_size, on_progress=tick))
            totals = store_stats(kg_store)
    if summary.interrupted_documents:
        err.print(f"removed {summary.interrupted_documents} half-written documents of an interrupted bulk ingest",
                  highlight=False)
    _print_summary(summary, "ingest")
    out.print("store now holds: " + ", ".join(f"{value} {label}" for label, value in totals.items()), highlight=False)
    raise typer.Exit(summary.exit_code)


@app.command()
def validate(paths: Annotated[list[Path], typer.Argument(help="Profile files or folders")],
             base_iri: BaseOption = None) -> None:
    """Check documents against the shapes without writing anything."""
    with _user_errors():
        pipeline = Pipeline(_settings(base_iri=base_iri))
        summary = _with_progress(paths, lambda tick: pipeline.validate_paths(paths, on_progress=tick))
    _print_summary(summary, "validation")
    raise typer.Exit(summary.exit_code)


def _query_text(query: str) -> str:
    if query.startswith("@"):
        path = Path(query[1:])
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"{path}: expected a readable UTF-8 query file ({error})") from None
    return query


@app.command()
def query(query: Annotated[str, typer.Argument(help="SPARQL text, or @file.rq")],
          store: StoreOption = None,
          format: Annotated[str, typer.Option(
              "--format", "-f", help="table|json|xml|csv|tsv|turtle|ntriples|nquads|trig|jsonld")] = "table",
          ) -> None:
    """Run a SPARQL query against the store (the default graph is the union of all graphs)."""
    from kg.query import run_query

    with _user_errors():
        settings = _settings(store=store)
        text = _query_text(query)
        with _open(settings, read_only=True) as kg_store:
            outcome = run_query(kg_store, text, accept="json" if format == "table" else format,
                                max_rows=settings.max_rows, service_allow=settings.service_allow,
                                service_timeout=settings.service_timeout)
            if format == "table":
                _print_table(b"".join(outcome.body), outcome.media_type)
            else:
                for chunk in outcome.body:
                    sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
        if outcome.truncated:
            err.print(f"warning: results truncated at {settings.max_rows} rows (KG_MAX_ROWS)", highlight=False)


@app.command()
def link(target: Annotated[str, typer.Option("--target", help="dblp|wikidata|semopenalex|scholarkg")],
         endpoint: Annotated[str | None, typer.Option(help="SPARQL endpoint URL of the other graph")] = None,
         dump: Annotated[Path | None, typer.Option(help="Dump of the other graph (.ttl .nt .nq .trig)")] = None,
         store: StoreOption = None,
         min_score: Annotated[float, typer.Option(help="Lowest score written as a link")] = 0.9,
         truth: Annotated[Path | None, typer.Option(help="Known matches (TSV): print precision and recall")] = None,
         ) -> None:
    """Link our papers (owl:sameAs) and people (skos:exactMatch) to another graph; replaces that target's links."""
    from kg.link import evaluate, link_store, read_truth
    from kg.vocab import IRIs

    with _user_errors():
        settings = _settings(store=store)
        known = read_truth(truth) if truth is not None else None
        with _open(settings) as kg_store:
            report = link_store(kg_store, IRIs(settings.base_iri), target, endpoint=endpoint, dump=dump,
                                min_score=min_score, timeout=settings.service_timeout)
    table = Table(title=f"links to {target}", show_header=False)
    for label, value in (("candidate papers", report.candidates), ("papers linked", report.count("paper")),
                         ("people linked", report.count("person")), ("below --min-score", len(report.near_misses))):
        table.add_row(label, str(value))
    if known is not None:
        for kind, (precision, recall) in evaluate(report.links, known).items():
            table.add_row(f"{kind} precision / recall", f"{precision:.2f} / {recall:.2f}")
    out.print(table)


def _print_table(body: bytes, media_type: str) -> None:
    if "json" not in media_type or "sparql-results" not in media_type:
        sys.stdout.buffer.write(body)  # a graph result: printed as Turtle
        return
    data = json.loads(body)
    if "boolean" in data:
        out.print("true" if data["boolean"] else "false")
        return
    names = data["head"]["vars"]
    table = Table(*names)
    for row in data["results"]["bindings"]:
        table.add_row(*(row.get(name, {}).get("value", "") for name in names))
    out.print(table)
    err.print(f"{len(data['results']['bindings'])} rows", highlight=False)


@app.command()
def export(format: Annotated[str, typer.Option("--format", "-f", help="turtle|jsonld|nquads|trig")] = "nquads",
           output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default stdout)")] = None,
           store: StoreOption = None,
           graph: Annotated[str | None, typer.Option(help="Only this named graph")] = None) -> None:
    """Export the whole graph (all named graphs for N-Quads/TriG; their merge for Turtle/JSON-LD)."""
    from kg.export import check_export_format, export_chunks

    with _user_errors():
        check_export_format(format)
        settings = _settings(store=store)
        with _open(settings, read_only=True) as kg_store:
            chunks = export_chunks(kg_store, format, graph=graph)
            if output is None:
                for chunk in chunks:
                    sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
            else:
                _write_atomically(output, chunks)


def _write_atomically(target: Path, chunks: Iterator[bytes]) -> None:
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        partial.replace(target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise UsageError(f"{target}: expected a writable file ({error.strerror})") from None


@app.command()
def stats(store: StoreOption = None) -> None:
    """Counts of documents, papers, people, triples and graphs in the store."""
    with _user_errors():
        settings = _settings(store=store)
        with _open(settings, read_only=True) as kg_store:
            figures = store_stats(kg_store)
    table = Table(title="store", show_header=False)
    for label, value in figures.items():
        table.add_row(label, str(value))
    out.print(table)


@app.command()
def serve(store: StoreOption = None, base_iri: BaseOption = None,
          host: Annotated[str | None, typer.Option(help="Address to bind [env KG_HOST]")] = None,
          port: Annotated[int | None, typer.Option(help="Port [env KG_PORT]")] = None) -> None:
    """Serve the SPARQL endpoint, the query UI and the linked-data pages (seeds are loaded into an empty store)."""
    from kg.server import run_server

    with _user_errors():
        settings = _settings(store=store, base_iri=base_iri, host=host, port=port)
        run_server(settings)


@app.command()
def backup(target: Annotated[Path, typer.Argument(help="Directory to create with a consistent copy")],
           store: StoreOption = None) -> None:
    """Copy the store to TARGET (a consistent snapshot, safe while the store is in use)."""
    with _user_errors():
        settings = _settings(store=store)
        if target.exists():
            raise UsageError(f"{target}: expected a path that does not exist yet")
        with _open(settings, read_only=True) as kg_store:
            kg_store.backup(target)
    out.print(f"backup written to {target}")


@app.command()
def restore(source: Annotated[Path, typer.Argument(help="A directory written by `kg backup`")],
            store: StoreOption = None) -> None:
    """Replace the store's content with a backup's."""
    from kg.store import restore_store

    with _user_errors():
        settings = _settings(store=store)
        restore_store(source, settings.store)
    out.print(f"store {settings.store} restored from {source}")
