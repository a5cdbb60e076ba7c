"""The shipped exercises, read from the course files: every check says what to do when it fails, the
reference solutions follow the pinning rule the course teaches, and the new topics have their exercises.

Nothing here needs Docker; `make validate` proves in the sandbox that each solution passes and each starter
fails.
"""

from __future__ import annotations

import re

import pytest

from lessons.validation import load_exercises
from sandbox.grading.spec import build_secret_ids
from sandbox.grading.static import DockerfileSource, run_static_check

EXERCISES = load_exercises()


@pytest.mark.parametrize("slug", sorted(EXERCISES))
def test_every_check_of_a_shipped_exercise_has_its_own_hint_and_section(slug):
    for check in EXERCISES[slug].spec["checks"]:
        assert str(check.get("hint", "")).strip(), f"{slug}: check '{check['id']}' has no hint"
        assert str(check.get("section", "")).strip(), f"{slug}: check '{check['id']}' links to no section"


@pytest.mark.parametrize("slug", sorted(EXERCISES))
def test_every_reference_solution_pins_its_base_images(slug):
    solution = EXERCISES[slug].solution_files
    dockerfiles = {name: text for name, text in solution.items() if name.split("/")[-1] == "Dockerfile"}
    for name, text in dockerfiles.items():
        outcome = run_static_check({"type": "base-image", "pinned": True}, DockerfileSource(text))
        assert outcome.passed, f"{slug}/{name}: {outcome.message}"
    # A lab names its images in commands.sh or compose.yaml: never as `latest`, and in Compose always with a tag.
    for image in re.findall(r"\b(?:busybox|debian|python|redis|postgres):[\w.-]+", solution.get("commands.sh", "")):
        assert not image.endswith(":latest"), f"{slug}/commands.sh: {image} is not pinned"
    for image in re.findall(r"^\s*image:\s*[\"']?([^\s\"']+)", solution.get("compose.yaml", ""), re.MULTILINE):
        assert ":" in image and not image.endswith(":latest"), f"{slug}/compose.yaml: {image} is not pinned"
    assert dockerfiles or set(solution) & {"commands.sh", "compose.yaml"}, f"{slug}: nothing to check"


def requirement_lines(text: str) -> list[str]:
    return [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]


def test_every_requirements_file_of_a_solution_pins_exact_versions():
    found = 0
    for slug, exercise in EXERCISES.items():
        for name, text in exercise.solution_files.items():
            if name.endswith("requirements.txt"):
                for line in requirement_lines(text):
                    found += 1
                    assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", line), f"{slug}/{name}: {line!r}"
    assert found >= 5


def test_a_solution_and_its_starter_pin_the_same_versions():
    # Otherwise the starter would fail for a reason the exercise is not about.
    for slug, exercise in EXERCISES.items():
        for name, text in exercise.solution_files.items():
            if name.endswith("requirements.txt") and name in exercise.starter_files:
                assert requirement_lines(exercise.starter_files[name]) == requirement_lines(text), slug


def test_every_build_secret_an_exercise_grades_is_one_it_declares():
    graded = {
        slug: {check["secret"] for check in exercise.spec["checks"] if check["type"] == "build-secret"}
        for slug, exercise in EXERCISES.items()
    }
    for slug, secrets in graded.items():
        assert secrets <= set(build_secret_ids(EXERCISES[slug].spec)), slug
    assert graded["secrets"] == {"index_token"}


@pytest.mark.parametrize(
    ("slug", "lesson", "types"),
    [
        ("entrypoint-script", "running-containers", {"run-args", "stop"}),
        ("hardened-image", "hardening-containers", {"no-setuid", "read-only", "image-user"}),
        ("healthcheck", "best-practices", {"health", "unhealthy"}),
        ("secrets", "secrets", {"build-secret", "no-secrets", "history"}),
    ],
)
def test_the_exercises_grade_what_their_topics_claim(slug, lesson, types):
    exercise = EXERCISES[slug]
    assert exercise.lesson.slug == lesson
    assert types <= {check["type"] for check in exercise.spec["checks"]}
