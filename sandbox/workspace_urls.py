from django.urls import path

from . import workspace_views

# The exercise workspace: the page, the live lint endpoint and the learner's submission history.
urlpatterns = [
    path("exercises/<slug:slug>/", workspace_views.exercise_page, name="exercise"),
    path("api/lint/", workspace_views.lint, name="workspace_lint"),
    path("api/exercises/<slug:slug>/submissions/", workspace_views.history, name="workspace_history"),
]
