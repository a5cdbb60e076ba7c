"""Moving the practice models from the lessons app to the practice app keeps every row."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from lessons.models import Question
from practice.models import Card, MockInterview, PracticeAttempt

BEFORE_THE_MOVE = [("lessons", "0002_practice")]

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(targets: list[tuple[str, str]]):
    """Migrate the test database to `targets` and return the models as they were at that point."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def old_models():
    """The models as they were before the move, with the database migrated to match; restored afterwards."""
    try:
        yield migrate(BEFORE_THE_MOVE)
    finally:
        migrate(latest())


def make_practice_history(apps) -> dict:
    """A learner with one practice attempt, one card and one mock interview, made with the old models."""
    user = apps.get_model("auth", "User").objects.create(username="ada")
    lesson = apps.get_model("lessons", "Lesson").objects.create(
        slug="images", order=1, title="Images", body_markdown="", body_html=""
    )
    exercise = apps.get_model("lessons", "Exercise").objects.create(lesson=lesson, slug="first", title="First")
    question = apps.get_model("lessons", "Question").objects.create(
        lesson=lesson, key="images/q", kind="choice", prompt="?"
    )
    answered_at = timezone.now() - timedelta(days=1)
    attempt = apps.get_model("lessons", "PracticeAttempt").objects.create(
        user=user, question=question, correct=True, mode="flashcard", answered_at=answered_at
    )
    card = apps.get_model("lessons", "Card").objects.create(
        user=user, question=question, ease=2.36, interval=6, repetitions=2, lapses=1
    )
    mock = apps.get_model("lessons", "MockInterview").objects.create(
        public_id=uuid.uuid4(),
        user=user,
        deadline=timezone.now() + timedelta(minutes=20),
        questions=[question.pk],
        answers={str(question.pk): {"correct": True, "answer": 0}},
        exercise=exercise,
        challenge_result={"score": 50, "messages": ["✓ CMD uses the exec form"]},
    )
    return {"user": user, "question": question, "attempt": attempt, "card": card, "mock": mock}


def test_the_practice_rows_made_before_the_move_are_read_through_the_practice_models(old_models):
    old = make_practice_history(old_models)
    migrate(latest())

    attempt = PracticeAttempt.objects.get()
    assert (attempt.pk, attempt.user.username, attempt.question.key) == (old["attempt"].pk, "ada", "images/q")
    assert (attempt.correct, attempt.mode, attempt.answered_at) == (True, "flashcard", old["attempt"].answered_at)
    card = Card.objects.get()
    assert (card.pk, card.question.key, card.ease, card.interval, card.repetitions, card.lapses) == (
        old["card"].pk,
        "images/q",
        2.36,
        6,
        2,
        1,
    )
    mock = MockInterview.objects.get()
    assert (mock.pk, mock.public_id, mock.user.username, mock.exercise.slug) == (
        old["mock"].pk,
        old["mock"].public_id,
        "ada",
        "first",
    )
    assert mock.questions == [old["question"].pk]
    assert mock.answers == {str(old["question"].pk): {"correct": True, "answer": 0}}
    assert mock.challenge_result == {"score": 50, "messages": ["✓ CMD uses the exec form"]}


def test_the_practice_tables_take_the_practice_apps_names_and_new_rows_follow_the_old_ones(old_models):
    old = make_practice_history(old_models)
    migrate(latest())

    tables = set(connection.introspection.table_names())
    assert {"practice_practiceattempt", "practice_card", "practice_mockinterview"} <= tables
    assert not {"lessons_practiceattempt", "lessons_card", "lessons_mockinterview"} & tables
    user, question = User.objects.get(username="ada"), Question.objects.get(key="images/q")
    newer = PracticeAttempt.objects.create(user=user, question=question, correct=False, mode="quiz")
    assert newer.pk > old["attempt"].pk


def test_permissions_granted_on_the_practice_models_before_the_move_are_kept(old_models):
    old = make_practice_history(old_models)
    permission = old_models.get_model("auth", "Permission").objects.get(
        content_type__app_label="lessons", codename="change_card"
    )
    old["user"].user_permissions.add(permission)
    migrate(latest())

    assert User.objects.get(username="ada").has_perm("practice.change_card")
