"""Link discovery: match our papers (title + year, identifiers) and people (name + shared papers) to another
scholarly graph, read over SPARQL or from a dump, and write scored owl:sameAs / skos:exactMatch links with
provenance into the links graph. Knows the other graphs only through the query patterns of TARGETS."""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS, XSD

from kg.errors import InputError, NotFound, UsageError
from kg.federation import new_client, post_query
from kg.store import EmbeddedStore, QueryResultsFormat, QuerySolutions, Store, parse_query_results
from kg.vocab import IRIs, digest, normalize_title

SSSOM = Namespace("https://w3id.org/sssom/")
SEMAPV = Namespace("https://w3id.org/semapv/vocab/")
BATCH = 100  # values per VALUES block
DUMP_SUFFIXES = {".ttl": "turtle", ".nt": "ntriples", ".nq": "nquads", ".trig": "trig"}  # never RDF/XML


@dataclass(frozen=True, slots=True)
class Target:
    """How another graph states papers, their authors and identifiers, as SPARQL patterns over ?paper."""

    name: str
    prefixes: str
    paper: str  # binds ?paper ?title and optionally ?date (a year, date or dateTime)
    author: str  # binds ?author ?name for ?paper
    ids: str  # binds ?kind ("doi", "arxiv", "skg") and ?id for ?paper
    language: str = ""  # language tag of titles and names ("en" for Wikidata labels)
    title_suffix: str = ""  # what the graph appends to titles (dblp ends them with a period)


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("dblp", "PREFIX dblp: <https://dblp.org/rdf/schema#>",
           "?paper a dblp:Publication ; dblp:title ?title . OPTIONAL { ?paper dblp:yearOfPublication ?date }",
           "?paper dblp:authoredBy ?author . ?author dblp:creatorName ?name",
           '?paper dblp:doi ?id BIND("doi" AS ?kind)', title_suffix="."),
    Target("wikidata", "PREFIX wd: <http://www.wikidata.org/entity/> "
           "PREFIX wdt: <http://www.wikidata.org/prop/direct/> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>",
           "?paper wdt:P31 wd:Q13442814 ; wdt:P1476 ?title . OPTIONAL { ?paper wdt:P577 ?date }",
           "?paper wdt:P50 ?author . ?author rdfs:label ?name",
           '{ ?paper wdt:P356 ?id BIND("doi" AS ?kind) } UNION { ?paper wdt:P818 ?id BIND("arxiv" AS ?kind) }',
           language="en"),
    Target("semopenalex", "PREFIX soa: <https://semopenalex.org/ontology/> PREFIX dcterms: <http://purl.org/dc/terms/> "
           "PREFIX fabio: <http://purl.org/spar/fabio/> PREFIX prism: <http://prismstandard.org/namespaces/basic/2.0/> "
           "PREFIX foaf: <http://xmlns.com/foaf/0.1/>",
           "?paper a soa:Work ; dcterms:title ?title . OPTIONAL { ?paper fabio:hasPublicationYear ?date }",
           "?paper dcterms:creator ?author . ?author foaf:name ?name",
           '?paper prism:doi ?id BIND("doi" AS ?kind)'),
    Target("scholarkg", "PREFIX skg: <https://w3id.org/scholarkg/ontology#>",
           "?paper a skg:Paper ; skg:title ?title . OPTIONAL { ?paper skg:publicationDate ?date }",
           "?paper skg:hasAuthor ?author . ?author a skg:Person ; skg:name ?name",
           'BIND(REPLACE(STR(?paper), "^.*/paper/", "") AS ?id) BIND("skg" AS ?kind)'),
)}
OURS = TARGETS["scholarkg"]


# ---------------------------------------------------------------------------------------------------- records


@dataclass
class Work:
    """A paper of either graph, with what matching compares."""

    iri: str
    title: str
    year: int | None
    authors: dict[str, str] = field(default_factory=dict)  # author IRI -> name
    ids: set[tuple[str, str]] = field(default_factory=set)  # (kind, normalised value)

    @property
    def key(self) -> str:
        return normalize_title(self.title)


