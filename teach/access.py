"""Who may see what: instructors run classes, each class only by its own instructor; staff see the course.

A visitor who is not logged in is sent to the log-in page. A logged-in learner who asks for an instructor's
page gets 403; anyone who asks for a class that is not theirs gets 404, the same answer as a class that does
not exist, so class ids reveal nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from .models import Classroom, is_instructor


def _require(allowed: Callable[[object], bool], refusal: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not allowed(request.user):
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


instructor_required = _require(
    is_instructor, "Only instructors can run classes. Ask a site administrator to add you to the instructors group."
)
staff_required = _require(lambda user: user.is_staff, "Only staff can see the course-wide analytics and preview.")


def own_class(request: HttpRequest, pk: int) -> Classroom:
    """The class with this id if the user is its instructor; 404 otherwise."""
    return get_object_or_404(Classroom, pk=pk, instructor=request.user)
