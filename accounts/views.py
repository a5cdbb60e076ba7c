"""A learner's own pages: signing up, and the profile with course progress and practice stats."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from lessons.progress import course_progress
from practice.stats import practice_stats
from practice.stores import AccountStore

from .forms import SignUpForm


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("course")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome aboard, {user.username}! Your progress is saved from now on.")
        return redirect(request.GET.get("next") or "course")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    practice = practice_stats(AccountStore(request.user))
    return render(request, "accounts/profile.html", {"progress": course_progress(request.user), "practice": practice})
