"""A real graded submission records every stage of its way, in order, and the API shows them."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from ops.livestack import Learner, LiveStack

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    live = LiveStack(tmp_path_factory.mktemp("stack")).start(concurrency=1)
    yield live
    live.stop()


def solution_files(slug: str) -> dict[str, str]:
    folder = next(settings.LESSONS_CONTENT_DIR.glob(f"*/exercises/{slug}/solution"))
    files = {path.relative_to(folder).as_posix(): path.read_text() for path in folder.rglob("*") if path.is_file()}
    # A fresh comment keeps the COPY step out of the build cache, so the build really runs.
    files["app.py"] = f"# {time.time_ns()}\n{files['app.py']}"
    return files


def test_a_graded_submission_records_every_stage_in_order(stack):
    learner = Learner(stack, "timed")
    response = learner.submit(solution_files("first-dockerfile"), exercise="first-dockerfile")
    assert response.status_code == 202, response.text
    submission_id = response.json()["id"]
    events = learner.read_events(submission_id)
    assert events[-1]["status"] == "passed", events[-1]
    # The daemon is cleaned up after the verdict is sent, so its stage is stored a moment later.
    deadline = time.monotonic() + 30
    data = learner.submission(submission_id).json()
    while "cleaned_up" not in data["timings"] and time.monotonic() < deadline:
        time.sleep(0.2)
        data = learner.submission(submission_id).json()
    timings = data["timings"]
    ordered = sorted(timings, key=lambda stage: timings[stage])
    assert ordered == [
        "queued",
        "claimed",
        "leased",
        "check:exec-form:started",
        "check:exec-form:finished",
        "context_written",
        "build_started",
        "first_log",
        "build_finished",
        "check:builds:started",
        "check:builds:finished",
        "image_inspected",
        "check:workdir:started",
        "check:workdir:finished",
        "check:app-copied:started",
        "check:app-copied:finished",
        "check:prints-greeting:started",
        "check:prints-greeting:finished",
        "result_stored",
        "result_published",
        "cleaned_up",
    ]
    assert 0 < timings["result_published"] - timings["queued"] < 120
    stages = data["stages"]
    assert set(stages) >= {"queue", "lease", "prepare", "first_log", "build", "checks", "publish", "total", "cleanup"}
    assert stages["total"] == pytest.approx(timings["result_published"] - timings["queued"], abs=0.001)
    assert all(seconds >= 0 for seconds in stages.values())
