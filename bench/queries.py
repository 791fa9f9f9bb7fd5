"""The HTTP benchmark's query mix: SPARQL templates, parameter pools drawn from the served data, and the
sequence of requests each client thread sends (the same sequence to every server)."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pyoxigraph

SKG = "https://w3id.org/scholarkg/ontology#"
BASE = "https://w3id.org/scholarkg/"
PREFIX = f"PREFIX skg: <{SKG}>\n"
SELECT_JSON = "application/sparql-results+json"
NTRIPLES = "application/n-triples"

Template = Callable[[tuple[str, ...]], str]


@dataclass(frozen=True)
class Kind:
    """One query of the mix: how to write it from a parameter tuple, and which pool the parameters come from."""

    name: str
    pool: str
    template: Template
    graph: bool = False  # CONSTRUCT/DESCRIBE (N-Triples) rather than SELECT (results JSON)
    page: bool = False  # an HTML page of kg serve, not SPARQL

    def accept(self) -> str:
        return "text/html" if self.page else NTRIPLES if self.graph else SELECT_JSON


def _t(text: str) -> Template:
    return lambda p: PREFIX + text.format(*p)


KINDS = (
    Kind("author_papers", "person", _t("SELECT ?paper ?title ?date WHERE {{ ?paper skg:hasAuthor <{0}> ; "
                                       "skg:title ?title ; skg:publicationDate ?date }} ORDER BY DESC(?date) ?paper")),
    Kind("coauthor_pairs", "person", _t(
        "SELECT ?a ?b (COUNT(DISTINCT ?paper) AS ?n) WHERE {{ ?paper skg:hasAuthor <{0}>, ?a, ?b "
        "FILTER(STR(?a) < STR(?b)) }} GROUP BY ?a ?b ORDER BY DESC(?n) ?a ?b LIMIT 100")),
    Kind("papers_per_category", "year", _t(
        "SELECT ?cat (COUNT(?paper) AS ?n) WHERE {{ ?paper skg:category ?cat ; skg:publicationDate ?date "
        "FILTER(YEAR(?date) = {0}) }} GROUP BY ?cat ORDER BY DESC(?n) ?cat")),
    Kind("title_contains", "word", _t(
        "SELECT ?paper ?title WHERE {{ ?paper skg:title ?title FILTER(CONTAINS(LCASE(?title), \"{0}\")) }} "
        "ORDER BY ?paper LIMIT 100")),
    Kind("title_regex", "word", _t(
        "SELECT ?paper ?title WHERE {{ ?paper skg:title ?title FILTER(REGEX(?title, \"^{0}\", \"i\")) }} "
        "ORDER BY ?paper LIMIT 100")),
    Kind("optional_order_limit", "category", _t(
        "SELECT ?paper ?title ?date ?repo WHERE {{ ?paper skg:category <{0}> ; skg:title ?title ; "
        "skg:publicationDate ?date OPTIONAL {{ ?paper skg:codeRepository ?repo }} }} "
        "ORDER BY DESC(?date) ?paper ?repo LIMIT 25")),
    Kind("group_having", "category_k", _t(
        "SELECT ?person (COUNT(DISTINCT ?paper) AS ?n) WHERE {{ ?paper skg:category <{0}> ; "
        "skg:hasAuthor ?person }} GROUP BY ?person HAVING (COUNT(DISTINCT ?paper) >= {1}) "
        "ORDER BY DESC(?n) ?person")),
    Kind("describe_paper", "paper", lambda p: f"DESCRIBE <{p[0]}>", graph=True),
    Kind("construct_author", "person", _t(
        "CONSTRUCT {{ ?paper skg:hasAuthor <{0}> ; skg:title ?title ; skg:publicationDate ?date ; "
        "skg:category ?cat }} WHERE {{ ?paper skg:hasAuthor <{0}> ; skg:title ?title ; "
        "skg:publicationDate ?date ; skg:category ?cat }}"), graph=True),
    Kind("author_page", "person", lambda p: "/" + p[0][len(BASE):], page=True),
)
LOOKUP = Kind("lookup_select", "paper", lambda p: f"SELECT ?p ?o WHERE {{ <{p[0]}> ?p ?o }}")
SPARQL_KINDS = tuple(k for k in KINDS if not k.page)

_POOL_QUERIES = {
    "person": "SELECT DISTINCT ?x WHERE { ?paper skg:hasAuthor ?x . ?x a skg:Person }",
    "paper": "SELECT ?x WHERE { ?x a skg:Paper }",
    "category": "SELECT DISTINCT ?x WHERE { ?paper skg:category ?x }",
    "year": "SELECT DISTINCT (YEAR(?d) AS ?x) WHERE { ?paper skg:publicationDate ?d }",
    "title": "SELECT ?x WHERE { ?paper skg:title ?x }",
}


def draw_pools(store_dir: Path, seed: int = 7, size: int = 4000) -> dict[str, list[tuple[str, ...]]]:
    """Parameter pools from the data (an Oxigraph store directory), shuffled with `seed`, at most `size` each."""
    store = pyoxigraph.Store.read_only(str(store_dir))
    rng = random.Random(seed)
    values = {name: sorted(str(row["x"].value) for row in store.query(PREFIX + text))  # type: ignore[union-attr]
              for name, text in _POOL_QUERIES.items()}
    counted = Counter(w.lower() for title in values.pop("title") for w in re.findall(r"[A-Za-z]{5,}", title))
    words = sorted(w for w, n in counted.items() if n >= 3)  # real title words, not the generated acronyms
    pools: dict[str, list[tuple[str, ...]]] = {
        "person": [(v,) for v in values["person"]], "paper": [(v,) for v in values["paper"]],
        "category": [(v,) for v in values["category"]], "year": [(v,) for v in values["year"]],
        "word": [(w,) for w in words],
        "category_k": [(c, str(k)) for c in values["category"] for k in (2, 3, 5)],
    }
    for name, pool in pools.items():
        rng.shuffle(pool)
        pools[name] = pool[:size]
    return pools


@dataclass(frozen=True)
class Request:
    kind: str
    path: str  # path and query string, relative to the server's base URL
    accept: str


def request_for(kind: Kind, params: tuple[str, ...], query_path: str) -> Request:
    if kind.page:
        return Request(kind.name, kind.template(params), kind.accept())
    return Request(kind.name, f"{query_path}?query={quote(kind.template(params), safe='')}", kind.accept())


def sequence(kinds: tuple[Kind, ...], pools: dict[str, list[tuple[str, ...]]], *, thread: int, start: int,
             varied: bool, query_path: str, length: int) -> list[Request]:
    """The requests one client thread sends, in order. Varied: the thread walks each pool from `start`
    (threads spread apart), so texts do not repeat until a pool runs out; repeated: the first parameter only."""
    out = []
    for i in range(length):
        kind = kinds[(i + thread) % len(kinds)]
        pool = pools[kind.pool]
        index = (start + thread * (len(pool) // 4 + 1) + i // len(kinds)) % len(pool) if varied else 0
        out.append(request_for(kind, pool[index], query_path))
    return out
