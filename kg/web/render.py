"""Renders the site's HTML pages from Jinja2 templates and plain dict/list contexts (the only importer of jinja2).

It knows IRIs only as strings: it maps entity IRIs to local paths and shortens terms to CURIEs, nothing more;
the route code builds the contexts from SPARQL results (docs/frontend.md lists what each template expects).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2

from kg.vocab import ONTOLOGY_IRI, PREFIXES, SHAPES_IRI

_HERE = Path(__file__).resolve().parent
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# Schemes a link may carry; anything else (javascript:, data:, vbscript:, …) is never put into an href.
_SAFE_SCHEMES = frozenset({"http", "https", "mailto", "ftp", "urn", "doi", "tag"})
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
_LOCAL_NAME = re.compile(r"^[A-Za-z_][\w\-]*(?:\.[\w\-]+)*$")
_TRUE = frozenset({"true", "1", "yes"})
BLOCKED_HREF = "#blocked-link"
# Fixed namespaces that every deployment serves itself (issue 3: /ontology and /shapes): their terms link there
# whatever the base IRI, e.g. skg:hIndex -> /ontology#hIndex.
_SITE_NAMESPACES: tuple[tuple[str, str], ...] = ((ONTOLOGY_IRI, "ontology"), (SHAPES_IRI, "shapes"))

# The site navigation: label and path below the site prefix ("" is the home page, the query editor).
NAV: tuple[tuple[str, str, str], ...] = (
    ("query", "Query", ""),
    ("person", "Authors", "person/"),
    ("paper", "Papers", "paper/"),
    ("category", "Categories", "category/"),
    ("org", "Organizations", "org/"),
    ("dump", "Dumps", "dump"),
    ("ontology", "Ontology", "ontology"),
    ("shapes", "Shapes", "shapes"),
    ("api", "API", "docs"),
)


class RenderError(RuntimeError):
    """A template that cannot be found or rendered with the context given: a bug of the caller (HTTP 500).

    Deliberately not a KGError: those are the user's fault and map to 4xx statuses.
    """


def static_dir() -> Path:
    """The folder served under `/static/`: site CSS and JS, and the vendored libraries in `vendor/`."""
    return _HERE / "static"


def templates_dir() -> Path:
    """The folder of the Jinja2 templates."""
    return _HERE / "templates"


class PageRenderer:
    """Renders the templates of `templates_dir()` with IRIs under `base_iri` linked to paths under `site_prefix`."""

    def __init__(self, base_iri: str, site_prefix: str = "/") -> None:
        self.base_iri = base_iri
        self.site_prefix = site_prefix if site_prefix.endswith("/") else site_prefix + "/"
        self._prefixes = sorted(PREFIXES.items(), key=lambda item: len(item[1]), reverse=True)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir()),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            href=self.href,
            curie=self.curie,
            local_name=local_name,
            linkable=linkable,
            is_true=is_true,
            by_ordinal=by_ordinal,
            with_hrefs=self.with_hrefs,
        )
        self.env.globals.update(static_url=self.static_url, nav=self.nav(), site_prefix=self.site_prefix)

    def render(self, template_name: str, **context: Any) -> str:
        """The HTML of `template_name` (e.g. "person.html") rendered with `context`."""
        try:
            return self.env.get_template(template_name).render(**context)
        except jinja2.TemplateNotFound as error:
            raise RenderError(f"{templates_dir()}: no template {error.name!r}") from None
        except jinja2.TemplateError as error:
            raise RenderError(f"{template_name}: {error.message}; expected the context of docs/frontend.md") from error

    def href(self, iri: str) -> str:
        """The link target for `iri`: a local path for entity IRIs under the base IRI and for ontology and shape
        terms (`/ontology#X`, `/shapes#X`), else the IRI itself.

        IRIs with a scheme that could run code in a browser (javascript:, data:, …) become BLOCKED_HREF.
        """
        iri = str(iri)
        if iri.startswith(self.base_iri):
            return self.site_prefix + iri[len(self.base_iri):]
        for namespace, path in _SITE_NAMESPACES:
            rest = iri[len(namespace):]
            if iri.startswith(namespace) and (rest == "" or rest.startswith("#")):
                return self.site_prefix + path + rest
        return iri if linkable(iri) else BLOCKED_HREF

    def curie(self, iri: str) -> str:
        """`iri` shortened with the project prefixes (`skg:title`), or unchanged when no prefix fits."""
        iri = str(iri)
        for prefix, namespace in self._prefixes:
            if iri.startswith(namespace):
                local = iri[len(namespace):]
                if local == "" or _LOCAL_NAME.match(local):
                    return f"{prefix}:{local}"
        return iri

    def static_url(self, path: str) -> str:
        """The URL of a file below `static_dir()`."""
        return f"{self.site_prefix}static/{path.lstrip('/')}"

    def nav(self) -> list[dict[str, str]]:
        """The navigation entries: key (matched against a page's `nav_active`), label and URL."""
        return [{"key": key, "label": label, "url": self.site_prefix + path} for key, label, path in NAV]

    def with_hrefs(self, items: Iterable[Mapping[str, Any]], key: str = "id") -> list[dict[str, Any]]:
        """Copies of `items` with an `href` entry for the IRI in `key` (for data handed to page scripts)."""
        return [{**item, "href": self.href(str(item[key]))} for item in items]


def linkable(iri: str) -> bool:
    """True when `iri` may be put into an href: a relative reference or one of the safe schemes."""
    cleaned = _CONTROL_OR_SPACE.sub("", str(iri))  # browsers drop these before reading the scheme
    match = _SCHEME.match(cleaned)
    return match is None or match.group(1).lower() in _SAFE_SCHEMES


def local_name(iri: str) -> str:
    """The last segment of an IRI (after '#', else after the last '/'), for use as a fallback label."""
    text = str(iri).rstrip("/#")
    for separator in ("#", "/", ":"):
        if separator in text:
            return text.rsplit(separator, 1)[1]
    return text


def is_true(value: object) -> bool:
    """A boolean from a SPARQL result value: True, "true", "1" (any case) are true."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def by_ordinal(slots: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Byline slots sorted by their numeric `ordinal` (SPARQL gives them as strings: "10" after "9")."""
    return sorted(slots, key=lambda slot: int(str(slot["ordinal"])))
