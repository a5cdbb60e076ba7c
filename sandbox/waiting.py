"""A waiting learner's place in the queue and an estimate of the wait, told live as "status" events.

The first event of a submission already says where it stands. Afterwards, whenever a place changes (a build
ends, so everyone moves up), the worker that finished it and the upkeep tell each waiting learner their new
place (`Submission.tell_place` publishes it once per change, whoever gets there first). The workspace shows it
as the build's status line.

The estimate is plain arithmetic: the builds ahead run one per answering sandbox at a time, each taking about
as long as the median of the last builds that finished.
"""

from __future__ import annotations

import math
import statistics

from .daemons import all_docker_hosts
from .health import down_hosts
from .models import Submission

DEFAULT_BUILD_SECONDS = 20.0
RECENT_BUILDS = 20
MAX_TOLD = 500


def typical_build_seconds() -> float:
    """The median time from start to end of the last builds that finished (a default before there are any)."""
    recent = (
        Submission.objects.filter(
            status__in=(Submission.Status.PASSED, Submission.Status.FAILED),
            started_at__isnull=False,
            finished_at__isnull=False,
        )
        .order_by("-finished_at")
        .values_list("started_at", "finished_at")[:RECENT_BUILDS]
    )
    durations = [(finished - started).total_seconds() for started, finished in recent]
    return max(1.0, statistics.median(durations)) if durations else DEFAULT_BUILD_SECONDS


def answering_sandboxes() -> int:
    hosts = all_docker_hosts()
    return max(1, len(hosts) - len(down_hosts(hosts)))


def estimate(position: int, running: int, typical_seconds: float, sandboxes: int) -> int:
    """Seconds until the submission at `position` (1 = next) starts.

    Ahead of it are the builds running now and the ones queued before it; it starts once enough of them have
    finished to free a sandbox, and they finish `sandboxes` at a time, each round taking `typical_seconds`.
    """
    sandboxes = max(1, sandboxes)
    must_finish = running + position - sandboxes
    return round(math.ceil(max(0, must_finish) / sandboxes) * typical_seconds)


def running_now() -> int:
    return Submission.objects.really_waiting().filter(status=Submission.Status.RUNNING).count()


def place_of_new_submission() -> tuple[int, int]:
    """(place, estimated wait) for a submission about to be queued behind everything already waiting."""
    position = Submission.objects.filter(status=Submission.Status.QUEUED).count() + 1
    running = running_now()
    if position == 1 and running == 0:
        # Nothing ahead of it: it starts at once, however many sandboxes answer (at least one is counted), so
        # the answer is known without asking Redis and the database for the rest. It is the POST's common case.
        return 1, 0
    return position, estimate(position, running, typical_build_seconds(), answering_sandboxes())


def tell_places() -> int:
    """Tell every waiting learner whose place changed their new place and wait. Returns how many were told."""
    queued = list(
        Submission.objects.filter(status=Submission.Status.QUEUED)
        .order_by("created_at", "pk")
        .only("pk", "status", "queue_position", "last_seq")[:MAX_TOLD]
    )
    if not queued:
        return 0
    typical, sandboxes, running = typical_build_seconds(), answering_sandboxes(), running_now()
    told = 0
    for position, submission in enumerate(queued, start=1):
        if submission.queue_position != position:
            told += submission.tell_place(position, estimate(position, running, typical, sandboxes))
    return told
