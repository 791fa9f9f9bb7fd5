"""create_app(store, settings) -> FastAPI: state, middleware, routers, and the one error handler.

Every KGError becomes the status kg.errors.http_status gives it, with a readable body; anything else is a 500
with a generic body and a logged traceback.
"""

from __future__ import annotations

import logging
import re
import warnings
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from kg import __version__
from kg.config import Settings
from kg.errors import KGError, NonConformingData, TooManyRequests, Unauthorized, http_status
from kg.ingest import Pipeline
from kg.sandbox import ClientLimiter, QueryPool
from kg.server import describe, downloads, graphstore, ops, pages, sparql
from kg.server.fastpath import CachedAnswers
from kg.server.negotiate import HTML, Offer, choose
from kg.server.writes import Writer
from kg.store import Store
from kg.web.render import PageRenderer, static_dir

log = logging.getLogger("kg.server")

DESCRIPTION = """A SPARQL 1.1 endpoint (Protocol, Update, Graph Store) and linked-data site over Scholar KG.

Queries see the union of all named graphs as their default graph. Writes need `Authorization: Bearer <token>`
and are disabled unless the server has `KG_UPDATE_TOKEN` set. See docs/server.md."""

_ERROR_OFFERS = (Offer("text", "text/plain"), Offer("json", "application/json"), HTML)
_ERRORS = {"400": "Bad request (a parameter, the query or the body)", "404": "Not found",
           "406": "No representation fits the Accept header", "429": "Too many queries from this client at once",
           "503": "The query was stopped at the time limit, or no query worker became free"}


def create_app(store: Store, settings: Settings, *, pipeline: Pipeline | None = None,
               queries: QueryPool | None = None) -> FastAPI:
    """The application over `store`; `pipeline` (validator and reasoner for writes) is built lazily if None.

    Public queries run in `queries` (killable worker processes; one is started over `store` if None). Every write
    goes through `queries.store`, which replays it to the workers' replicas.
    """
    app = FastAPI(title="Scholar KG", version=__version__, description=DESCRIPTION, docs_url=None, redoc_url=None,
                  openapi_tags=[{"name": name} for name in ("SPARQL", "Graph Store", "Description", "Downloads",
                                                             "Operations")])
    queries = queries or QueryPool(store, settings)
    app.state.queries = queries
    app.state.limiter = ClientLimiter(settings.max_concurrent_per_client)
    app.state.store = queries.store
    app.state.settings = settings
    app.state.writer = Writer(queries.store, settings, pipeline)
    app.state.pipeline = pipeline
    app.state.metrics = ops.Metrics()
    app.state.renderer = PageRenderer(settings.base_iri)
    app.state.fast_answers = True  # cache hits answered before routing (kg.server.fastpath)
    _add_error_handlers(app)
    for router in (sparql.router, graphstore.router, describe.router, downloads.router, ops.router):
        app.include_router(router)
    app.include_router(pages.router)  # the HTML pages, the query UI and entity dereferencing
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
    app.add_api_route("/docs", _swagger_ui, methods=["GET"], include_in_schema=False)
    _add_middleware(app, settings)
    _openapi(app)
    return app


_SWAGGER = "/static/vendor/swagger-ui/"


def _swagger_ui() -> HTMLResponse:
    """Swagger UI from the vendored files: nothing is loaded from a CDN, and its validator badge is off."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title="Scholar KG API", swagger_js_url=_SWAGGER + "swagger-ui-bundle.js",
        swagger_css_url=_SWAGGER + "swagger-ui.css", swagger_favicon_url=_SWAGGER + "favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None})


def _openapi(app: FastAPI) -> None:
    """Build the OpenAPI document once, now, with one unique and stable operationId per route and method.

    FastAPI gives a GET+HEAD route one id for both methods (and warns about it, which the tests turn into
    errors): the warning is silenced here, at build time, and each operation gets its method appended.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Duplicate Operation ID", category=UserWarning)
        schema = app.openapi()
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            base = re.sub(r"\W+", "_", f"{operation.get('summary', '')}_{path}").strip("_").lower()
            operation["operationId"] = f"{base}_{method}"
            if operation.get("parameters") or "requestBody" in operation:  # errors any request can get
                _drop_default_validation_error(operation["responses"])
                for code, text in _ERRORS.items():
                    operation["responses"].setdefault(code, {"description": text})
    schemas = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    if "components" in schema and not schemas:
        schema["components"].pop("schemas", None)


def _drop_default_validation_error(responses: dict[str, Any]) -> None:
    """FastAPI documents a 422 with its validation-error model on every operation with parameters; bad parameters
    get 400 here (`_validation_error`), and 422 means only what a route declares (shapes refused a write)."""
    content = responses.get("422", {}).get("content", {}).get("application/json", {})
    if content.get("schema", {}).get("$ref") == "#/components/schemas/HTTPValidationError":
        del responses["422"]


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    """Outermost last: metrics see every request with its final status, gzip sits inside them, and cache hits
    are answered inside all of them, so a hit passes through the same gzip, CORS and metrics as a miss."""
    app.add_middleware(CachedAnswers, state=app.state)
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_credentials=False,
                           allow_methods=["GET", "HEAD", "POST"], allow_headers=["Accept", "Content-Type"],
                           expose_headers=["X-KG-Truncated", "X-KG-Max-Rows"])
    app.add_middleware(ops.MetricsMiddleware, metrics=app.state.metrics)


def _add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(KGError, _kg_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


def _kg_error(request: Request, error: KGError) -> Response:
    status = http_status(error)
    text = error.message
    if isinstance(error, NonConformingData) and error.report_text:
        text = f"{text}\n\n{error.report_text}"
    headers: dict[str, str] = {}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="scholar-kg"'
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    if status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, error.message)
    return error_response(request, status, text, headers)


def _http_error(request: Request, error: StarletteHTTPException) -> Response:
    return error_response(request, error.status_code, str(error.detail), dict(error.headers or {}))


def _validation_error(request: Request, error: RequestValidationError) -> Response:
    problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in error.errors())
    return error_response(request, 400, f"request: {problems}")


def _unexpected(request: Request, error: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=error)
    return error_response(request, 500, "internal server error; the server log has the details")


def error_response(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The error in the representation the client prefers: text/plain (default), JSON, or an HTML page."""
    try:
        kind = choose(request.headers.get("accept"), _ERROR_OFFERS).name
    except KGError:
        kind = "text"
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if kind == "json":
        return JSONResponse({"status": status, "error": title, "message": message}, status, headers)
    if kind == "html":
        renderer: PageRenderer = request.app.state.renderer
        page = renderer.render("error.html", title=title, status=status, message=message)
        return HTMLResponse(page, status, {**pages.SECURITY_HEADERS, **(headers or {})})
    return PlainTextResponse(message + "\n", status, headers)
