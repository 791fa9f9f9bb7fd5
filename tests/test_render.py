"""Every template renders from plain dict/list contexts; links, escaping, data blocks and static assets hold."""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from kg.web.render import BLOCKED_HREF, PageRenderer, RenderError, static_dir, templates_dir

BASE = "https://w3id.org/scholarkg/"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKG = "https://w3id.org/scholarkg/ontology#"
PERSON = BASE + "person/shariq-iqbal"
COSTALES = BASE + "person/robby-costales"
SHA = BASE + "person/fei-sha"
GEMINI = BASE + "team/gemini-team"
PAPER = BASE + "paper/3f0c2a9d1e6b7c48"
PAPER2 = BASE + "paper/a1b2c3d4e5f60718"
SNAPSHOT = BASE + "snapshot/000-88a5c554b0bac8dd"
LG = BASE + "category/cs.LG"
CL = BASE + "category/cs.CL"
DEEPMIND = BASE + "org/deepmind"
EVIL_TITLE = "Attacks <script>alert('x')</script> & defences"

ALTERNATES = [
    {"type": "text/turtle", "href": "/person/shariq-iqbal.ttl", "label": "Turtle"},
    {"type": "application/ld+json", "href": "/person/shariq-iqbal.jsonld", "label": "JSON-LD"},
    {"type": "application/n-triples", "href": "/person/shariq-iqbal.nt", "label": "N-Triples"},
]
PAPERS = [
    {"iri": PAPER, "title": "ALMA: Hierarchical Learning for Composite Multi-Agent Tasks", "date": "2022-05-27",
     "category": {"iri": LG, "label": "cs.LG"}},
    {"iri": PAPER2, "title": EVIL_TITLE, "date": "2024-03-08", "category": {"iri": CL, "label": "cs.CL"}},
]


def _metric(name: str, value: str) -> dict[str, Any]:
    return {"metric": name, "metric_iri": SKG + name, "value": value, "observed_at": "2026-11-21T05:40:00Z",
            "snapshot": {"iri": SNAPSHOT, "label": "000_88a5c554b0bac8dd.txt"}, "iri": f"{SNAPSHOT}/metric/{name}"}


METRICS = [_metric("hIndex", "117"), _metric("paperCount", "15"), _metric("citationCount", "11122")]

