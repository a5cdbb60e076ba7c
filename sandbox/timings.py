"""When each stage of a submission happened, and how long the spans between them took.

The pipeline notes a timestamp (seconds since the epoch) for every stage of an attempt on the Submission
itself (`Submission.mark`, stored in `Submission.timings`): it costs no query of its own, as the lifecycle's
own updates store it. Operators read it to see where a slow build spent its time, instructors see it in the
submission's history, and `manage.py bench` takes medians of the spans.

Stages, in the order they happen (a stage that did not happen, such as the build of a Dockerfile refused
before building, is simply absent):

    queued            the submission was created (the POST)
    claimed           a worker process took the task and claimed the attempt
    leased            a sandbox daemon was leased for it
    context_written   the build context was written (policy checked, base images looked up)
    build_started     the docker CLI process started
    first_log         the first line of build output reached the worker
    build_finished    the docker CLI process ended
    image_inspected   the built image's facts were read
    check:ID:started  / check:ID:finished, for every check that ran (the static ones before the context is
                      written, the build's own check at its end, the rest after the image inspection)
    result_stored     the outcome was stored
    result_published  the "result" event was stored and sent to the learner
    cleaned_up        the submission's containers and images were removed from the daemon
"""

from __future__ import annotations

STAGES = (
    "queued",
    "claimed",
    "leased",
    "context_written",
    "build_started",
    "first_log",
    "build_finished",
    "image_inspected",
    "checks",
    "result_stored",
    "result_published",
    "cleaned_up",
)
# Spans worth reading, each from one stage to another, in the order they happen.
SPANS = (
    ("queue", "queued", "claimed"),
    ("lease", "claimed", "leased"),
    ("prepare", "leased", "context_written"),
    ("cli_start", "context_written", "build_started"),
    ("first_log", "build_started", "first_log"),
    ("build", "build_started", "build_finished"),
    ("inspect", "build_finished", "image_inspected"),
)


def check_stage(check_id: str, edge: str) -> str:
    """The stage name of a check's start ("started") or end ("finished")."""
    return f"check:{check_id}:{edge}"


def rank(stage: str) -> int:
    """A stage's place in STAGES (checks all share one), to order stages noted in the same millisecond."""
    name = "checks" if stage.startswith("check:") else stage
    return STAGES.index(name) if name in STAGES else len(STAGES)


def timeline(timings: dict[str, float]) -> list[dict]:
    """The stages in the order they happened: each with seconds since queued and since the stage before.

    The database may not keep a JSON object's key order (PostgreSQL's jsonb does not), so the order comes
    from the times, and from STAGES for stages noted at the same moment.
    """
    ordered = sorted(timings.items(), key=lambda item: (item[1], rank(item[0])))
    if not ordered:
        return []
    start = timings.get("queued", ordered[0][1])
    rows, previous = [], start
    for stage, at in ordered:
        rows.append({"stage": stage, "at": round(at - start, 4), "after": round(at - previous, 4)})
        previous = at
    return rows


def spans(timings: dict[str, float]) -> dict[str, float]:
    """How long each span of an attempt took, in seconds: the SPANS, every check, and the rest.

    "checks" runs from the image inspection (or the build's end) to the end of the last check that started
    after it; "store" from there
    to the stored result; "publish" to the sent result; "cleanup" to the daemon cleaned; "total" from queued
    to the sent result, which is what the learner waits for.
    """
    found: dict[str, float] = {}
    for name, start, end in SPANS:
        if start in timings and end in timings:
            found[name] = round(timings[end] - timings[start], 4)
    checks_from = timings.get("image_inspected", timings.get("build_finished"))
    ends = []
    for stage, at in timings.items():
        if stage.startswith("check:") and stage.endswith(":started"):
            check_id = stage.removeprefix("check:").removesuffix(":started")
            finished = timings.get(check_stage(check_id, "finished"))
            if finished is not None:
                found[f"check:{check_id}"] = round(finished - at, 4)
                # The static checks and the build's own come before the image checks: not part of "checks".
                if checks_from is not None and at >= checks_from:
                    ends.append(finished)
    if ends and checks_from is not None:
        found["checks"] = round(max(ends) - checks_from, 4)
    graded = max(ends) if ends else timings.get("image_inspected", timings.get("build_finished"))
    for name, start, end in (
        ("store", graded, timings.get("result_stored")),
        ("publish", timings.get("result_stored"), timings.get("result_published")),
        ("cleanup", timings.get("result_published"), timings.get("cleaned_up")),
        ("total", timings.get("queued"), timings.get("result_published")),
    ):
        if start is not None and end is not None:
            found[name] = round(end - start, 4)
    return found
