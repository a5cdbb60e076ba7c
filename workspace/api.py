"""What every JSON endpoint of the workspace shares: errors in words, and reading a JSON body.

Every JSON answer that is not a success is {"error": "message in words"}, so the page can show it as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, JsonResponse


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def json_body(request: HttpRequest) -> dict | None:
    """The request body as a JSON object, or None when it is not one."""
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return body if isinstance(body, dict) else None


def login_required_json(message: str) -> Callable:
    """Answer 401 with `message` to a visitor who is not logged in (instead of redirecting to a page)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if not request.user.is_authenticated:
                return error(401, message)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
