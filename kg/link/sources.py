"""Reading other graphs: SELECT rows from a SPARQL endpoint, a dump file or our store, and the papers (with
authors and identifiers) read from them through a target's query patterns."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from rdflib import Literal

from kg.errors import InputError, UsageError
from kg.federation import new_client, post_query
from kg.link.targets import OURS, Target, Work
from kg.store import EmbeddedStore, QueryResultsFormat, QuerySolutions, Store, parse_query_results

BATCH = 100  # values per VALUES block
DUMP_SUFFIXES = {".ttl": "turtle", ".nt": "ntriples", ".nq": "nquads", ".trig": "trig"}  # never RDF/XML

Select = Callable[[str], list[dict[str, str]]]  # query text -> rows of {variable: lexical value}


class Source:
    """Rows of SELECT queries over another graph (a callable Select); a context manager that releases it."""

    def __init__(self, run: Callable[[str], object], close: Callable[[], None]) -> None:
        self._run, self._close = run, close

    def __call__(self, query: str) -> list[dict[str, str]]:
        return _rows(self._run(query))

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()


def endpoint_source(url: str, timeout: float) -> Source:
    """Rows from a SPARQL endpoint (redirects are not followed; `timeout` seconds per call)."""
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--endpoint: expected an http(s) URL, got {url!r}")
    client = new_client(timeout)

    def run(query: str) -> object:
        body = post_query(client, url, query, timeout, where=f"endpoint <{url}>")
        return parse_query_results(body, QueryResultsFormat.JSON)

    return Source(run, client.close)


def dump_source(path: Path) -> Source:
    """Rows from a dump file loaded into an in-memory store (Turtle, N-Triples, N-Quads or TriG; not RDF/XML)."""
    kind = DUMP_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UsageError(f"{path}: expected a dump ending in {', '.join(DUMP_SUFFIXES)}; RDF/XML is not accepted")
    if not path.is_file():
        raise InputError(f"{path}: no such dump file")
    memory = EmbeddedStore(None, merged_default=False)  # queries see every graph of the dump, its default one too
    memory.load(path, kind)
    return Source(memory.query, memory.close)


def store_source(store: Store) -> Source:
    return Source(store.query, lambda: None)


def _rows(solutions: object) -> list[dict[str, str]]:
    if not isinstance(solutions, QuerySolutions):
        raise InputError("expected SELECT solutions from the other graph")
    names = [v.value for v in solutions.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in solutions]


# ---------------------------------------------------------------------------------------------------- reading


def read_works(select: Select, target: Target, seeds: Iterable[Work] | None) -> list[Work]:
    """The target's papers with authors and identifiers. With `seeds` (our papers), only candidates found by their
    titles as the target writes them or by their authors' names (exact values: indexed lookups on big endpoints);
    without, every paper (for dumps)."""
    found: dict[str, Work] = {}
    head = f"{target.prefixes} SELECT DISTINCT ?paper ?title ?date WHERE"
    if seeds is None:
        _add_works(found, select(f"{head} {{ {target.paper} }}"))
    else:
        ours = list(seeds)
        titles = sorted({_literal(w.title + s, target.language) for w in ours for s in {"", target.title_suffix}})
        names = sorted({_literal(n, target.language) for w in ours for n in w.authors.values()})
        for block in _values("title", titles):
            _add_works(found, select(f"{head} {{ {block} {target.paper} }}"))
        for block in _values("name", names):
            _add_works(found, select(f"{head} {{ {block} {target.author} . {target.paper} }}"))
    _add_details(select, target, found, everything=seeds is None)
    return sorted(found.values(), key=lambda w: w.iri)


def _add_works(found: dict[str, Work], rows: list[dict[str, str]]) -> None:
    for row in rows:
        work = found.setdefault(row["paper"], Work(row["paper"], row["title"], _year(row.get("date"))))
        work.year = work.year or _year(row.get("date"))


def _add_details(select: Select, target: Target, found: dict[str, Work], everything: bool) -> None:
    """Authors and identifiers: of every paper at once (`everything`), else by VALUES batches of papers."""
    blocks = [f"{{ {target.paper} }}"] if everything else _values("paper", [f"<{iri}>" for iri in sorted(found)])
    for block in blocks:
        for row in select(f"{target.prefixes} SELECT ?paper ?author ?name WHERE {{ {block} {target.author} }}"):
            if row.get("paper") in found:
                found[row["paper"]].authors.setdefault(row["author"], row["name"])
        for row in select(f"{target.prefixes} SELECT ?paper ?kind ?id WHERE {{ {block} {target.ids} }}"):
            if row.get("paper") in found:
                found[row["paper"]].ids.add((row["kind"], _identifier(row["kind"], row["id"])))


def read_ours(store: Store) -> list[Work]:
    """Our papers, with their persons and identifiers (the IRI's key; DOI and arXiv ids of URLs they mention)."""
    select = store_source(store)
    works = read_works(select, OURS, None)
    by_iri = {w.iri: w for w in works}
    urls = "PREFIX skg: <https://w3id.org/scholarkg/ontology#> SELECT ?paper ?url WHERE { ?paper skg:mentionsURL ?url }"
    for row in select(urls):
        if row["paper"] in by_iri:
            by_iri[row["paper"]].ids.update(_ids_in_url(row["url"]))
    return works


def _values(name: str, terms: Sequence[str]) -> list[str]:
    return [f"VALUES ?{name} {{ {' '.join(terms[i:i + BATCH])} }}" for i in range(0, len(terms), BATCH)]


def _literal(text: str, language: str) -> str:
    return Literal(text, lang=language or None).n3()


def _year(value: str | None) -> int | None:
    match = re.match(r"\s*(\d{4})", value or "")
    return int(match.group(1)) if match else None


def _identifier(kind: str, value: str) -> str:
    text = value.strip().lower()
    if kind == "doi":
        return re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", text)
    if kind == "arxiv":
        return re.sub(r"v\d+$", "", text.removeprefix("arxiv:"))
    return text


def _ids_in_url(url: str) -> set[tuple[str, str]]:
    doi = re.match(r"https?://(?:dx\.)?doi\.org/(10\.\S+)", url, re.IGNORECASE)
    arxiv = re.match(r"https?://arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", url, re.IGNORECASE)
    found = {("doi", _identifier("doi", doi.group(1)))} if doi else set()
    return found | ({("arxiv", arxiv.group(1))} if arxiv else set())
