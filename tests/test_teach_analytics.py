"""The class dashboard and its CSVs agree with a set of known attempts, number by number.

Six learners in a class, scripted submissions with verdicts at known times, and scripted practice answers.
Every expected number below is worked out by hand in the comments, from the script, not from the code.
A learner outside the class (zed) and an exercise and a question the class does not cover check the scope.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import timedelta
from types import SimpleNamespace

import pytest

from lessons.models import LessonProgress
from teach.models import CheckResult

from .conftest import make_user
from .teach_helpers import (
    FAILED,
    SKIPPED,
    T0,
    answer,
    could_not_finish,
    grade,
    make_class,
    make_exercise,
    make_instructor,
    make_lesson,
    make_question,
)

BIG = "the image is {} MB; this exercise allows 60 MB."
ROOT = "the final stage runs as root."
PARSE = "dockerfile parse error line 2: unknown instruction: RUNN"
UNCACHED = "the step matching 'pip install' was not cached after changing app.py."
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
# First tries (1 right, 0 wrong) of the class's learners on five questions, in quiz mode.
FIRST_TRIES = {
    #      easy hard good bad mid
    "ana": [1, 1, 1, 1, 1],
    "ben": [1, 0, 1, 0, 1],
    "cai": [1, 0, 0, 0, 1],
    "dee": [1, 0, 0, 1, 1],
    "eve": [1, 0, 0, 1, 0],
    "fay": [1, 0, 0, 1, 0],
}
QUESTIONS = ["easy", "hard", "good", "bad", "mid"]


@pytest.fixture
def known(db):
    basics, caching, extra = make_lesson("basics", 1), make_lesson("caching", 2), make_lesson("extra", 3)
    first = make_exercise(
        basics,
        "first-image",
        [("build", "build", "The image builds"), ("small-image", "image-size", "The image is small"),
         ("non-root", "non-root-user", "It runs as a user")],
    )  # fmt: skip
    cache = make_exercise(
        caching, "cache-order", [("build", "build", "The image builds"), ("cache", "cache", "Edits keep the cache")]
    )
    other = make_exercise(extra, "other-exercise", [("build", "build", "The image builds")])
    questions = {name: make_question(basics if i < 3 else caching, name, i) for i, name in enumerate(QUESTIONS)}
    other_question = make_question(extra, "other")

    teacher = make_instructor()
    people = {name: make_user(name) for name in ["ana", "ben", "cai", "dee", "eve", "fay", "zed"]}
    ana, ben, cai, dee, eve, fay, zed = people.values()
    classroom = make_class(teacher, learners=[ana, ben, cai, dee, eve, fay], due_at=T0 + 2 * DAY)
    classroom.exercises.set([first, cache])

    # first-image: build, small-image, non-root, one point each.
    grade(ana, first, {}, T0)  # 100
    grade(ben, first, {"small-image": (FAILED, BIG.format(152)), "non-root": (FAILED, ROOT)}, T0)  # 33
    grade(ben, first, {"small-image": (FAILED, BIG.format(148))}, T0 + 10 * MINUTE)  # 67
    grade(ben, first, {}, T0 + 30 * MINUTE)  # 100
    grade(cai, first, {"build": (FAILED, PARSE), "small-image": (SKIPPED, "skipped"), "non-root": (FAILED, ROOT)}, T0)
    grade(cai, first, {}, T0 + HOUR)  # 100
    grade(cai, first, {"small-image": (FAILED, BIG.format(75))}, T0 + 2 * HOUR)  # 67, after passing
    grade(dee, first, {"small-image": (FAILED, BIG.format(152))}, T0)  # 67
    could_not_finish(dee, first, T0 + HOUR)  # not an attempt
    grade(fay, first, {}, T0 + 3 * DAY)  # 100, after the due date
    grade(zed, first, {"small-image": (FAILED, BIG.format(152))}, T0)  # not in the class
    # cache-order: build, cache.
    grade(ana, cache, {"cache": (FAILED, UNCACHED)}, T0 + DAY)  # 50
    grade(ana, cache, {"cache": (FAILED, UNCACHED)}, T0 + DAY + 5 * MINUTE)  # 50
    grade(ana, cache, {}, T0 + DAY + 20 * MINUTE)  # 100
    grade(ben, cache, {}, T0 + DAY)  # 100
    grade(zed, cache, {}, T0)
    grade(ana, other, {"build": (FAILED, PARSE)}, T0)  # an exercise the class does not cover

    LessonProgress.objects.create(user=ana, lesson=basics)
    LessonProgress.objects.create(user=ana, lesson=caching)
    LessonProgress.objects.create(user=ben, lesson=basics)
    LessonProgress.objects.create(user=ana, lesson=extra)  # not covered by the class
    LessonProgress.objects.create(user=zed, lesson=basics)

    for offset, (name, row) in enumerate(FIRST_TRIES.items()):
        for index, right in enumerate(row):
            answer(people[name], questions[QUESTIONS[index]], bool(right), T0 + offset * HOUR + index * MINUTE)
    answer(ana, questions["easy"], True, T0 + DAY)  # repeats do not change first tries
    answer(ben, questions["hard"], True, T0 + DAY, mode="flashcard")
    answer(eve, questions["good"], True, T0 + DAY, mode="flashcard")
    answer(zed, questions["easy"], False, T0)
    answer(zed, questions["hard"], True, T0 + MINUTE)
    answer(ana, other_question, True, T0 + 2 * DAY)
    return SimpleNamespace(
        teacher=teacher, classroom=classroom, first=first, cache=cache, people=people, questions=questions
    )


def dashboard(client, known, query: str = ""):
    client.force_login(known.teacher)
    response = client.get(f"/teach/classes/{known.classroom.pk}/{query}")
    assert response.status_code == 200
    return response


def csv_of(client, known, table: str, query: str = "") -> list[list[str]]:
    client.force_login(known.teacher)
    response = client.get(f"/teach/classes/{known.classroom.pk}/{table}.csv{query}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- Verdict rows -----------------------------------------------------------------------------------------------


def test_every_verdict_of_every_graded_submission_is_stored_as_a_row(known):
    # first-image: 10 graded submissions × 3 checks; cache-order: 5 × 2; other: 1 × 1. The error is not graded.
    assert CheckResult.objects.count() == 10 * 3 + 5 * 2 + 1
    row = CheckResult.objects.get(user=known.people["ben"], check_id="small-image", message=BIG.format(148))
    assert (row.status, row.check_type, row.message_pattern) == (
        FAILED,
        "image-size",
        "the image is # MB; this exercise allows # MB.",
    )


# --- The progress grid --------------------------------------------------------------------------------------------


def grid_cells(response) -> dict[str, list]:
    return {
        row.learner.username: [row.lessons_read, row.passed]
        + [(c.pair.passed, c.pair.attempts, c.pair.last_score, c.late) if c.pair else None for c in row.cells]
        for row in response.context["grid"].rows
    }


def test_the_grid_shows_each_learner_s_attempts_last_score_and_lessons_read(client, known):
    response = dashboard(client, known)
    grid = response.context["grid"]
    assert [e.slug for e in grid.exercises] == ["first-image", "cache-order"]
    assert [lesson.slug for lesson in grid.lessons] == ["basics", "caching"]
    assert grid_cells(response) == {
        # lessons read (of basics, caching), exercises passed, then (passed, attempts, last score, late)
        "ana": [2, 2, (True, 1, 100, False), (True, 3, 100, False)],
        "ben": [1, 2, (True, 3, 100, False), (True, 1, 100, False)],
        "cai": [0, 1, (True, 3, 67, False), None],  # passed on attempt 2, then scored 67
        "dee": [0, 0, (False, 1, 67, False), None],  # the submission that could not finish is no attempt
        "eve": [0, 0, None, None],
        "fay": [0, 1, (True, 1, 100, True), None],  # passed three days in, after the due date
    }
    html = response.content.decode()
    assert "✓ 3 · 67%" in html and "✗ 1 · 67%" in html and "late" in html
    assert "zed" not in html


def test_the_grid_sorts_by_any_column_both_ways(client, known):
    def order(query):
        return [row.learner.username for row in dashboard(client, known, query).context["grid"].rows]

    assert order("?sort=learner&order=desc") == ["fay", "eve", "dee", "cai", "ben", "ana"]
    assert order("?sort=lessons&order=desc") == ["ana", "ben", "cai", "dee", "eve", "fay"]
    assert order("?sort=passed&order=asc") == ["dee", "eve", "cai", "fay", "ana", "ben"]
    # By an exercise: passed first, then the last score, then fewer attempts; untried last.
    assert order("?sort=first-image&order=desc") == ["ana", "fay", "ben", "cai", "dee", "eve"]
    assert order("?sort=nonsense") == ["ana", "ben", "cai", "dee", "eve", "fay"]


def test_the_grid_csv_has_every_cell(client, known):
    assert csv_of(client, known, "grid") == [
        ["learner", "lessons read (of 2)", "exercises passed", "first-image passed", "first-image attempts",
         "first-image last score", "cache-order passed", "cache-order attempts", "cache-order last score"],
        ["ana", "2", "2", "yes", "1", "100", "yes", "3", "100"],
        ["ben", "1", "2", "yes", "3", "100", "yes", "1", "100"],
        ["cai", "0", "1", "yes", "3", "67", "", "0", ""],
        ["dee", "0", "0", "no", "1", "67", "", "0", ""],
        ["eve", "0", "0", "", "0", "", "", "0", ""],
        ["fay", "0", "1", "late", "1", "100", "", "0", ""],
    ]  # fmt: skip


# --- Exercises ------------------------------------------------------------------------------------------------------


def test_the_exercise_table_counts_tries_passes_first_attempts_and_medians(client, known):
    rows = {row.exercise.slug: row for row in dashboard(client, known).context["exercise_rows"]}
    first, cache = rows["first-image"], rows["cache-order"]
    # first-image: tried by ana, ben, cai, dee, fay; passed by all but dee; on the first attempt by ana and fay.
    # Attempts to pass: ana 1, ben 3, cai 2, fay 1 → median 1.5. Time from the first submission to the first
    # pass being graded: ana 60 s, ben 30 min + 60 s, cai 1 h + 60 s, fay 60 s → median (60 + 1860) / 2 = 960 s.
    assert (first.learners, first.tried, first.passed, first.first_try, first.attempts) == (6, 5, 4, 2, 9)
    assert (first.median_attempts_to_pass, first.median_seconds_to_pass) == (1.5, 960)
    # cache-order: ana passed on attempt 3 (20 min + 60 s), ben on attempt 1 (60 s).
    assert (cache.learners, cache.tried, cache.passed, cache.first_try, cache.attempts) == (6, 2, 2, 1, 4)
    assert (cache.median_attempts_to_pass, cache.median_seconds_to_pass) == (2, 660)


def test_the_exercise_csv(client, known):
    assert csv_of(client, known, "exercises") == [
        ["exercise", "lesson", "learners", "tried", "passed", "passed %", "passed on the first attempt",
         "first attempt %", "attempts", "median attempts to pass", "median minutes to pass"],
        ["first-image", "basics", "6", "5", "4", "80.0", "2", "40.0", "9", "1.5", "16.0"],
        ["cache-order", "caching", "6", "2", "2", "100.0", "1", "50.0", "4", "2.0", "11.0"],
    ]  # fmt: skip


# --- Checks ---------------------------------------------------------------------------------------------------------


def test_the_check_table_ranks_checks_by_how_often_they_fail_with_their_messages(client, known):
    rows = dashboard(client, known).context["check_rows"]
    table = [
        (r.exercise.slug, r.check_id, r.verdicts, r.failed, r.skipped, r.errors, r.learners, r.learners_failed)
        for r in rows
    ]
    assert table == [
        ("cache-order", "cache", 4, 2, 0, 0, 2, 1),  # 50% failed
        ("first-image", "small-image", 9, 4, 1, 0, 5, 3),  # 44%: ben twice, cai once, dee once; cai's skip
        ("first-image", "non-root", 9, 2, 0, 0, 5, 2),  # 22%: ben and cai
        ("first-image", "build", 9, 1, 0, 0, 5, 1),  # 11%: cai's parse error
        ("cache-order", "build", 4, 0, 0, 0, 2, 0),
    ]
    small = rows[1]
    assert [(m.example, m.count) for m in small.messages] == [(BIG.format(148), 4)]  # 152, 148, 75, 152: one kind
    assert [(m.example, m.count) for m in rows[0].messages] == [(UNCACHED, 2)]
    assert (small.title, small.check_type, small.in_spec) == ("The image is small", "image-size", True)


def test_the_check_csv(client, known):
    assert csv_of(client, known, "checks") == [
        ["exercise", "check", "title", "type", "verdicts", "failed", "failed %", "skipped", "errors", "learners",
         "learners who failed it", "still in the exercise", "message 1", "message 1 count", "message 2",
         "message 2 count", "message 3", "message 3 count"],
        ["cache-order", "cache", "Edits keep the cache", "cache", "4", "2", "50.0", "0", "0", "2", "1", "yes",
         UNCACHED, "2"],
        ["first-image", "small-image", "The image is small", "image-size", "9", "4", "44.4", "1", "0", "5", "3",
         "yes", BIG.format(148), "4"],
        ["first-image", "non-root", "It runs as a user", "non-root-user", "9", "2", "22.2", "0", "0", "5", "2",
         "yes", ROOT, "2"],
        ["first-image", "build", "The image builds", "build", "9", "1", "11.1", "0", "0", "5", "1", "yes", PARSE,
         "1"],
        ["cache-order", "build", "The image builds", "build", "4", "0", "0.0", "0", "0", "2", "0", "yes"],
    ]  # fmt: skip


# --- Questions ------------------------------------------------------------------------------------------------------


def point_biserial(tries: dict[str, dict[str, int]], question: str) -> float | None:
    """The definition, written out plainly: the correlation of x (right on the first try) with the learner's
    rest score (share right on the first try of the other questions they answered)."""
    xs, ys = [], []
    for row in tries.values():
        if question in row and len(row) > 1:
            xs.append(row[question])
            ys.append((sum(row.values()) - row[question]) / (len(row) - 1))
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    var_x, var_y = sum((x - mean_x) ** 2 for x in xs), sum((y - mean_y) ** 2 for y in ys)
    return cov / math.sqrt(var_x * var_y) if var_x and var_y else None


def class_tries() -> dict[str, dict[str, int]]:
    return {name: dict(zip(QUESTIONS, row, strict=True)) for name, row in FIRST_TRIES.items()}


def test_the_question_table_has_first_tries_attempts_discrimination_and_flags(client, known):
    rows = {row.question.key.split("/")[1]: row for row in dashboard(client, known).context["question_rows"]}
    assert list(rows) == QUESTIONS  # course order; the uncovered lesson's question is not there
    table = {
        name: (row.learners, row.attempts, row.right_first, row.flags, row.discrimination) for name, row in rows.items()
    }
    assert table == {
        "easy": (6, 7, 6, ["too easy"], None),  # everyone right: no spread to correlate
        "hard": (6, 7, 1, ["too hard"], pytest.approx(0.8)),  # ben's later right answer is not a first try
        "good": (6, 7, 2, [], pytest.approx(0.4629100)),
        "bad": (6, 6, 4, ["strong learners miss it"], pytest.approx(-0.2208631)),
        "mid": (6, 6, 4, ["low discrimination"], pytest.approx(0.1313064)),
    }
    for name in QUESTIONS:
        expected = point_biserial(class_tries(), name)
        assert rows[name].discrimination == (None if expected is None else pytest.approx(expected))


def test_the_question_csv(client, known):
    assert csv_of(client, known, "questions") == [
        ["question", "lesson", "type", "learners", "attempts", "right on the first try", "right on the first try %",
         "discrimination", "flags"],
        ["basics/easy", "basics", "choice", "6", "7", "6", "100.0", "", "too easy"],
        ["basics/hard", "basics", "choice", "6", "7", "1", "16.7", "0.800", "too hard"],
        ["basics/good", "basics", "choice", "6", "7", "2", "33.3", "0.463", ""],
        ["caching/bad", "caching", "choice", "6", "6", "4", "66.7", "-0.221", "strong learners miss it"],
        ["caching/mid", "caching", "choice", "6", "6", "4", "66.7", "0.131", "low discrimination"],
    ]  # fmt: skip


def test_the_question_table_can_be_limited_to_one_practice_mode(client, known):
    rows = dashboard(client, known, "?mode=flashcard").context["question_rows"]
    # Only ben (hard) and eve (good) answered flashcards, each right, once: too few learners for flags.
    assert [(r.question.key, r.learners, r.attempts, r.right_first, r.flags) for r in rows] == [
        ("basics/hard", 1, 1, 1, []),
        ("basics/good", 1, 1, 1, []),
    ]
    assert csv_of(client, known, "questions", "?mode=flashcard")[1][:7] == [
        "basics/hard", "basics", "choice", "1", "1", "1", "100.0",
    ]  # fmt: skip


# --- Course-wide ----------------------------------------------------------------------------------------------------


def test_course_wide_analytics_count_every_learner_and_every_exercise(client, known):
    staff = make_user("staff-member", is_staff=True)
    client.force_login(staff)
    response = client.get("/teach/course/")
    assert response.status_code == 200
    exercises = {row.exercise.slug: row for row in response.context["exercise_rows"]}
    # zed adds a failed first-image attempt and a first-try pass of cache-order; ana's other-exercise fails.
    assert [(slug, r.learners, r.tried, r.passed, r.first_try, r.attempts) for slug, r in exercises.items()] == [
        ("first-image", None, 6, 4, 2, 10),
        ("cache-order", None, 3, 3, 2, 5),
        ("other-exercise", None, 1, 0, 0, 1),
    ]
    checks = {(r.exercise.slug, r.check_id): (r.verdicts, r.failed) for r in response.context["check_rows"]}
    assert checks[("first-image", "small-image")] == (10, 5)
    assert checks[("other-exercise", "build")] == (1, 1)
    questions = {r.question.key: (r.learners, r.attempts, r.right_first) for r in response.context["question_rows"]}
    assert questions["basics/easy"] == (7, 8, 6)
    assert questions["basics/hard"] == (7, 8, 2)
    assert questions["extra/other"] == (1, 1, 1)
    # Course-wide, the rest score covers every question a learner answered: zed's two, ana's six.
    tries = {**class_tries(), "zed": {"easy": 0, "hard": 1}}
    tries["ana"]["other"] = 1
    by_key = {r.question.key: r for r in response.context["question_rows"]}
    for name in QUESTIONS:
        expected = point_biserial(tries, name)
        assert by_key[known.questions[name].key].discrimination == (
            None if expected is None else pytest.approx(expected)
        )
    assert client.get("/teach/course/checks.csv").status_code == 200