CONTEXTS: dict[str, dict[str, Any]] = {
    "index.html": {
        "title": "SPARQL", "endpoint": "/sparql",
        "examples": [
            {"name": "Papers of an author", "query": "PREFIX skg: <https://w3id.org/scholarkg/ontology#>\n"
                                                   "SELECT ?paper ?title WHERE { ?paper skg:title ?title } LIMIT 10"},
            {"name": "Truncated bylines", "query": "SELECT ?p WHERE { ?p skg:bylineTruncated true } # </script>"},
        ],
    },
    "person.html": {
        "title": "Shariq Iqbal", "alternates": ALTERNATES,
        "person": {"iri": PERSON, "name": "Shariq Iqbal", "primary_category": {"iri": LG, "label": "cs.LG"}},
        "metrics": METRICS,
        "papers_by_year": [{"year": "2022", "count": "2"}, {"year": "2024", "count": "1"},
                           {"year": "2025", "count": 3}],
        "categories": [{"iri": LG, "label": "cs.LG", "count": "4"}, {"iri": CL, "label": "cs.CL", "count": "3"}],
        "coauthors": {
            "nodes": [{"id": PERSON, "label": "Shariq Iqbal", "group": "self"},
                      {"id": COSTALES, "label": "Robby Costales", "group": "person"},
                      {"id": GEMINI, "label": "Gemini </script> Team", "group": "team"}],
            "edges": [{"from": PERSON, "to": COSTALES, "value": 2}, {"from": PERSON, "to": GEMINI, "value": 1}],
        },
        "papers": PAPERS,
        "findings": [{"severity": "http://www.w3.org/ns/shacl#Warning", "message": "declares 15 papers but lists 14",
                      "focus": SNAPSHOT, "path": SKG + "declaredPaperCount"}],
        "snapshots": [{"iri": SNAPSHOT, "label": "000_88a5c554b0bac8dd.txt"}],
    },
    "paper.html": {
        "title": "Gemini 1.5", "alternates": ALTERNATES,
        "paper": {"iri": PAPER2, "title": EVIL_TITLE, "date": "2024-03-08", "truncated": "true",
                  "printed_author_count": "3", "has_code_badge": "false",
                  "abstract": "We introduce <b>Gemini</b> 1.5 — see https://github.com/example/gemini",
                  "category": {"iri": CL, "label": "cs.CL"}},
        "byline": [
            {"ordinal": "10", "name": "Tenth Author", "agent": BASE + "person/tenth-author", "kind": "person"},
            {"ordinal": "1", "name": "Gemini Team", "agent": GEMINI, "kind": "team"},
            {"ordinal": "2", "name": "Petko Georgiev", "agent": BASE + "person/petko-georgiev", "kind": "person"},
        ],
        "code_links": ["https://github.com/example/gemini", "javascript:alert(1)"],
        "urls": ["https://github.com/example/gemini"],
        "organizations": [{"iri": DEEPMIND, "label": "deepmind"}, {"iri": BASE + "org/mila", "label": "mila"}],
        "snapshots": [{"iri": SNAPSHOT, "label": "000_88a5c554b0bac8dd.txt",
                       "owner": {"iri": PERSON, "name": "Shariq Iqbal"}}],
    },
    "organization.html": {
        "title": "deepmind", "org": {"iri": DEEPMIND, "label": "deepmind", "tag": "deepmind"},
        "papers": PAPERS, "papers_by_year": [{"year": "2024", "count": "1"}],
        "agents": [{"iri": PERSON, "label": "Shariq Iqbal", "count": "1"}],
    },
    "category.html": {
        "title": "cs.LG", "category": {"iri": LG, "label": "Machine Learning (cs.LG)", "notation": "cs.LG",
                                       "bare_code": "LG", "unmapped": "false", "scheme": BASE + "category/scheme"},
        "papers": PAPERS, "people": [{"iri": PERSON, "label": "Shariq Iqbal"}],
    },
    "snapshot.html": {
        "title": "000_88a5c554b0bac8dd.txt",
        "snapshot": {"iri": SNAPSHOT, "file_name": "000_88a5c554b0bac8dd.txt", "sha256": "ab" * 32,
                     "ingested_at": "2026-11-21T05:40:00Z", "declared_paper_count": "15",
                     "graph": BASE + "graph/000-88a5c554b0bac8dd"},
        "owner": {"iri": PERSON, "name": "Shariq Iqbal"}, "papers": PAPERS, "observations": METRICS,
    },
    "team.html": {
        "title": "Gemini Team", "team": {"iri": GEMINI, "name": "Gemini Team"}, "papers": PAPERS[1:],
        "coauthors": [{"iri": BASE + "person/petko-georgiev", "label": "Petko Georgiev"}],
    },
    "list.html": {
        "title": "Authors", "heading": "Authors", "page": 2, "pages": 3, "total": 41, "start": 21,
        "items": [{"iri": PERSON, "label": "Shariq Iqbal", "note": "cs.LG"}, {"iri": SHA, "label": "Fei Sha"}],
        "prev_href": "/person/?page=1", "next_href": "/person/?page=3",
    },
    "resource.html": {
        "title": "Authorship 1", "iri": PAPER + "/author/1", "types": [SKG + "Authorship"],
        "triples": [
            {"predicate": SKG + "agent", "object": {"type": "uri", "value": PERSON}},
            {"predicate": SKG + "ordinal",
             "object": {"type": "literal", "value": "1", "datatype": XSD + "integer"}},
            {"predicate": SKG + "nameAsPrinted", "object": {"type": "literal", "value": "Shariq <i>Iqbal</i>",
                                                            "xml:lang": "en"}},
            {"predicate": "http://example.org/p", "object": {"type": "bnode", "value": "b0"}},
        ],
        "incoming": [{"subject": {"type": "uri", "value": PAPER}, "predicate": SKG + "hasAuthorship"}],
    },
    "error.html": {"title": "Not found", "status": 404, "message": "no resource <https://x/y> here"},
}


