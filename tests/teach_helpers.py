"""Plain factories for the teaching tests: a small course, classes, and submissions graded with scripted verdicts."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.contrib.auth.models import Group, User

from lessons.models import Exercise, Lesson, Question
from ops.livestack import free_port, stop_process, wait_for_port
from practice.models import PracticeAttempt
from sandbox.models import Submission
from teach.models import INSTRUCTORS_GROUP, Classroom, Membership

from .conftest import make_user

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PASSED, FAILED, SKIPPED, ERROR = "passed", "failed", "skipped", "error"


def make_lesson(slug: str, order: int, title: str | None = None) -> Lesson:
    return Lesson.objects.create(
        slug=slug,
        order=order,
        title=title or slug.replace("-", " ").capitalize(),
        body_markdown="Intro.\n\n## First section\n\nText.\n",
        body_html='<p>Intro.</p><h2 id="first-section">First section</h2><p>Text.</p>',
        toc=[{"level": 2, "anchor": "first-section", "title": "First section"}],
    )


def make_exercise(lesson: Lesson, slug: str, checks: list[tuple[str, str, str]], order: int = 0) -> Exercise:
    """An exercise whose spec lists checks as (id, type, title)."""
    return Exercise.objects.create(
        lesson=lesson,
        slug=slug,
        order=order,
        title=slug.replace("-", " ").capitalize(),
        prompt_markdown="Do it.",
        prompt_html="<p>Do it.</p>",
        spec={"checks": [{"id": ident, "type": kind, "title": title} for ident, kind, title in checks]},
        starter_files={"Dockerfile": "FROM busybox:latest\n"},
        solution_files={"Dockerfile": "FROM busybox:latest\nUSER nobody\n"},
    )


def make_question(lesson: Lesson, ident: str, order: int = 0) -> Question:
    return Question.objects.create(
        lesson=lesson,
        key=f"{lesson.slug}/{ident}",
        kind=Question.Kind.CHOICE,
        prompt=f"Question {ident}?",
        data={"options": ["One", "Two"], "answer": 0},
        explanation="Because.",
        order=order,
    )


def make_instructor(username: str = "teacher") -> User:
    user = make_user(username)
    group, _ = Group.objects.get_or_create(name=INSTRUCTORS_GROUP)
    user.groups.add(group)
    return user


def make_class(instructor: User, name: str = "Docker 101", learners=(), **fields) -> Classroom:
    classroom = Classroom.objects.create(name=name, instructor=instructor, **fields)
    for learner in learners:
        Membership.objects.create(classroom=classroom, user=learner)
    return classroom


def grade(
    user: User,
    exercise: Exercise,
    verdicts: dict[str, tuple[str, str]],
    at: datetime,
    seconds: float = 60,
    files: dict | None = None,
    log: str = "",
) -> Submission:
    """A submission graded through its real lifecycle (queue, start, finish) with the given verdicts
    ({check id: (status, message)}), then dated: created at `at`, graded `seconds` later."""
    submission = Submission.queue(user, exercise, files or {"Dockerfile": f"FROM busybox:latest\n# {at:%H%M}\n"})
    submission.claim("test")
    if log:
        submission.publish("log", text=log)
    checks = []
    for check in exercise.spec["checks"]:
        status, message = verdicts.get(check["id"], (PASSED, "ok"))
        checks.append(
            {
                "id": check["id"],
                "type": check["type"],
                "title": check["title"],
                "status": status,
                "passed": status == PASSED,
                "message": message,
                "hint": "",
                "section_url": "",
                "points": 1,
            }
        )
    passed = all(check["passed"] for check in checks)
    score = round(100 * sum(check["passed"] for check in checks) / len(checks))
    message = "All checks passed." if passed else "Some checks failed."
    submission.finish(
        {"passed": passed, "score": score, "message": message, "checks": checks, "image": None, "build": None}
    )
    Submission.objects.filter(pk=submission.pk).update(created_at=at, finished_at=at + timedelta(seconds=seconds))
    submission.refresh_from_db()
    return submission


def could_not_finish(user: User, exercise: Exercise, at: datetime) -> Submission:
    submission = Submission.queue(user, exercise, {"Dockerfile": "FROM busybox:latest\n"})
    submission.claim("test")
    submission.fail("The sandbox went away. Please submit again.", reason="daemon_unavailable")
    Submission.objects.filter(pk=submission.pk).update(created_at=at, finished_at=at + timedelta(seconds=5))
    return submission


def answer(user: User, question: Question, correct: bool, at: datetime, mode: str = "quiz") -> PracticeAttempt:
    return PracticeAttempt.objects.create(user=user, question=question, correct=correct, mode=mode, answered_at=at)


class AuthorServer:
    """`manage.py author` in a subprocess, on a SQLite file and a course folder of its own, with a staff user."""

    USERNAME, PASSWORD = "author", "pw-author-1"

    def __init__(self, workdir: Path, content: Path):
        self.workdir = workdir
        self.content = content
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "LESSONS_CONTENT_DIR": str(content),
            "DEBUG": "true",
            "PYTHONUNBUFFERED": "1",
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return (self.workdir / "author.log").read_text()

    def start(self) -> AuthorServer:
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=self.env, check=True, timeout=120)
        code = f"from django.contrib.auth.models import User; User.objects.create_superuser({self.USERNAME!r}, '', {self.PASSWORD!r})"
        subprocess.run([*manage, "shell", "-c", code], cwd=ROOT, env=self.env, check=True, timeout=60)
        with open(self.workdir / "author.log", "wb") as log:
            self.process = subprocess.Popen(
                [*manage, "author", f"127.0.0.1:{self.port}", "--interval", "0.2"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        stop_process(self.process)
