"""Template helpers for the teaching pages, the profile's classes and the navigation's "Teach" link."""

from __future__ import annotations

from django import template

from ..models import Membership
from ..models import is_instructor as user_is_instructor

register = template.Library()


@register.filter
def is_instructor(user) -> bool:
    return user_is_instructor(user)


@register.simple_tag
def classes_of(user) -> list[Membership]:
    """The classes a learner is in, for their profile page."""
    if not user.is_authenticated:
        return []
    return list(Membership.objects.filter(user=user).select_related("classroom", "classroom__instructor"))


@register.filter
def percent(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.0f}%"


@register.filter
def decimal(value: float | None, places: int = 1) -> str:
    return "—" if value is None else f"{value:.{places}f}"


@register.filter
def duration(seconds: float | None) -> str:
    """A time span in words: "45 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
