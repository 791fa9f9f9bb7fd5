"""The linked-data site: entity IRIs answer 303 See Other to their documents (HTML or RDF), plus listings and `/`.

`/{kind}/{id}` → 303 → `/doc/{kind}/{id}.{html|ttl|jsonld|nt|rdf}`; `/doc/{path}` alone negotiates (200,
Content-Location, Vary: Accept). docs/linked-data.md says why; the pages' SPARQL lives in the modules imported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote, quote_from_bytes

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from kg.config import Settings
from kg.errors import InputError, NotFound
from kg.server import cache, descriptions, entities, hubs
from kg.server.conneg import alternates, extension, negotiate, split_extension
from kg.server.describe import base_url
from kg.server.examples import examples
from kg.server.listings import LISTINGS, PAGE_SIZE, listing_context, listing_index
from kg.server.negotiate import Offer, content_type
from kg.store import Store
from kg.web.render import PageRenderer

router = APIRouter(tags=["Linked data"])

# Path segments under which entity IRIs are minted (docs/model.md); each answers /{segment}/… on this server.
ENTITY_SEGMENTS = ("person", "team", "org", "paper", "category", "snapshot", "graph")
DOCUMENTS = "doc"

# The <style> elements the vendored libraries (kg/web/static/vendor/VERSIONS.txt) inject, allowed by hash: styles
# stay limited to our files and these exact texts. tests/test_browser.py fails on any CSP violation, so a vendored
# upgrade that changes them shows up there.
VENDORED_STYLES = (
    "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",  # an empty element, before its text is set
    # vis-network: the tooltip, navigation, manipulation and configurator styles
    "sha256-OutIf5hnp68ctx4ThtV5J02g5HTJ5bbu/hkNfqVXWWo=",
    "sha256-4cgFR0//m8/eHo2G/esYsuZetUHlzCUWYM59sfgE9zY=",
    "sha256-uepMTym1NwItBa/XV6ef6fQobLL0A0CNVDM5km5L+nQ=",
    "sha256-gGUn/VMBXCeWm86qX/pOf+4ZDSbe0JcaXXb4rJjw1mA=",
    "sha256-QuPewnJYr+SnQiTnCNHFBw99ExTsz9f8w5320PimEPw=",
    "sha256-IY7YKNHjbzQ1NfAKrBZvBZohgXMtxrqB9PaqhAaT3vg=",
    "sha256-QE7TOEDW7YIlMzvUUnm8boDWeNBN7PBbaaYJjnp34WI=",
    # YASGUI: the column resizer of the results table
    "sha256-zCK2EVMoPc04mRF/g5CotUvxbJPWS+8V0b+s9ptqQIk=",
)
# On every HTML page: scripts only from this origin (the pages have no inline script; their data travels in
# <script type="application/json"> blocks, which are not run), nothing loaded from elsewhere, never framed.
# Style *attributes* are allowed: YASGUI's result table and vis-network set them as they lay out (widths that
# change with the data, so no hash can list them); an attribute cannot run script, and every page text is
# autoescaped, so no one else's markup reaches the page to use it.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
                               f"style-src 'self' {' '.join(repr(h) for h in VENDORED_STYLES)}; "
                               "style-src-attr 'unsafe-inline'; "
                               "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
                               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}

_CONTEXTS: dict[str, Callable[[Store, str], dict[str, Any]]] = {
    "person": entities.person_context,
    "team": hubs.team_context,
    "organization": hubs.organization_context,
    "paper": entities.paper_context,
    "category": hubs.category_context,
    "snapshot": hubs.snapshot_context,
    "resource": descriptions.resource_context,
}
_ESCAPE = re.compile(rb"%[0-9a-fA-F]{2}")
_PATH_SAFE = b"/:@!$&'()*+,;=-._~%"
_IRI_SAFE = ":/?#[]@!$&'()*+,;=-._~%"  # a header holds ASCII: an IRI's other characters are percent-encoded

FormatParam = Annotated[str | None, Query(alias="format", description="html, turtle (ttl), jsonld, ntriples (nt) or "
                                                                      "rdfxml (rdf); overrides the Accept header")]


def html_response(page: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """An HTML page with the site's security headers."""
    return HTMLResponse(page, status, {**SECURITY_HEADERS, **(headers or {})})


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse, summary="The query editor (YASGUI)")
def query_page(request: Request) -> Response:
    """YASGUI on this server's endpoint, with the example queries as tabs."""
    settings: Settings = request.app.state.settings
    endpoint = base_url(request) + "sparql"
    page = _renderer(request).render("index.html", title="SPARQL query editor", endpoint=endpoint,
                                     examples=examples(endpoint, settings.service_allow))
    return html_response(page)


