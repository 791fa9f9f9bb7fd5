"""Request bodies: read with the size limit (413 before the limit is passed), media type, form fields.

Bodies are read on the event loop (async, bounded) so that the plain `def` handlers get bytes.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request

from kg.config import Settings
from kg.errors import DocumentTooLarge, InputError


async def request_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it passes settings.max_body_bytes (declared or streamed)."""
    settings: Settings = request.app.state.settings
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise DocumentTooLarge(f"request body: expected at most {limit} bytes, got {declared} (setting max_body_bytes)")
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DocumentTooLarge(f"request body: expected at most {limit} bytes, got more (setting max_body_bytes)")
        parts.append(chunk)
    return b"".join(parts)


def media_type(request: Request) -> str:
    """The request's Content-Type without parameters, lower case ("" when missing)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def form_fields(body: bytes) -> list[tuple[str, str]]:
    """The fields of an application/x-www-form-urlencoded body, repeated names kept in order."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("form body: expected UTF-8 percent-encoded text") from None
    return parse_qsl(text, keep_blank_values=True)


def utf8_text(body: bytes, what: str) -> str:
    """The body as text; InputError when it is not UTF-8."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{what}: expected UTF-8 text ({error})") from None