@dataclass(frozen=True, slots=True)
class Link:
    """One found correspondence: `kind` is "paper" (owl:sameAs) or "person" (skos:exactMatch)."""

    kind: str
    ours: str
    theirs: str
    score: float
    method: str


@dataclass
class LinkReport:
    """What a run found: the links written, and the candidates scored below the threshold (near-misses)."""

    target: str
    source: str
    links: list[Link] = field(default_factory=list)
    near_misses: list[Link] = field(default_factory=list)
    candidates: int = 0

    def count(self, kind: str) -> int:
        return sum(1 for link in self.links if link.kind == kind)


# ---------------------------------------------------------------------------------------------------- sources

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


# ---------------------------------------------------------------------------------------------------- matching


_DIGRAPHS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def name_keys(name: str) -> list[tuple[str, ...]]:
    """Tokens of a name, case- and accent-folded, in two spellings (ö as o, and as oe); dblp's homonym numbers
    ("Shuang Li 0006") and punctuation dropped."""
    text = re.sub(r"\s+\d{4}$", "", name.strip())
    spelled = text.translate(_DIGRAPHS)
    keys = []
    for variant in (text, spelled):
        plain = "".join(c for c in unicodedata.normalize("NFKD", variant) if not unicodedata.combining(c))
        keys.append(tuple(re.findall(r"[^\W\d_]+", plain.casefold())))
    return keys


def name_score(a: str, b: str) -> float:
    """1.0 for the same name; 0.9 for a variant (same family name, given names compatible: one list is a
    subsequence of the other, an initial standing for a name); else 0."""
    keys_a, keys_b = name_keys(a), name_keys(b)
    if any(x == y and x for x in keys_a for y in keys_b):
        return 1.0
    return 0.9 if any(_variant(x, y) for x in keys_a for y in keys_b) else 0.0