def _listing(kind: str) -> Callable[..., Response]:
    def listing(request: Request, page: Annotated[int, Query(ge=1)] = 1,
                size: Annotated[int, Query(ge=1, le=500)] = PAGE_SIZE) -> Response:
        key = cache.page_key_for(request)  # the generation before the page is made
        store: Store = request.app.state.store
        writer = getattr(request.app.state, "writer", None)  # its cache lasts until the next write
        index = writer.cached(f"pages.listing.{kind}", lambda: listing_index(store, kind)) if writer else None
        context = listing_context(store, kind, page, size, _site(request), index)
        return cache.keep_page(request, key, html_response(_renderer(request).render("list.html", **context)))

    listing.__doc__ = f"{LISTINGS[kind].heading}: paged, sorted by label, with counts."
    return listing


def entity(request: Request, format: FormatParam = None) -> Response:
    """An entity IRI: 303 See Other to the document in the representation the client prefers."""
    key = cache.page_key_for(request)
    path = _relative_path(request, "/")
    offer = negotiate(request.headers.get("accept"), format)
    _existing(request, path)
    location = f"{_site(request)}{DOCUMENTS}/{path}.{extension(offer)}"
    return cache.keep_page(request, key, Response(status_code=303, headers={
        "Location": location, "Vary": "Accept", "X-Content-Type-Options": "nosniff"}))


def document(request: Request, format: FormatParam = None) -> Response:
    """The document describing an entity: `.html`, `.ttl`, `.jsonld`, `.nt`, `.rdf`, or negotiated without one."""
    key = cache.page_key_for(request)  # the generation before the page is made: a write meanwhile drops it
    return cache.keep_page(request, key, _document(request, format))


def _document(request: Request, format: str | None) -> Response:
    stem, fixed = split_extension(_relative_path(request, f"/{DOCUMENTS}/"))
    offer = fixed or negotiate(request.headers.get("accept"), format)
    iri = _existing(request, stem)
    doc = f"{_site(request)}{DOCUMENTS}/{stem}"
    headers = {"Link": f'<{quote(iri, safe=_IRI_SAFE)}>; rel="describes"', "X-Content-Type-Options": "nosniff"}
    if fixed is None:
        headers.update({"Content-Location": f"{doc}.{extension(offer)}", "Vary": "Accept"})
    if offer.name == "html":
        return html_response(_page(request, iri, doc), headers=headers)
    return _rdf(request.app.state.store, iri, offer, headers)


for _kind in LISTINGS:
    router.add_api_route(f"/{_kind}/", _listing(_kind), methods=["GET", "HEAD"], response_class=HTMLResponse,
                         summary=f"List: {LISTINGS[_kind].heading}")
for _segment in ENTITY_SEGMENTS:
    router.add_api_route(f"/{_segment}/{{rest:path}}", entity, methods=["GET", "HEAD"], status_code=303,
                         summary=f"Dereference a {_segment} IRI (303 to its document)")
router.add_api_route(f"/{DOCUMENTS}/{{rest:path}}", document, methods=["GET", "HEAD"],
                     summary="The document about an entity: HTML, Turtle, JSON-LD, N-Triples or RDF/XML")


def _page(request: Request, iri: str, doc: str) -> str:
    store: Store = request.app.state.store
    kind = descriptions.kind_of(store, iri)
    context = _CONTEXTS[kind](store, iri)
    context["alternates"] = alternates(doc)
    return _renderer(request).render(f"{kind}.html", **context)


def _rdf(store: Store, iri: str, offer: Offer, headers: dict[str, str]) -> Response:
    body = descriptions.to_bytes(descriptions.description(store, iri), offer)
    return Response(body, media_type=content_type(offer.media_type), headers=headers)


def _existing(request: Request, path: str) -> str:
    """The entity IRI for `path` (base IRI + path); NotFound unless some statement mentions it."""
    settings: Settings = request.app.state.settings
    iri = settings.base_iri + path
    try:
        found = bool(path) and descriptions.exists(request.app.state.store, iri)
    except InputError:  # not an IRI at all (a character IRIs cannot hold): nothing can be said about it
        found = False
    if not found:
        raise NotFound(f"<{iri}>: no statement mentions this IRI; expected an entity of this knowledge graph "
                       f"(see {_site(request)}person/ or {_site(request)}paper/)")
    return iri


def _relative_path(request: Request, prefix: str) -> str:
    """The request path after `prefix`, percent-encoded as minted IRIs are (the raw path, not the decoded one)."""
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    root = request.scope.get("root_path", "").encode("utf-8")
    raw = raw.split(b"?", 1)[0]
    if root and raw.startswith(root):
        raw = raw[len(root):]
    encoded = quote_from_bytes(raw[len(prefix.encode()):], safe=_PATH_SAFE).encode("ascii")
    return _ESCAPE.sub(lambda m: m.group(0).upper(), encoded).decode("ascii")


def _site(request: Request) -> str:
    """The path of the site's root, ending in '/' (the app may be mounted below one)."""
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/") + "/"


def _renderer(request: Request) -> PageRenderer:
    renderer: PageRenderer = request.app.state.renderer
    return renderer
