"""The SPARQL 1.1 Protocol at /sparql: queries by GET and POST, updates by POST, the service description.

Handlers are plain `def` (run in the thread pool): a long query never blocks other requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from kg.config import Settings
from kg.errors import DocumentTooLarge, InputError, KGError, QueryError, UnsupportedMediaType
from kg.query import FORMATS, QueryOutcome, check_query_allowed, inspect_query, negotiate, parse_query_text
from kg.server import cache, describe
from kg.server.body import form_fields, media_type, request_body, utf8_text
from kg.server.negotiate import content_type
from kg.server.writes import Writer

router = APIRouter(tags=["SPARQL"])

FORM = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"

_RESULT_TYPES = sorted({f.media_type for f in FORMATS} | {"text/turtle"})
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Query results (SELECT/ASK: SPARQL results JSON by default; CONSTRUCT/DESCRIBE: Turtle "
                         "by default), or the service description when no query is given",
          "content": {media: {} for media in _RESULT_TYPES}},
    400: {"description": "Not SPARQL 1.1, or refused (SERVICE outside the allow list, FROM, file: IRIs)"},
    406: {"description": "No result format fits the Accept header"},
    413: {"description": "Query or body over the configured limit"},
}
_UPDATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_RESPONSES,
    401: {"description": "An update without the right bearer token"},
    403: {"description": "Updates are disabled (no KG_UPDATE_TOKEN)"},
    415: {"description": "A body that is not a query, an update or a form"},
    422: {"description": "An update refused by the SHACL shapes; the body lists the new violations"},
}
_POST_BODY = {"requestBody": {"required": True, "content": {
    FORM: {"schema": {"type": "object", "properties": {
        "query": {"type": "string"}, "update": {"type": "string"},
        "default-graph-uri": {"type": "array", "items": {"type": "string"}},
        "named-graph-uri": {"type": "array", "items": {"type": "string"}}}}},
    QUERY_TYPE: {"schema": {"type": "string"}},
    UPDATE_TYPE: {"schema": {"type": "string"}},
}}}

QueryText = Annotated[str | None, Query(description="A SPARQL 1.1 query; without it, GET answers the service "
                                                     "description")]
DefaultGraphs = Annotated[list[str] | None, Query(alias="default-graph-uri",
                                                  description="Repeatable; with named-graph-uri, sets the dataset")]
NamedGraphs = Annotated[list[str] | None, Query(alias="named-graph-uri",
                                                description="Repeatable; with default-graph-uri, sets the dataset")]


@router.api_route("/sparql", methods=["GET", "HEAD"], summary="Query by GET, or read the service description",
                  responses=_RESPONSES)
def sparql_get(request: Request, query: QueryText = None,
               default_graph_uri: DefaultGraphs = None, named_graph_uri: NamedGraphs = None) -> Response:
    """SPARQL Protocol query by GET. Unknown parameters (SPARQLWrapper's `format=`, `output=`) are ignored."""
    if "update" in request.query_params:
        raise QueryError("SPARQL Update: expected POST with update= or a body of type application/sparql-update")
    if query is None:
        return describe.service_description_response(request)
    return answer(request, query, default_graph_uri or [], named_graph_uri or [])


@router.post("/sparql", summary="Query or update by POST (form, sparql-query or sparql-update body)",
             responses=_UPDATE_RESPONSES, openapi_extra=_POST_BODY)
def sparql_post(request: Request, body: Annotated[bytes, Depends(request_body)]) -> Response:
    """Dataset parameters come from the URL (for the two direct bodies) and from the form."""
    kind = media_type(request)
    params = list(request.query_params.multi_items())
    if kind == FORM:
        params += form_fields(body)
        query, update = _field(params, "query"), _field(params, "update")
        if (query is None) == (update is None):
            raise InputError("form body: expected exactly one of the fields query= and update=")
    elif kind == QUERY_TYPE:
        query, update = utf8_text(body, "query body"), None
    elif kind == UPDATE_TYPE:
        query, update = None, utf8_text(body, "update body")
    else:
        raise UnsupportedMediaType(f"Content-Type {kind or 'missing'!r}: expected {FORM}, {QUERY_TYPE} "
                                   f"or {UPDATE_TYPE}")
    if update is not None:
        return apply_update(request, update, params)
    return answer(request, query or "", _all(params, "default-graph-uri"), _all(params, "named-graph-uri"))


def answer(request: Request, text: str, default_graphs: Sequence[str], named_graphs: Sequence[str]) -> Response:
    """Check, run and serialise one query; HEAD stops after the checks (the Content-Type is known by then)."""
    settings: Settings = request.app.state.settings
    accept = request.headers.get("accept")
    key = cache.key_for(request, text, default_graphs, named_graphs)  # the generation before the query runs
    if (hit := cache.lookup(request, key)) is not None:
        return hit
    try:
        _check_length(text, settings)
        # HEAD runs nothing, so it takes the full parse to report a syntax error the way GET would
        info = parse_query_text(text) if request.method == "HEAD" else inspect_query(text)
        if info.is_update:
            raise QueryError("expected a query, got a SPARQL Update; send it by POST as update= or as "
                             f"{UPDATE_TYPE}")
        check_query_allowed(info, settings.service_allow, allow_dataset_clauses=False)
        if request.method == "HEAD":
            fmt = negotiate(accept, info.form)
            return Response(headers={"Vary": "Accept"}, media_type=content_type(fmt.media_type))
        client = request.client.host if request.client else "unknown"
        with request.app.state.limiter.slot(client):  # TooManyRequests (429, Retry-After) over the limit
            outcome = request.app.state.queries.run(
                text, accept=accept, max_rows=settings.max_rows, default_graph_uris=default_graphs,
                named_graph_uris=named_graphs, service_allow=settings.service_allow,
                service_timeout=settings.service_timeout)
    except KGError as error:
        request.app.state.metrics.query_error(type(error).__name__)
        raise
    return respond(request.app.state, key, outcome)


def respond(state: Any, key: cache.Key | None, outcome: QueryOutcome) -> Response:
    """The response of a query that ran (counted in the metrics), kept in the result cache under `key`."""
    settings: Settings = state.settings
    state.metrics.query(outcome.form)
    headers = {"Vary": "Accept"}
    if outcome.truncated:
        headers["X-KG-Truncated"] = "true"
        headers["X-KG-Max-Rows"] = str(settings.max_rows)
        headers["Warning"] = f'199 - "results truncated to {settings.max_rows} rows (setting KG_MAX_ROWS)"'
    response = Response(b"".join(outcome.body), media_type=content_type(outcome.media_type), headers=headers)
    return cache.remember(state, key, response, outcome.form, truncated=outcome.truncated)


def bounded_answer(state: Any, text: str, accept: str | None, client: str, key: cache.Key | None) -> Response | None:
    """The answer to a GET of a provably bounded query on the default graph, run in the fast lane under the
    client's limit; None when it must take the usual way (not bounded, no fast-lane slot free). KGErrors pass:
    the caller then hands the request to the usual way, which answers the error as always."""
    settings: Settings = state.settings
    if len(text) > settings.max_query_length:
        return None
    with state.limiter.slot(client):
        outcome = state.queries.run_bounded(text, accept=accept, max_rows=settings.max_rows)
    return None if outcome is None else respond(state, key, outcome)


def apply_update(request: Request, text: str, params: Sequence[tuple[str, str]]) -> Response:
    """Run a SPARQL Update for a client holding the token; the answer says which graphs changed."""
    writer: Writer = request.app.state.writer
    writer.authorize(request.headers.get("authorization"))
    if _field(params, "using-graph-uri") is not None or _field(params, "using-named-graph-uri") is not None:
        raise InputError("using-graph-uri / using-named-graph-uri: not supported; expected USING <iri> "
                         "or WITH <iri> in the update itself")
    _check_length(text, request.app.state.settings)
    changed = writer.update(text)
    lines = [f"update applied; {len(changed)} graphs changed", *(f"<{iri}>" for iri in changed)]
    return Response("\n".join(lines) + "\n", media_type="text/plain; charset=utf-8")


def _check_length(text: str, settings: Settings) -> None:
    if len(text) > settings.max_query_length:
        raise DocumentTooLarge(f"SPARQL text: expected at most {settings.max_query_length} characters, "
                               f"got {len(text)} (setting max_query_length)")


def _field(params: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in params if key == name), None)


def _all(params: Sequence[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in params if key == name]