def _variant(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if len(a) < 2 or len(b) < 2 or a[-1] != b[-1]:
        return False
    short, long = sorted((a[:-1], b[:-1]), key=len)
    remaining = iter(long)
    return all(any(_compatible(token, other) for other in remaining) for token in short)


def _compatible(a: str, b: str) -> bool:
    return a == b or (min(len(a), len(b)) == 1 and a[0] == b[0])


def paper_score(ours: Work, theirs: Work) -> tuple[float, str]:
    """1.0 for a shared identifier; else title similarity (≥ 0.95 on normalised titles) if the years agree;
    a year apart (preprint and proceedings) 0.92 × similarity with a shared author name, 0.75 × without."""
    if ours.ids & theirs.ids:
        return 1.0, "shared identifier"
    similarity = 1.0 if ours.key == theirs.key else difflib.SequenceMatcher(None, ours.key, theirs.key).ratio()
    if similarity < 0.95 or ours.year is None or theirs.year is None:
        return 0.0, ""
    gap = abs(ours.year - theirs.year)
    if gap == 0:
        return similarity, "normalised title + year"
    if gap == 1:
        shared = any(name_score(a, b) for a in ours.authors.values() for b in theirs.authors.values())
        return similarity * (0.92 if shared else 0.75), "normalised title + adjacent year" + (
            " + shared author" if shared else "")
    return 0.0, ""


def match_papers(ours: list[Work], theirs: list[Work], min_score: float) -> tuple[list[Link], list[Link]]:
    """One-to-one links, best scores first; and the pairs scored above 0 but below `min_score`."""
    index = _Index(theirs)
    scored = []
    for work in ours:
        for other in index.candidates(work):
            score, method = paper_score(work, other)
            if score > 0:
                scored.append(Link("paper", work.iri, other.iri, round(score, 3), method))
    scored.sort(key=lambda link: (-link.score, link.ours, link.theirs))
    links: list[Link] = []
    used: set[str] = set()
    for link in scored:
        if link.score >= min_score and link.ours not in used and link.theirs not in used:
            links.append(link)
            used.update((link.ours, link.theirs))
    return links, [link for link in scored if link.score < min_score]


class _Index:
    """Blocks of candidate papers: the same normalised title, or the same first or last three words."""

    def __init__(self, works: list[Work]) -> None:
        self.blocks: dict[tuple[str, ...], list[Work]] = defaultdict(list)
        for work in works:
            for key in self._keys(work):
                self.blocks[key].append(work)
        self.by_id: dict[tuple[str, str], list[Work]] = defaultdict(list)
        for work in works:
            for identifier in work.ids:
                self.by_id[identifier].append(work)

    @staticmethod
    def _keys(work: Work) -> list[tuple[str, ...]]:
        words = tuple(work.key.split())
        return [("=", *words), ("<", *words[:3]), (">", *words[-3:])]

    def candidates(self, work: Work) -> list[Work]:
        found = {id(w): w for key in self._keys(work) for w in self.blocks.get(key, ())}
        found.update({id(w): w for identifier in work.ids for w in self.by_id.get(identifier, ())})
        return list(found.values())


def match_people(ours: list[Work], theirs: list[Work], papers: list[Link],
                 min_score: float) -> tuple[list[Link], list[Link]]:
    """Authors of linked papers with compatible names: 0.95 for the same name (1.0 with two shared papers or
    more), 0.9 for a variant (0.95 with two or more); each of our people gets their best match."""
    mine, other = {w.iri: w for w in ours}, {w.iri: w for w in theirs}
    shared: dict[tuple[str, str], list[float]] = defaultdict(list)
    for link in papers:
        for a, name_a in mine[link.ours].authors.items():
            for b, name_b in other[link.theirs].authors.items():
                if score := name_score(name_a, name_b):
                    shared[(a, b)].append(score)
    best: dict[str, Link] = {}
    for (a, b), scores in sorted(shared.items()):
        score = (0.95 if max(scores) == 1.0 else 0.9) + (0.05 if len(scores) > 1 else 0.0)
        method = f"name {'equal' if max(scores) == 1.0 else 'variant'} + {len(scores)} shared paper(s)"
        link = Link("person", a, b, score, method)
        if a not in best or (link.score, -len(link.theirs)) > (best[a].score, -len(best[a].theirs)):
            best[a] = link
    chosen = sorted(best.values(), key=lambda link: (link.ours, link.theirs))
    return [x for x in chosen if x.score >= min_score], [x for x in chosen if x.score < min_score]


# ---------------------------------------------------------------------------------------------------- writing


def discover(store: Store, target: str, select: Select, *, min_score: float = 0.9, exhaustive: bool = False,
             source: str = "") -> LinkReport:
    """Match our papers and people against the graph behind `select` (`exhaustive`: read all its papers, as
    for a dump; else look up candidates by title and author name)."""
    profile = _target(target)
    ours = read_ours(store)
    theirs = read_works(select, profile, None if exhaustive else ours)
    papers, paper_misses = match_papers(ours, theirs, min_score)
    people, people_misses = match_people(ours, theirs, papers, min_score)
    return LinkReport(target, source, papers + people, paper_misses + people_misses, len(theirs))


def link_store(store: Store, iris: IRIs, target: str, *, endpoint: str | None = None, dump: Path | None = None,
               min_score: float = 0.9, timeout: float = 10.0, now: dt.datetime | None = None) -> LinkReport:
    """`kg link`: discover links against an endpoint or a dump (exactly one) and write them; the report."""
    _target(target)
    if not 0 < min_score <= 1:
        raise UsageError(f"--min-score: expected a number in (0, 1], got {min_score}")
    select, exhaustive, source = _source(endpoint, dump, timeout)
    with select:
        report = discover(store, target, select, min_score=min_score, exhaustive=exhaustive, source=source)
    write_links(store, iris, report, now=now)
    return report


def _source(endpoint: str | None, dump: Path | None, timeout: float) -> tuple[Source, bool, str]:
    if dump is not None and endpoint is None:
        return dump_source(dump), True, f"{dump.name} (sha256 {digest_file(dump)[:16]})"
    if endpoint is not None and dump is None:
        return endpoint_source(endpoint, timeout), False, endpoint
    raise UsageError("kg link: expected exactly one of --endpoint URL and --dump FILE")


def digest_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_links(store: Store, iris: IRIs, report: LinkReport, *, now: dt.datetime | None = None) -> int:
    """Replace this target's links in the links graph (other targets' stay) in one transaction; the triple count."""
    graph_iri = str(iris.links_graph())
    kept = _without_target(_current(store, graph_iri), iris, report.target)
    for triple in link_triples(iris, report, now or dt.datetime.now(dt.UTC)):
        kept.add(triple)
    store.replace_graphs([graph_iri], [(graph_iri, kept.serialize(format="nt", encoding="utf-8"))])
    return len(kept)


def link_triples(iris: IRIs, report: LinkReport, now: dt.datetime) -> Iterator[tuple[Any, Any, Any]]:
    """Each link as a direct triple, plus an owl:Axiom annotating it (SSSOM confidence and justification,
    PROV activity); node IRIs are digests of the link, so a re-run rewrites the same nodes."""
    base = _target_base(iris, report.target)
    activity = URIRef(base + "activity")
    yield activity, RDF.type, PROV.Activity
    yield activity, RDFS.label, Literal(f"kg link --target {report.target}")
    yield activity, PROV.endedAtTime, Literal(now.replace(microsecond=0), datatype=XSD.dateTime)
    yield activity, DCTERMS.source, Literal(report.source or report.target)
    for link in report.links:
        ours, theirs = URIRef(link.ours), URIRef(link.theirs)
        predicate = OWL.sameAs if link.kind == "paper" else SKOS.exactMatch
        node = URIRef(base + digest(f"{link.ours} {predicate} {link.theirs}")[:16])
        yield ours, predicate, theirs
        yield from ((node, RDF.type, OWL.Axiom), (node, OWL.annotatedSource, ours),
                    (node, OWL.annotatedProperty, predicate), (node, OWL.annotatedTarget, theirs),
                    (node, SSSOM.confidence, Literal(Decimal(f"{link.score:.3f}"))),
                    (node, SSSOM.mapping_justification, SEMAPV.LexicalMatching if link.kind == "paper"
                     else SEMAPV.StructuralMatching),
                    (node, SSSOM.similarity_measure, Literal(link.method)), (node, PROV.wasGeneratedBy, activity))


def _target_base(iris: IRIs, target: str) -> str:
    return f"{iris.base}link/{target}/"


def _current(store: Store, graph_iri: str) -> Graph:
    graph = Graph()
    with contextlib.suppress(NotFound):
        graph.parse(data=store.graph_ntriples(graph_iri), format="nt")
    return graph


def _without_target(graph: Graph, iris: IRIs, target: str) -> Graph:
    base = _target_base(iris, target)
    nodes = {s for s in graph.subjects() if isinstance(s, URIRef) and str(s).startswith(base)}
    for node in nodes:
        if (node, RDF.type, OWL.Axiom) in graph:
            statement = tuple(graph.value(node, p) for p in (OWL.annotatedSource, OWL.annotatedProperty,
                                                              OWL.annotatedTarget))
            graph.remove(statement)  # type: ignore[arg-type]
        graph.remove((node, None, None))
    return graph


def _target(name: str) -> Target:
    if name not in TARGETS:
        raise UsageError(f"--target {name!r}: expected one of {', '.join(TARGETS)}")
    return TARGETS[name]


# ---------------------------------------------------------------------------------------------------- evaluation


def read_truth(path: Path) -> set[tuple[str, str, str]]:
    """Known matches: lines `paper|person <TAB> our IRI <TAB> their IRI`; `#` starts a comment."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: expected a readable UTF-8 file ({error})") from None
    truth = set()
    for number, line in enumerate(lines, 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 3 or fields[0] not in ("paper", "person"):
            raise InputError(f"{path}:{number}: expected 'paper|person <our IRI> <their IRI>', got {line!r}")
        truth.add((fields[0], fields[1], fields[2]))
    return truth


def evaluate(links: Iterable[Link], truth: set[tuple[str, str, str]]) -> dict[str, tuple[float, float]]:
    """Precision and recall of the links against the known matches, per kind (paper, person)."""
    found = {(link.kind, link.ours, link.theirs) for link in links}
    result = {}
    for kind in ("paper", "person"):
        mine, known = {x for x in found if x[0] == kind}, {x for x in truth if x[0] == kind}
        hits = len(mine & known)
        result[kind] = (hits / len(mine) if mine else 1.0, hits / len(known) if known else 1.0)
    return result
