"""`manage.py teach_bench`: time the class dashboard for a big class (200 learners × 20 attempts by default).

Everything is built inside one transaction on the configured database and rolled back at the end, so the
database is left as it was. The course must be loaded (`make lessons`) or is loaded inside the transaction.
Prints the median render time of each page over a few rounds, the queries each made and the page size; it
asserts nothing.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lessons.loader import load_course
from lessons.models import Exercise, Lesson, LessonProgress, Question
from practice.models import PracticeAttempt
from sandbox.models import Submission
from teach import course_views, views
from teach.models import CheckResult, Classroom, Membership, check_results_for

DOCKERFILE = "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
FAILURES = [
    "the image is {} MB; this exercise allows 60 MB.",
    "the final stage runs as root (USER {} is missing).",
    "the command exited with code {}; it should exit with 0.",
]


class Rollback(Exception):
    """Raised to undo everything the benchmark built."""


class Command(BaseCommand):
    help = "Time the class dashboard for a class of many learners (built in a transaction that is rolled back)."

    def add_arguments(self, parser):
        parser.add_argument("--learners", type=int, default=200)
        parser.add_argument("--attempts", type=int, default=20, help="graded submissions per learner")
        parser.add_argument("--answers", type=int, default=60, help="practice answers per learner")
        parser.add_argument("--rounds", type=int, default=5)
        parser.add_argument("--seed", type=int, default=14)

    def handle(self, *args, learners: int, attempts: int, answers: int, rounds: int, seed: int, **options):
        self.random = random.Random(seed)
        lines: list[str] = []
        try:
            with transaction.atomic():
                started = time.monotonic()
                classroom, counts = self.build(learners, attempts, answers)
                lines.append(
                    f"Class of {learners} learners × {attempts} attempts: {counts['submissions']} submissions, "
                    f"{counts['verdicts']} verdicts, {counts['answers']} practice answers, {counts['exercises']} "
                    f"exercises, {counts['questions']} questions, on {connection.vendor} "
                    f"(built in {time.monotonic() - started:.1f} s, then rolled back)"
                )
                pages = [
                    ("class dashboard (grid, exercises, checks, questions)", views.class_dashboard, (classroom.pk,)),
                    ("grid.csv", views.class_csv, (classroom.pk, "grid")),
                    ("checks.csv", views.class_csv, (classroom.pk, "checks")),
                    ("questions.csv", views.class_csv, (classroom.pk, "questions")),
                    ("course-wide analytics (staff)", course_views.course_analytics, ()),
                ]
                for label, view, view_args in pages:
                    lines.append(self.time_page(label, view, view_args, classroom.instructor, rounds))
                raise Rollback
        except Rollback:
            pass
        self.stdout.write("\n".join(lines))

    # --- Building the class ---------------------------------------------------------------------------------------

    def build(self, learner_count: int, attempt_count: int, answer_count: int) -> tuple[Classroom, dict]:
        if not Exercise.objects.exists():
            load_course(settings.LESSONS_CONTENT_DIR)
        exercises = list(Exercise.objects.select_related("lesson"))
        questions = list(Question.objects.all())
        lessons = list(Lesson.objects.all())
        tag = f"bench-{self.random.randrange(10**6):06d}"
        teacher = User.objects.create(username=f"{tag}-teacher", is_staff=True)
        classroom = Classroom.objects.create(name="Benchmark class", instructor=teacher)
        learners = User.objects.bulk_create(User(username=f"{tag}-{n:03d}") for n in range(learner_count))
        Membership.objects.bulk_create(Membership(classroom=classroom, user=learner) for learner in learners)
        submissions = Submission.objects.bulk_create(
            submission for learner in learners for submission in self.attempts_of(learner, exercises, attempt_count)
        )
        verdicts = CheckResult.objects.bulk_create(row for s in submissions for row in check_results_for(s))
        answers = PracticeAttempt.objects.bulk_create(
            answer for learner in learners for answer in self.answers_of(learner, questions, answer_count)
        )
        LessonProgress.objects.bulk_create(
            LessonProgress(user=learner, lesson=lesson)
            for learner in learners
            for lesson in self.random.sample(lessons, self.random.randrange(len(lessons) + 1))
        )
        counts = {
            "submissions": len(submissions),
            "verdicts": len(verdicts),
            "answers": len(answers),
            "exercises": len(exercises),
            "questions": len(questions),
        }
        return classroom, counts

    def attempts_of(self, learner: User, exercises: list[Exercise], count: int) -> list[Submission]:
        """A learner's graded submissions: through the exercises in order, a few attempts each, the last
        of each run passing."""
        now = timezone.now()
        made = []
        exercise_index = 0
        while len(made) < count:
            exercise = exercises[exercise_index % len(exercises)]
            tries = min(self.random.randint(1, 5), count - len(made))
            for attempt in range(tries):
                passing = attempt == tries - 1 and self.random.random() < 0.8
                made.append(self.submission(learner, exercise, passing, now + timedelta(minutes=len(made) * 7)))
            exercise_index += 1
        return made

    def submission(self, learner: User, exercise: Exercise, passing: bool, at) -> Submission:
        checks = []
        for check in exercise.spec.get("checks", []):
            passed = passing or self.random.random() < 0.6
            message = "ok" if passed else self.random.choice(FAILURES).format(self.random.randint(1, 400))
            checks.append(
                {"id": check["id"], "type": check["type"], "title": check["title"], "status": "passed" if passed else "failed",
                 "passed": passed, "message": message, "hint": check.get("hint", ""), "section_url": "", "points": 1}
            )  # fmt: skip
        passed_all = all(check["passed"] for check in checks)
        score = round(100 * sum(check["passed"] for check in checks) / len(checks)) if checks else 100
        steps = [
            {"index": n, "total": 4, "instruction": line, "cached": False}
            for n, line in enumerate(DOCKERFILE.split("\n"))
        ]
        return Submission(
            user=learner,
            exercise=exercise,
            files={"Dockerfile": DOCKERFILE, "app.py": "print('hello')\n" * 10},
            status=Submission.Status.PASSED if passed_all else Submission.Status.FAILED,
            score=score,
            message="All checks passed." if passed_all else "Some checks failed.",
            result={"passed": passed_all, "score": score, "checks": checks, "build": {"ok": True, "steps": steps}},
            attempts=1,
            finished_at=at + timedelta(seconds=40),
        )

    def answers_of(self, learner: User, questions: list[Question], count: int) -> list[PracticeAttempt]:
        skill = self.random.random()
        now = timezone.now()
        made = []
        modes = list(PracticeAttempt.Mode.values)
        while len(made) < count:
            question = self.random.choice(questions)
            for repeat in range(min(self.random.randint(1, 3), count - len(made))):
                made.append(
                    PracticeAttempt(
                        user=learner,
                        question=question,
                        correct=self.random.random() < 0.3 + 0.6 * skill + 0.1 * repeat,
                        mode=self.random.choice(modes),
                        answered_at=now + timedelta(minutes=len(made)),
                    )
                )
        return made

    # --- Timing ---------------------------------------------------------------------------------------------------

    def time_page(self, label: str, view, view_args: tuple, user: User, rounds: int) -> str:
        host = next((name for name in settings.ALLOWED_HOSTS if name not in {"*", ""}), "localhost").lstrip(".")
        factory = RequestFactory(HTTP_HOST=host)
        seconds = []
        # The first round warms caches (templates, the course's rows) and counts the queries; it is not timed.
        request = factory.get("/")
        request.user = user
        with CaptureQueriesContext(connection) as captured:
            response = view(request, *view_args)
        assert response.status_code == 200, f"{label} answered {response.status_code}"
        queries, size = len(captured.captured_queries), len(response.content)
        for _ in range(rounds):
            request = factory.get("/")
            request.user = user
            started = time.perf_counter()
            view(request, *view_args)
            seconds.append(time.perf_counter() - started)
        median = statistics.median(seconds)
        return (
            f"  {label:<54} median {median:5.2f} s  (min {min(seconds):.2f} s, {rounds} rounds, "
            f"{queries} queries, {size // 1024} KB)"
        )