class _Tags(HTMLParser):
    """Collects start tags with their attributes, and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self._script: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag == "script":
            self._script = attributes
            self.scripts.append((attributes, ""))

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None


@pytest.fixture(scope="module")
def renderer() -> PageRenderer:
    return PageRenderer(BASE)


@pytest.fixture(scope="module")
def pages(renderer: PageRenderer) -> dict[str, str]:
    return {name: renderer.render(name, **context) for name, context in CONTEXTS.items()}


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def _hrefs(html: str) -> list[str]:
    return [attrs["href"] for tag, attrs in _parse(html).tags if tag == "a" and "href" in attrs]


def _json_block(html: str, block_id: str) -> Any:
    for attrs, text in _parse(html).scripts:
        if attrs.get("id") == block_id:
            assert attrs.get("type") == "application/json"
            return json.loads(text)
    raise AssertionError(f"no JSON block #{block_id}")


def test_every_page_template_has_a_test_context() -> None:
    names = {p.name for p in templates_dir().glob("*.html") if not p.name.startswith(("_", "base"))}
    assert names == set(CONTEXTS)


def test_every_page_is_a_complete_document_with_the_nav(pages: dict[str, str]) -> None:
    for name, html in pages.items():
        assert html.startswith("<!DOCTYPE html>"), name
        assert html.rstrip().endswith("</html>"), name
        hrefs = _hrefs(html)
        for path in ("/", "/person/", "/paper/", "/category/", "/org/", "/dump", "/ontology", "/shapes", "/docs"):
            assert path in hrefs, (name, path)
        assert "MIT licence" in html


def test_the_page_s_section_is_marked_current_in_the_nav(pages: dict[str, str]) -> None:
    current = [(a.get("href")) for tag, a in _parse(pages["paper.html"]).tags if a.get("aria-current") == "page"]
    assert current == ["/paper/"]


def test_entity_iris_link_to_local_paths_and_others_stay(pages: dict[str, str]) -> None:
    hrefs = _hrefs(pages["person.html"])
    assert "/paper/3f0c2a9d1e6b7c48" in hrefs
    assert "/category/cs.LG" in hrefs
    assert "/snapshot/000-88a5c554b0bac8dd" in hrefs
    # the default base also holds the ontology namespace: its terms link to the ontology page of this server
    assert "/ontology#hIndex" in hrefs
    assert "https://github.com/example/gemini" in _hrefs(pages["paper.html"])
    assert not [h for h in hrefs if h.startswith(BASE)]


def test_with_another_base_ontology_and_shape_terms_link_to_this_site() -> None:
    # every deployment serves /ontology and /shapes itself, whatever its base IRI
    renderer = PageRenderer("http://localhost:8000/")
    html = renderer.render("person.html", **CONTEXTS["person.html"])
    assert "/ontology#hIndex" in _hrefs(html)
    assert SKG + "hIndex" not in _hrefs(html)
    assert renderer.href("https://w3id.org/scholarkg/shapes#PaperShape") == "/shapes#PaperShape"
    assert renderer.href("https://w3id.org/scholarkg/ontologyX") == "https://w3id.org/scholarkg/ontologyX"


def test_a_title_with_a_script_tag_is_escaped_everywhere(pages: dict[str, str]) -> None:
    for name in ("person.html", "paper.html", "organization.html", "category.html", "snapshot.html", "team.html"):
        html = pages[name]
        assert "<script>alert" not in html, name
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; defences" in html, name
    assert "&lt;b&gt;Gemini&lt;/b&gt;" in pages["paper.html"]


def test_json_blocks_cannot_close_their_script_element(pages: dict[str, str]) -> None:
    assert pages["person.html"].count("</script>") == len(_parse(pages["person.html"]).scripts)
    network = _json_block(pages["person.html"], "coauthor-network")
    assert network["nodes"][2]["label"] == "Gemini </script> Team"
    config = _json_block(pages["index.html"], "yasgui-config")
    assert config["examples"][1]["query"].endswith("# </script>")


def test_truncated_byline_shows_et_al_in_order(pages: dict[str, str]) -> None:
    html = pages["paper.html"]
    byline = html[html.index('<p class="byline">'):]
    byline = byline[: byline.index("</p>")]
    assert byline.index("Gemini Team") < byline.index("Petko Georgiev") < byline.index("Tenth Author")
    assert "et al." in byline
    assert 'href="/team/gemini-team"' in byline and 'href="/person/petko-georgiev"' in byline
    assert "first 3 names" in html


def test_an_untruncated_byline_has_no_et_al(renderer: PageRenderer) -> None:
    context = {**CONTEXTS["paper.html"], "paper": {**CONTEXTS["paper.html"]["paper"], "truncated": "false"}}
    html = renderer.render("paper.html", **context)
    assert "et al." not in html


def test_paper_page_lists_code_organizations_and_profiles(pages: dict[str, str]) -> None:
    html = pages["paper.html"]
    hrefs = _hrefs(html)
    assert "https://github.com/example/gemini" in hrefs
    assert "/org/deepmind" in hrefs and "/org/mila" in hrefs
    assert "/snapshot/000-88a5c554b0bac8dd" in hrefs and "/person/shariq-iqbal" in hrefs
    assert "javascript:alert(1)" not in hrefs  # shown as text, never as a link
    assert "javascript:alert(1)" in html


def test_person_page_has_chart_and_network_data(pages: dict[str, str]) -> None:
    html = pages["person.html"]
    years = _json_block(html, "chart-papers-by-year")
    assert years == {"type": "bar", "label": "Papers by year", "labels": ["2022", "2024", "2025"],
                     "values": ["2", "1", "3"]}
    categories = _json_block(html, "chart-categories")
    assert categories["type"] == "doughnut" and categories["labels"] == ["cs.LG", "cs.CL"]
    network = _json_block(html, "coauthor-network")
    assert [n["href"] for n in network["nodes"]] == ["/person/shariq-iqbal", "/person/robby-costales",
                                                     "/team/gemini-team"]
    assert network["edges"][0] == {"from": PERSON, "to": COSTALES, "value": 2}
    canvases = [a["data-chart"] for tag, a in _parse(html).tags if tag == "canvas"]
    assert canvases == ["chart-papers-by-year", "chart-categories"]


def test_person_page_shows_dated_metrics_and_findings(pages: dict[str, str]) -> None:
    html = pages["person.html"]
    assert html.count('<time datetime="2026-11-21T05:40:00Z">') == len(METRICS)
    assert "11122" in html and "Warning" in html and "declares 15 papers but lists 14" in html
    assert "skg:declaredPaperCount" in html


def test_alternate_formats_are_announced_in_head_and_linked(pages: dict[str, str]) -> None:
    for name in ("person.html", "paper.html"):
        tags = _parse(pages[name]).tags
        alternates = {a["type"]: a["href"] for tag, a in tags if tag == "link" and a.get("rel") == "alternate"}
        assert alternates == {"text/turtle": "/person/shariq-iqbal.ttl",
                              "application/ld+json": "/person/shariq-iqbal.jsonld",
                              "application/n-triples": "/person/shariq-iqbal.nt"}
        assert "/person/shariq-iqbal.nt" in _hrefs(pages[name])


def test_resource_page_shows_terms_with_datatype_language_and_incoming(pages: dict[str, str]) -> None:
    html = pages["resource.html"]
    assert "^^<a href=\"http://www.w3.org/2001/XMLSchema#integer\">xsd:integer</a>" in html
    assert "Shariq &lt;i&gt;Iqbal&lt;/i&gt;</span> <span class=\"lang\">@en</span>" in html
    assert "_:b0" in html and ">skg:agent</a>" in html
    assert 'href="/paper/3f0c2a9d1e6b7c48"' in html and ">skg:hasAuthorship</a>" in html


def test_list_page_is_numbered_and_paged(pages: dict[str, str]) -> None:
    html = pages["list.html"]
    assert '<ol class="entities listing-items" start="21">' in html
    assert {"/person/?page=1", "/person/?page=3", "/person/shariq-iqbal"} <= set(_hrefs(html))
    assert "Page 2 of 3" in html


def test_snapshot_page_shows_provenance(pages: dict[str, str]) -> None:
    html = pages["snapshot.html"]
    assert "ab" * 32 in html and "000_88a5c554b0bac8dd.txt" in html
    assert "/graph/000-88a5c554b0bac8dd" in _hrefs(html)
    assert "2 listed here" in html


def test_no_script_or_stylesheet_comes_from_another_host(pages: dict[str, str]) -> None:
    for name, html in pages.items():
        for tag, attrs in _parse(html).tags:
            url = attrs.get("src", "") if tag == "script" else attrs.get("href", "") if tag == "link" else ""
            if tag == "link" and attrs.get("rel") == "alternate":
                continue
            assert not re.match(r"^(https?:)?//", url, re.IGNORECASE), (name, tag, url)


def test_no_inline_executable_script(pages: dict[str, str]) -> None:
    for name, html in pages.items():
        for attrs, text in _parse(html).scripts:
            assert attrs.get("src") or attrs.get("type") == "application/json", (name, attrs, text[:40])
            assert not (attrs.get("src") and text.strip()), name
        assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE), name  # no inline event handlers


def test_every_static_file_referenced_exists(pages: dict[str, str]) -> None:
    referenced: set[str] = set()
    for html in pages.values():
        for _, attrs in _parse(html).tags:
            for key in ("src", "href"):
                if attrs.get(key, "").startswith("/static/"):
                    referenced.add(attrs[key][len("/static/"):])
    for template in templates_dir().glob("*.html"):
        referenced.update(re.findall(r"static_url\('([^']+)'\)", template.read_text(encoding="utf-8")))
    assert {"site.css", "query.js", "charts.js", "network.js", "vendor/yasgui/yasgui.min.js"} <= referenced
    missing = sorted(path for path in referenced if not (static_dir() / path).is_file())
    assert not missing


def test_vendored_files_match_their_recorded_checksums_and_licences() -> None:
    vendor = static_dir() / "vendor"
    recorded = {}
    for line in (vendor / "VERSIONS.txt").read_text(encoding="utf-8").splitlines():
        if re.match(r"^[0-9a-f]{64}  ", line):
            digest, path = line.split("  ", 1)
            recorded[path.removeprefix("./")] = digest
    files = {str(p.relative_to(vendor)) for p in vendor.rglob("*") if p.is_file() and p.name != "VERSIONS.txt"}
    assert set(recorded) == files
    for path, digest in recorded.items():
        assert hashlib.sha256((vendor / path).read_bytes()).hexdigest() == digest, path
    for package in ("yasgui", "vis-network", "chart.js", "swagger-ui"):
        assert any(p.name.startswith("LICENSE") for p in (vendor / package).iterdir()), package
    assert not [p for p in files if p.endswith(".map")]  # built files only: no source maps
    assert sum((vendor / p).stat().st_size for p in files) < 5_000_000


def test_site_prefix_moves_local_links_and_static_files() -> None:
    renderer = PageRenderer(BASE, site_prefix="/kg")
    html = renderer.render("person.html", **CONTEXTS["person.html"])
    hrefs = _hrefs(html)
    assert "/kg/paper/3f0c2a9d1e6b7c48" in hrefs and "/kg/person/" in hrefs
    assert 'href="/kg/static/site.css"' in html and 'src="/kg/static/charts.js"' in html


@pytest.mark.parametrize(
    ("iri", "expected"),
    [
        (BASE + "person/x", "/person/x"),
        (BASE + "paper/ab12/author/3", "/paper/ab12/author/3"),
        ("https://github.com/a/b", "https://github.com/a/b"),
        ("http://schema.org/name", "http://schema.org/name"),
        ("/sparql?query=x", "/sparql?query=x"),
        ("urn:isbn:123", "urn:isbn:123"),
        ("javascript:alert(1)", BLOCKED_HREF),
        (" JavaScript:alert(1)", BLOCKED_HREF),
        ("java\tscript:alert(1)", BLOCKED_HREF),
        ("data:text/html,<b>x</b>", BLOCKED_HREF),
    ],
)
def test_href(renderer: PageRenderer, iri: str, expected: str) -> None:
    assert renderer.href(iri) == expected


@pytest.mark.parametrize(
    ("iri", "expected"),
    [
        (SKG + "title", "skg:title"),
        ("http://schema.org/author", "schema:author"),
        ("http://www.w3.org/2001/XMLSchema#date", "xsd:date"),
        ("http://purl.org/dc/terms/creator", "dcterms:creator"),
        ("http://schema.org/a/b", "http://schema.org/a/b"),  # not a valid local name
        ("https://example.org/x", "https://example.org/x"),
    ],
)
def test_curie(renderer: PageRenderer, iri: str, expected: str) -> None:
    assert renderer.curie(iri) == expected


def test_missing_template_or_context_is_a_render_error(renderer: PageRenderer) -> None:
    with pytest.raises(RenderError, match=r"no template 'nope\.html'"):
        renderer.render("nope.html")
    with pytest.raises(RenderError, match=r"paper\.html: .*'paper' is undefined"):
        renderer.render("paper.html", title="x")


def test_optional_keys_may_be_left_out(renderer: PageRenderer) -> None:
    html = renderer.render("person.html", title="A", person={"iri": PERSON, "name": "A"}, metrics=[])
    assert "No metric observations." in html and "No findings." in html
    assert "data-chart" not in html and "data-network" not in html
    html = renderer.render("paper.html", title="P", paper={"iri": PAPER, "title": "P"}, byline=[])
    assert "et al." not in html and "No organization tags." in html
