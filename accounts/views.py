"""A learner's own pages: signing up, logging in (throttled), and the profile with course progress and practice stats."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from lessons.progress import course_progress
from practice.stats import practice_stats
from practice.stores import AccountStore

from .forms import SignUpForm
from .throttle import (
    Lock,
    client_address,
    login_lock,
    record_login_failure,
    record_login_success,
    record_signup,
    signup_lock,
)


def refuse(request: HttpRequest, lock: Lock, what: str) -> HttpResponse:
    """The page a throttled visitor gets: what happened and when to try again (HTTP 429)."""
    context = {"what": what, "message": lock.message(), "minutes": lock.minutes_left()}
    response = render(request, "registration/throttled.html", context, status=429)
    response["Retry-After"] = str(lock.minutes_left() * 60)
    return response


class ThrottledLoginView(LoginView):
    """Django's log-in page, refused for a while after too many failures (accounts/throttle.py)."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        lock = login_lock(request.POST.get("username", ""), client_address(request))
        if lock is not None:
            return refuse(request, lock, "Log-in paused")
        return super().post(request, *args, **kwargs)

    def form_valid(self, form) -> HttpResponse:
        record_login_success(form.get_user().get_username())
        return super().form_valid(form)

    def form_invalid(self, form) -> HttpResponse:
        lock = record_login_failure(self.request.POST.get("username", ""), client_address(self.request))
        if lock is not None:
            return refuse(self.request, lock, "Log-in paused")
        return super().form_invalid(form)


def safe_next(request: HttpRequest) -> str | None:
    """The `next` address to go to after signing up, if it stays on this site."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("course")
    if request.method == "POST":
        lock = signup_lock(client_address(request))
        if lock is not None:
            return refuse(request, lock, "Sign-up paused")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        record_signup(client_address(request))
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome aboard, {user.username}! Your progress is saved from now on.")
        return redirect(safe_next(request) or "course")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    practice = practice_stats(AccountStore(request.user))
    return render(request, "accounts/profile.html", {"progress": course_progress(request.user), "practice": practice})
