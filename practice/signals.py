"""On log-in, the practice an anonymous visitor did in their session becomes their account's."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .stores import merge_session_into_account


@receiver(user_logged_in, dispatch_uid="practice.merge_session_on_login")
def merge_practice_on_login(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        merge_session_into_account(request.session, user)
