"""Request bodies over the limit (DATA_UPLOAD_MAX_MEMORY_SIZE) are refused with 413 and words: JSON on /api/
paths, a short page elsewhere; never Django's HTML 400 or the debug page.

The limit is set in tutorial/settings.py from the submission limit (a submission's files, JSON-escaped, fit
under it). Two guards say the same thing at two depths:

- `RequestBodyLimit` wraps the ASGI application (tutorial/asgi.py): it refuses a body whose Content-Length is
  over the limit before the application reads any of it, and stops reading a body sent without one as soon as
  it passes the limit, so Django never copies an oversized body into a file of its own.
- `RequestTooLargeMiddleware` does the same inside Django (for any server, and the test client), and turns
  Django's own RequestDataTooBig into the same answer.

Daphne (Twisted) itself receives a whole body, into a temporary file, before it hands the request on; in
production the reverse proxy in front of it should refuse oversized bodies too (docs/security.md).
"""

from __future__ import annotations

import json

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Request too large · Dockyard</title></head>
<body><h1>That was too much to send</h1><p>{message}</p><p><a href="/">Back to Dockyard</a></p></body></html>
"""


def too_large_message() -> str:
    limit_mib = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
    files_mib = settings.SUBMISSION_MAX_TOTAL_BYTES / (1024 * 1024)
    return (
        f"The request is larger than the {limit_mib:.1f} MiB this site accepts. A submission's files may "
        f"total at most {files_mib:g} MiB; send less and try again."
    )


def too_large_body(path: str) -> tuple[bytes, bytes]:
    """The body and content type of the 413 answer for a path."""
    if path.startswith(API_PREFIX):
        return json.dumps({"error": too_large_message()}).encode(), b"application/json"
    return PAGE.format(message=too_large_message()).encode(), b"text/html; charset=utf-8"


def declared_length(value: str | bytes | None) -> int | None:
    try:
        return int(value) if value not in (None, b"", "") else None
    except ValueError:
        return None


# --- In Django ----------------------------------------------------------------------------------------------------


def too_large_response(path: str) -> HttpResponse:
    if path.startswith(API_PREFIX):
        return JsonResponse({"error": too_large_message()}, status=413)
    return HttpResponse(PAGE.format(message=too_large_message()), status=413)


class RequestTooLargeMiddleware:
    """Answer 413 with words for a body over the limit (first in MIDDLEWARE, before anything reads the body)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        return self._refusal(request) or self.get_response(request)

    async def _acall(self, request: HttpRequest):
        return self._refusal(request) or await self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        length = declared_length(request.META.get("CONTENT_LENGTH"))
        if length is not None and length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return too_large_response(request.path)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return too_large_response(request.path)
        return None


# --- In front of Django (ASGI) ------------------------------------------------------------------------------------


class _BodyTooLarge(Exception):
    pass


class RequestBodyLimit:
    """ASGI middleware: refuse an HTTP request body over DATA_UPLOAD_MAX_MEMORY_SIZE before Django reads it."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        headers = dict(scope.get("headers") or [])
        length = declared_length(headers.get(b"content-length"))
        if length is not None and length > limit:
            await self._refuse(scope, send)
            return
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLarge:
            # Django reads the whole body before it answers, so nothing has been sent yet.
            await self._refuse(scope, send)

    async def _refuse(self, scope, send) -> None:
        body, content_type = too_large_body(scope.get("path", ""))
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        # The client may still be sending; closing the connection after the answer is the honest thing.
        headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
