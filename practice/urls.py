"""Practice URLs, mounted at /practice/ by tutorial/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.hub, name="practice"),
    path("quiz/", views.quiz_start, name="practice_quiz_start"),
    path("quiz/<slug:quiz_id>/", views.quiz_summary, name="practice_quiz"),
    path("quiz/<slug:quiz_id>/<int:number>/", views.quiz_question, name="practice_quiz_question"),
    path("flashcards/", views.flashcards, name="practice_flashcards"),
    path("flashcards/review/", views.flashcard_review, name="practice_flashcard_review"),
    path("mock/", views.mock_start, name="practice_mock_start"),
    path("mock/<uuid:mock_id>/", views.mock_detail, name="practice_mock"),
    path("mock/<uuid:mock_id>/<int:number>/", views.mock_question, name="practice_mock_question"),
    path("mock/<uuid:mock_id>/challenge/", views.mock_challenge, name="practice_mock_challenge"),
    path("mock/<uuid:mock_id>/finish/", views.mock_finish, name="practice_mock_finish"),
    path("mock/<uuid:mock_id>/report/", views.mock_report, name="practice_mock_report"),
]
