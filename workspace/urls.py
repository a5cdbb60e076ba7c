from django.urls import path

from . import views

# The exercise workspace: the page, live lint, the learner's history, and the submissions API it builds with.
urlpatterns = [
    path("exercises/<slug:slug>/", views.exercise_page, name="exercise"),
    path("api/lint/", views.lint, name="workspace_lint"),
    path("api/exercises/<slug:slug>/submissions/", views.history, name="workspace_history"),
    path("api/exercises/<slug:slug>/submissions/<int:pk>/files/", views.attempt_files, name="workspace_attempt_files"),
    path("api/submissions/", views.create_submission, name="submission_create"),
    path("api/submissions/<int:pk>/", views.submission_detail, name="submission_detail"),
]
