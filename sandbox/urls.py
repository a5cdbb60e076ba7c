from django.urls import path

from . import views

urlpatterns = [
    path("api/submissions/", views.create_submission, name="submission_create"),
    path("api/submissions/<int:pk>/", views.submission_detail, name="submission_detail"),
]
