"""Account pages, mounted at /accounts/ by tutorial/urls.py before Django's own log-in and log-out pages, so
the throttled log-in page here answers /accounts/login/."""

from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.ThrottledLoginView.as_view(), name="login"),
    path("signup/", views.signup, name="signup"),
    path("profile/", views.profile, name="profile"),
]
