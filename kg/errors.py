"""Every user-facing error of Scholar KG, in one tree; each says what, where and what was expected.

    KGError                       exit 2 / HTTP 400 unless stated
    ├── UsageError                a bad flag, setting or argument
    ├── InputError                a document or request body that cannot be read
    │   ├── ParseError            profile text that does not follow the format (source, line, expected)
    │   ├── DocumentTooLarge      a document over the ingest size limit            (HTTP 413)
    │   └── UnsupportedMediaType  a request body in a media type not accepted      (HTTP 415)
    ├── QueryError                SPARQL that cannot be run
    │   ├── QuerySyntaxError      not SPARQL 1.1
    │   ├── QueryRefused          SERVICE/FROM/LOAD/file: outside what is allowed (HTTP 400)
    │   ├── QueryTimeout          stopped after the time limit                    (HTTP 503)
    │   └── RemoteServiceError    a SERVICE endpoint failed or timed out          (HTTP 502)
    ├── NotAcceptable             no representation fits the Accept header         (HTTP 406)
    ├── NotFound                  no such resource or graph                        (HTTP 404)
    ├── Unauthorized              a write without the right token                  (HTTP 401)
    ├── WritesDisabled            a write while no update token is configured      (HTTP 403)
    ├── TooManyRequests           a client over its concurrency limit              (HTTP 429)
    ├── NonConformingData         data the SHACL shapes refuse                     (exit 1, HTTP 422)
    └── StoreError                the store cannot be opened or written            (HTTP 503)
        └── StoreLocked           another process holds the embedded store for writing

`EXIT_CODES` and `HTTP_STATUS` are the one table the CLI and the server read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class KGError(Exception):
    """Base of every error Scholar KG raises for a user's input or request."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its class, message and attributes (e.g. for errors coming back from worker processes)."""
        return _rebuilt, (type(self), self.message, dict(self.__dict__))


def _rebuilt(cls: type[KGError], message: str, state: dict[str, Any]) -> KGError:
    error = cls.__new__(cls)
    KGError.__init__(error, message)
    error.__dict__.update(state)
    return error


class UsageError(KGError):
    """A command-line flag, setting or argument is not acceptable."""


class InputError(KGError):
    """A document or request body cannot be read."""


class ParseError(InputError):
    """Profile text that does not follow the profile format.

    The message reads `source:line: expected X, got Y`, the form compilers use, so editors can jump to it.
    """

    def __init__(self, source: str | Path, line: int, expected: str, got: str | None = None) -> None:
        self.source = str(source)
        self.line = line
        self.expected = expected
        self.got = got
        shown = "" if got is None else f", got {_shorten(got)!r}"
        super().__init__(f"{self.source}:{line}: expected {expected}{shown}")


class DocumentTooLarge(InputError):
    """A document larger than the configured ingest limit."""


class UnsupportedMediaType(InputError):
    """A request body whose Content-Type the server does not read (e.g. RDF/XML from the public)."""


class QueryError(KGError):
    """A SPARQL request that cannot be run."""


class QuerySyntaxError(QueryError):
    """Text that is not SPARQL 1.1."""


class QueryRefused(QueryError):
    """A query that would reach outside what this endpoint allows (SERVICE, FROM, LOAD, file:)."""


class QueryTimeout(QueryError):
    """A query stopped after the configured time limit."""


class RemoteServiceError(QueryError):
    """A SERVICE endpoint failed, refused or did not answer in time."""


class NotAcceptable(KGError):
    """No representation matches the request's Accept header."""


class NotFound(KGError):
    """No such resource, graph or file."""


class Unauthorized(KGError):
    """A write request without the right bearer token."""


class WritesDisabled(KGError):
    """A write request while the server has no update token configured."""


class TooManyRequests(KGError):
    """A client over its limit of concurrent queries."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NonConformingData(KGError):
    """Data refused by the SHACL shapes; `report_text` holds the findings in words."""

    def __init__(self, message: str, report_text: str = "") -> None:
        super().__init__(message)
        self.report_text = report_text


class StoreError(KGError):
    """The store cannot be opened, read or written."""


class StoreLocked(StoreError):
    """Another process holds the embedded store open for writing."""


# One table: the CLI exit code and HTTP status of each error class (the most specific class wins).
EXIT_CODES: dict[type[KGError], int] = {
    KGError: 2,
    NonConformingData: 1,
}

HTTP_STATUS: dict[type[KGError], int] = {
    KGError: 400,
    DocumentTooLarge: 413,
    UnsupportedMediaType: 415,
    QueryTimeout: 503,
    RemoteServiceError: 502,
    NotAcceptable: 406,
    NotFound: 404,
    Unauthorized: 401,
    WritesDisabled: 403,
    TooManyRequests: 429,
    NonConformingData: 422,
    StoreError: 503,
}


def _lookup(table: dict[type[KGError], int], error: KGError) -> int:
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]
    return table[KGError]


def exit_code(error: KGError) -> int:
    """The CLI exit code for `error`: 1 when data does not conform, 2 for input or usage errors."""
    return _lookup(EXIT_CODES, error)


def http_status(error: KGError) -> int:
    """The HTTP status code for `error`."""
    return _lookup(HTTP_STATUS, error)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
