"""Account pages, mounted at /accounts/ by tutorial/urls.py next to Django's log-in and log-out pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("profile/", views.profile, name="profile"),
]
