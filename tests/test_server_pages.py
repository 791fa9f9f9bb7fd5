"""The linked-data site on a real uvicorn: every kind of entity IRI dereferences (303 to HTML, Turtle, JSON-LD,
N-Triples, RDF/XML documents that agree), listings, the author and paper pages, 404/406, security headers.

The main server runs with KG_BASE_IRI set to its own URL over the seeds plus tests/data/pages; the shared `server`
fixture (tests/conftest.py: the default base https://w3id.org/scholarkg/) checks that paths resolve on another host.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from conftest import LiveServer
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic

from kg.config import Settings
from kg.ingest import Pipeline
from kg.server import create_app
from kg.server.examples import examples
from kg.store import open_store

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parent / "data" / "pages"
SKG = "https://w3id.org/scholarkg/ontology#"
RDF_ACCEPT = {"turtle": ("text/turtle", "ttl", "turtle"), "jsonld": ("application/ld+json", "jsonld", "json-ld"),
              "ntriples": ("application/n-triples", "nt", "nt"), "rdfxml": ("application/rdf+xml", "rdf", "xml")}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
ZOE = "person/" + quote("zoë-ångström", safe="-")


@dataclass
class Site:
    """A live server whose base IRI is its own URL, and an HTTP client on it (redirects not followed)."""

    url: str
    client: httpx.Client
    findings: dict[str, list[str]]  # document file name -> the Warning and Info messages of its ingest report

    def iri(self, path: str) -> str:
        return self.url + path

    def get(self, path: str, accept: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Accept": accept} if accept else {}
        return self.client.get(self.url + path.lstrip("/"), headers=headers, **kwargs)

    def follow(self, path: str, accept: str) -> httpx.Response:
        """GET the entity IRI, check the 303, GET its Location."""
        first = self.get(path, accept)
        assert first.status_code == 303, (path, first.status_code, first.text)
        assert first.headers["vary"] == "Accept"
        return self.get(first.headers["location"], accept)


def _serve_with_own_base() -> tuple[LiveServer, dict[str, list[str]]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    settings = Settings(base_iri=url, store="memory:", host="127.0.0.1", port=port)
    store = open_store("memory:")
    summary = Pipeline(settings).ingest_paths(store, [settings.seeds_path, DATA])
    assert summary.count("ingested") == 3, [o.error for o in summary.outcomes]
    findings = {Path(o.source).name: [f.message for f in o.report.findings] for o in summary.outcomes if o.report}
    app = create_app(store, settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", access_log=False,
                                           timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    return LiveServer(url, store, settings, app, server, thread), findings


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    live, findings = _serve_with_own_base()
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        yield Site(live.url, client, findings)
    live.stop()


def _select(site: Site, query: str) -> list[dict[str, str]]:
    response = site.get("sparql", "application/sparql-results+json", params={"query": query})
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in row.items()} for row in response.json()["results"]["bindings"]]


def _paper(site: Site, title_start: str) -> str:
    rows = _select(site, f'PREFIX skg: <{SKG}> SELECT DISTINCT ?p WHERE {{ ?p skg:title ?t '
                         f'FILTER(STRSTARTS(?t, "{title_start}")) }}')
    assert len(rows) == 1, rows
    return rows[0]["p"].removeprefix(site.url)


def _entity_links(page: _Page, kind: str) -> list[str]:
    """Links to entities of `kind` (not the listing, not its pager), in page order."""
    return [h for h, _ in page.links if h.startswith(f"/{kind}/") and h != f"/{kind}/" and "?" not in h]


def _parse(response: httpx.Response, fmt: str) -> Graph:
    graph = Graph()
    graph.parse(data=response.content, format=fmt)
    return graph


class _Page(HTMLParser):
    """Links (href), scripts (attributes and text) and the text of one page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self.text: list[str] = []
        self._href: str | None = None
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in attributes:
            self._href = attributes["href"]
            self.links.append((self._href, ""))
        if tag == "script":
            self._in_script = True
            self.scripts.append((attributes, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._href = None
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
            return
        self.text.append(data)
        if self._href is not None:
            self.links[-1] = (self._href, self.links[-1][1] + data)

    def data(self, block_id: str) -> Any:
        for attrs, text in self.scripts:
            if attrs.get("id") == block_id:
                return json.loads(text)
        raise AssertionError(f"no JSON block #{block_id}")

    def hrefs_of(self, label: str) -> set[str]:
        return {href for href, text in self.links if text.strip() == label}


# ------------------------------------------------------------------------------------------- dereferencing

def _entity_paths(site: Site) -> dict[str, str]:
    paper = _paper(site, "ALMA: Hierarchical")
    return {
        "person": "person/shariq-iqbal", "person (non-ASCII)": ZOE, "team": "team/gemini-team",
        "organization": "org/deepmind", "paper": paper, "authorship": paper + "/author/2",
        "category": "category/cs.LG", "unmapped category": "category/XYZ", "category scheme": "category/scheme",
        "snapshot": "snapshot/000-88a5c554b0bac8dd", "metric": "snapshot/000-88a5c554b0bac8dd/metric/hIndex",
        "graph": "graph/000-88a5c554b0bac8dd", "inferred graph": "graph/000-88a5c554b0bac8dd/inferred",
        "provenance graph": "graph/000-88a5c554b0bac8dd/provenance",
    }


KINDS = ("person", "person (non-ASCII)", "team", "organization", "paper", "authorship", "category",
         "unmapped category", "category scheme", "snapshot", "metric", "graph", "inferred graph", "provenance graph")


@pytest.mark.parametrize("kind", KINDS)
def test_every_entity_kind_dereferences_to_documents_that_agree(site: Site, kind: str) -> None:
    path = _entity_paths(site)[kind]
    graphs = {}
    for name, (media_type, ext, rdflib_format) in RDF_ACCEPT.items():
        first = site.get(path, media_type)
        assert first.status_code == 303 and first.headers["location"] == f"/doc/{path}.{ext}", name
        response = site.get(first.headers["location"])
        assert response.status_code == 200, (name, response.text)
        assert response.headers["content-type"].split(";")[0] == media_type
        graphs[name] = _parse(response, rdflib_format)
        assert len(graphs[name]) > 0, name
    assert isomorphic(graphs["turtle"], graphs["jsonld"])
    assert isomorphic(graphs["turtle"], graphs["ntriples"])
    assert isomorphic(graphs["turtle"], graphs["rdfxml"])
    page = site.follow(path, BROWSER_ACCEPT)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    links = dict(_Page(page.text).links)
    assert {f"/doc/{path}.ttl", f"/doc/{path}.jsonld", f"/doc/{path}.nt"} <= set(links)


@pytest.mark.parametrize("kind", ["person", "paper", "authorship", "category", "snapshot", "metric"])
def test_the_description_states_what_the_entity_is_and_says(site: Site, kind: str) -> None:
    path = _entity_paths(site)[kind]
    graph = _parse(site.follow(path, "text/turtle"), "turtle")
    subject = URIRef(site.iri(path))
    assert (subject, URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), None) in graph
    assert len(set(graph.predicate_objects(subject))) >= 3


def test_a_paper_description_carries_its_byline_slots(site: Site) -> None:
    path = _paper(site, "ALMA: Hierarchical")
    graph = _parse(site.follow(path, "application/n-triples"), "nt")
    slots = set(graph.objects(URIRef(site.iri(path)), URIRef(SKG + "hasAuthorship")))
    assert len(slots) == 3
    ordinals = sorted(int(o) for slot in slots for o in graph.objects(slot, URIRef(SKG + "ordinal")))
    assert ordinals == [1, 2, 3]


def test_a_person_description_includes_what_points_at_them(site: Site) -> None:
    graph = _parse(site.follow("person/fei-sha", "text/turtle"), "turtle")
    authored = set(graph.subjects(URIRef(SKG + "hasAuthor"), URIRef(site.iri("person/fei-sha"))))
    assert len(authored) == 5


def test_a_graph_iri_is_described_by_its_contents(site: Site) -> None:
    graph = _parse(site.follow("graph/000-88a5c554b0bac8dd/provenance", "text/turtle"), "turtle")
    snapshot = URIRef(site.iri("snapshot/000-88a5c554b0bac8dd"))
    assert (snapshot, URIRef(SKG + "fileName"), None) in graph
    assert len(graph) == 5
    page = site.follow("graph/000-88a5c554b0bac8dd", BROWSER_ACCEPT)
    assert "This IRI names a graph of" in page.text


def test_the_generic_document_negotiates_and_names_its_content_location(site: Site) -> None:
    for accept, ext in (("text/turtle", "ttl"), ("application/ld+json", "jsonld"), (BROWSER_ACCEPT, "html")):
        response = site.get("doc/team/gemini-team", accept)
        assert response.status_code == 200
        assert response.headers["content-location"] == f"/doc/team/gemini-team.{ext}"
        assert "Accept" in response.headers["vary"]
        assert response.headers["link"] == f'<{site.iri("team/gemini-team")}>; rel="describes"'


def test_format_parameter_overrides_accept(site: Site) -> None:
    first = site.get("person/shariq-iqbal", BROWSER_ACCEPT, params={"format": "ttl"})
    assert first.headers["location"] == "/doc/person/shariq-iqbal.ttl"
    response = site.get("doc/person/shariq-iqbal", BROWSER_ACCEPT, params={"format": "jsonld"})
    assert response.headers["content-type"].startswith("application/ld+json")


def test_clients_without_preference_get_html_and_q_values_count(site: Site) -> None:
    assert site.get("person/fei-sha").headers["location"].endswith(".html")
    assert site.get("person/fei-sha", "*/*").headers["location"].endswith(".html")
    assert site.get("person/fei-sha", "text/html;q=0.5, text/turtle").headers["location"].endswith(".ttl")
    assert site.get("person/fei-sha", "application/*").headers["location"].endswith(".jsonld")
    assert site.get("person/fei-sha", "application/json").headers["location"].endswith(".jsonld")
    plain_json = site.get("doc/person/fei-sha", "application/json")
    assert plain_json.headers["content-type"] == "application/json" and plain_json.json()["@context"]


def test_no_acceptable_representation_is_406(site: Site) -> None:
    assert site.get("person/fei-sha", "image/png").status_code == 406
    assert site.get("doc/person/fei-sha", "image/png").status_code == 406
    assert site.get("person/fei-sha", params={"format": "docx"}).status_code == 406


@pytest.mark.parametrize("path", ["person/nobody", "paper/0000000000000000", "doc/person/nobody.ttl",
                                  "doc/org/nowhere", "category/cs.XX", "graph/nothing", "person/a%20b",
                                  "snapshot/000-88a5c554b0bac8dd/metric/nothing"])
def test_an_iri_with_no_statement_is_404(site: Site, path: str) -> None:
    response = site.get(path, "text/turtle")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")
    page = site.get(path, BROWSER_ACCEPT)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")


def test_head_answers_like_get_without_a_body(site: Site) -> None:
    response = site.client.head(site.url + "person/fei-sha", headers={"Accept": "text/turtle"})
    assert response.status_code == 303 and response.headers["location"] == "/doc/person/fei-sha.ttl"
    document = site.client.head(site.url + "doc/person/fei-sha.ttl")
    assert document.status_code == 200 and document.content == b""


def test_percent_encoded_iris_resolve_either_way(site: Site) -> None:
    graph = _parse(site.follow(ZOE, "text/turtle"), "turtle")
    assert (URIRef(site.iri(ZOE)), URIRef(SKG + "name"), None) in graph
    lower = ZOE.replace("%C3%AB", "%c3%ab")
    assert site.get(lower, "text/turtle").status_code == 303


def test_a_base_iri_on_another_host_resolves_by_path(server: LiveServer) -> None:
    base = "https://w3id.org/scholarkg/"
    assert server.settings.base_iri == base
    first = server.get("person/shariq-iqbal", headers={"Accept": "text/turtle"})
    assert first.status_code == 303 and first.headers["location"] == "/doc/person/shariq-iqbal.ttl"
    graph = Graph().parse(data=server.get(first.headers["location"]).content, format="turtle")
    assert (URIRef(base + "person/shariq-iqbal"), URIRef(SKG + "name"), None) in graph
    page = _Page(server.get("doc/person/shariq-iqbal.html").text)
    hrefs = {href for href, _ in page.links}
    assert "/category/cs.LG" in hrefs and "/ontology#hIndex" in hrefs
    assert len(set(_entity_links(page, "paper"))) == 15
    assert not [h for h in hrefs if h.startswith(base)]
    nodes = {node["id"]: node["href"] for node in page.data("coauthor-network")["nodes"]}
    assert nodes[base + "person/fei-sha"] == "/person/fei-sha"


# ------------------------------------------------------------------------------------------- pages

def test_the_author_page_lists_the_papers_with_charts_network_metrics_and_findings(site: Site) -> None:
    page = site.follow("person/shariq-iqbal", BROWSER_ACCEPT)
    parsed = _Page(page.text)
    assert len(set(_entity_links(parsed, "paper"))) == 15
    years = parsed.data("chart-papers-by-year")
    assert sum(int(v) for v in years["values"]) == 15 and years["labels"][0] == "2017"
    categories = parsed.data("chart-categories")
    assert dict(zip(categories["labels"], map(int, categories["values"]), strict=True))["cs.LG"] == 9
    network = parsed.data("coauthor-network")
    nodes = {node["id"]: node for node in network["nodes"]}
    assert nodes[site.iri("person/fei-sha")]["href"] == "/person/fei-sha"
    assert nodes[site.iri("person/fei-sha")]["value"] == 5
    assert nodes[site.iri("team/gemini-team")]["group"] == "team"
    assert len(nodes) <= 41 and all(e["from"] in nodes and e["to"] in nodes for e in network["edges"])
    text = " ".join(parsed.text)
    assert "h-index 117 is greater than the number of papers 15" in text
    assert "2026" in text or re.search(r"\d{4}-\d{2}-\d{2}T", text)
    assert parsed.hrefs_of("h-index") == {"/ontology#hIndex"}
    assert parsed.hrefs_of("Turtle") == {"/doc/person/shariq-iqbal.ttl"}
    assert parsed.hrefs_of("JSON-LD") == {"/doc/person/shariq-iqbal.jsonld"}


@pytest.mark.parametrize(("person", "document"), [("shariq-iqbal", "000_88a5c554b0bac8dd.txt"),
                                                  ("igor-mordatch", "004_7f9c7e5bf4acffa9.txt"),
                                                  (ZOE, "zoe_angstrom.txt")])
def test_the_author_page_shows_the_findings_of_the_ingest_report(site: Site, person: str, document: str) -> None:
    page = site.follow(person if "/" in person else f"person/{person}", BROWSER_ACCEPT).text
    section = page[page.index("<h2>Data quality</h2>"):]
    shown = [" ".join(_Page(item).text).split(" — on")[0].strip()
             for item in re.findall(r'<li class="finding[^"]*">(.*?)</li>', section, re.S)]
    expected = site.findings[document]
    assert bool(expected) == ("No findings." not in section)
    assert sorted(text.split(" ", 1)[1].replace("\n", " ").strip() for text in shown) == sorted(expected)


def test_fei_sha_is_one_person_node_wherever_named(site: Site) -> None:
    targets = set()
    for title in ("ALMA: Hierarchical", "Possibility Before Utility", "Actor-Attention-Critic"):
        page = _Page(site.follow(_paper(site, title), BROWSER_ACCEPT).text)
        targets |= page.hrefs_of("Fei Sha")
    assert targets == {"/person/fei-sha"}
    page = _Page(site.follow("person/fei-sha", BROWSER_ACCEPT).text)
    assert len(set(_entity_links(page, "paper"))) == 5


def _byline(html: str) -> str:
    start = html.index('<p class="byline">')
    return html[start:html.index("</p>", start)]


def test_a_cut_byline_is_shown_in_order_with_et_al(site: Site) -> None:
    html = site.follow(_paper(site, "Training Language Models to Self-Correct"), BROWSER_ACCEPT).text
    byline = _byline(html)
    assert byline.index("Aviral Kumar") < byline.index("Vincent Zhuang") < byline.index("Rishabh Agarwal")
    assert byline.rstrip().endswith("</span>") and "et al." in byline
    full = _byline(site.follow(_paper(site, "ALMA: Hierarchical"), BROWSER_ACCEPT).text)
    assert full.index("Shariq Iqbal") < full.index("Robby Costales") < full.index("Fei Sha")
    assert "et al." not in full


def test_the_gemini_paper_page_lists_both_profiles(site: Site) -> None:
    page = _Page(site.follow(_paper(site, "Gemini 1.5: Unlocking"), BROWSER_ACCEPT).text)
    hrefs = {href for href, _ in page.links}
    assert {"/snapshot/000-88a5c554b0bac8dd", "/snapshot/004-7f9c7e5bf4acffa9"} <= hrefs
    assert page.hrefs_of("Shariq Iqbal") == {"/person/shariq-iqbal"}
    assert page.hrefs_of("Igor Mordatch") == {"/person/igor-mordatch"}
    assert page.hrefs_of("Gemini Team") == {"/team/gemini-team"}
    assert {"/org/deepmind", "/org/mila"} <= hrefs


def test_a_paper_page_shows_category_date_abstract_code_and_organizations(site: Site) -> None:
    page = site.follow(_paper(site, "Attacks"), BROWSER_ACCEPT).text
    parsed = _Page(page)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;defences&#34;" in page
    assert "<script>alert" not in page
    assert parsed.hrefs_of("cs.LG") == {"/category/cs.LG"}
    assert '<time datetime="2021-01-05">' in page
    assert "https://github.com/example/attacks" in {href for href, _ in parsed.links}
    assert parsed.hrefs_of("université-paris") == {"/org/" + quote("université-paris", safe="-")}
    assert parsed.hrefs_of("Research Team") == {"/team/research-team"}


@pytest.mark.parametrize(("path", "expected"), [
    ("team/gemini-team", ["Gemini 1.5: Unlocking", "Petko Georgiev"]),
    ("org/deepmind", ["Gemma 3 Technical Report", "Tagged papers"]),
    ("category/cs.LG", ["Machine Learning (cs.LG)", "Shariq Iqbal", "ALMA: Hierarchical"]),
    ("category/XYZ", ["unmapped", "A paper in an unmapped category", "Zoë Ångström"]),
    ("snapshot/004-7f9c7e5bf4acffa9", ["004_7f9c7e5bf4acffa9.txt", "Igor Mordatch", "35895"]),
    ("snapshot/000-88a5c554b0bac8dd/metric/hIndex", ["117", "Statements", "observedAgent"]),
])
def test_organization_category_team_and_snapshot_pages(site: Site, path: str, expected: list[str]) -> None:
    page = site.follow(path, BROWSER_ACCEPT)
    assert page.status_code == 200
    for text in expected:
        assert text in page.text, text


@pytest.mark.parametrize(("kind", "first_label", "minimum"), [
    ("person", "Aaron Parisi", 100), ("paper", "A Domain-Agnostic", 60), ("category", "cond-mat.mes-hall", 10),
    ("org", "amazon-science", 5), ("team", "Gemini Team", 2), ("snapshot", "000_88a5c554b0bac8dd.txt", 3),
])
def test_listings_are_sorted_by_label_with_counts(site: Site, kind: str, first_label: str, minimum: int) -> None:
    page = site.get(f"{kind}/")
    assert page.status_code == 200 and page.headers["content-security-policy"]
    parsed = _Page(page.text)
    items = set(_entity_links(parsed, kind))
    labels = [text for href, text in parsed.links if href in items]
    assert labels[0].startswith(first_label), labels[:3]
    assert labels == sorted(labels, key=str.casefold)
    assert re.search(r"(\d+) in all", page.text) and int(re.search(r"(\d+) in all", page.text)[1]) >= minimum
    assert 'class="count"' in page.text or kind == "paper"


def test_listings_are_paged(site: Site) -> None:
    first = _Page(site.get("person/", params={"size": 20}).text)
    second_page = site.get("person/", params={"size": 20, "page": 2})
    second = _Page(second_page.text)
    people, more = _entity_links(first, "person"), _entity_links(second, "person")
    assert len(people) == 20 and len(more) == 20 and not set(people) & set(more)
    assert "/person/?page=3&size=20" in {h for h, _ in second.links}
    assert site.get("person/", params={"page": 0}).status_code == 400


def test_listing_counts_are_papers(site: Site) -> None:
    page = site.get("person/", params={"size": 500}).text
    item = re.search(r'<a href="/person/shariq-iqbal">Shariq Iqbal</a> <span class="count">(\d+)</span>', page)
    assert item is not None and item[1] == "15"


def test_html_pages_carry_security_headers_and_no_inline_script(site: Site) -> None:
    paths = ["", "person/", "doc/person/shariq-iqbal.html", "doc/" + _paper(site, "Attacks") + ".html",
             "doc/category/cs.LG", "doc/graph/000-88a5c554b0bac8dd.html"]
    for path in paths:
        response = site.get(path, BROWSER_ACCEPT)
        assert response.status_code == 200, path
        policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
        assert policy["script-src"] == "'self'" and policy["default-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'" and "unsafe" not in policy["style-src"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"]
        for attrs, text in _Page(response.text).scripts:
            assert attrs.get("src", "").startswith("/static/") or attrs.get("type") == "application/json", path
            assert not attrs.get("src") or not text.strip()


def test_the_query_page_offers_the_examples_on_this_endpoint(site: Site) -> None:
    parsed = _Page(site.get("").text)
    config = parsed.data("yasgui-config")
    assert config["endpoint"] == site.url + "sparql"
    assert [e["name"] for e in config["examples"]] == [e["name"] for e in examples(config["endpoint"], ())]


def test_the_example_queries_run(site: Site) -> None:
    for example in examples(site.url + "sparql", ())[:-1]:
        response = site.get("sparql", "application/sparql-results+json", params={"query": example["query"]})
        assert response.status_code == 200, (example["name"], response.text)
        assert response.json()["results"]["bindings"], example["name"]
    first = site.get("sparql", "application/sparql-results+json", params={"query": examples("", ())[0]["query"]})
    assert len(first.json()["results"]["bindings"]) == 15  # the author's papers, once each
    federated = examples(site.url + "sparql", ())[-1]
    refused = site.get("sparql", "application/sparql-results+json", params={"query": federated["query"]})
    assert refused.status_code == 400 and "SERVICE" in refused.text
