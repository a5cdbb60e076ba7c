"""Checks that build again: the cache check (a source change must not re-run the dependency install) and
the size comparison with the reference solution."""

from __future__ import annotations

import hashlib
import json
import re
import uuid

from django.core.cache import cache

from .context import GradingContext
from .outcome import CheckError, Outcome, fail, mb, ok

SOLUTION_SIZE_CACHE_SECONDS = 24 * 3600


def change_mark() -> bytes:
    """A comment line that is new every time: BuildKit caches by content, so a change the daemon has seen
    before (an earlier grading of the same files) would be a cache hit and prove nothing."""
    return f"\n# changed by the grader to test the build cache ({uuid.uuid4().hex})\n".encode()


def _step_name(step) -> str:
    return f"[{step.index}/{step.total}] `{step.instruction}`"


def check_cache(check: dict, context: GradingContext) -> Outcome:
    path = check["change"]
    if path not in context.files:
        return fail(f"{path} is not in the submission, so the grader cannot change it to test the cache.")
    changed = dict(context.files)
    changed[path] = context.files[path] + change_mark()
    context.sandbox.log(f"--- Cache check: {path} changed, building again ---")
    result = context.sandbox.build(changed, tag_suffix="-cache")
    if not result.ok:
        return fail(f"the rebuild after changing {path} failed: {result.message}")
    matching = [step for step in result.steps if re.search(check["step"], step.instruction)]
    if not matching:
        return fail(f"no build step matches `{check['step']}`, so there is no dependency step to come from the cache.")
    missed = [step for step in matching if not step.cached]
    if not missed:
        return ok(f"after a change to {path}, {_step_name(matching[0])} came from the cache (CACHED).")
    step = missed[0]
    took = f" ({step.duration:.1f} s)" if step.duration is not None else ""
    first_miss = _first_miss(result.steps, step)
    because = ""
    if first_miss is not None and first_miss is not step:
        because = f" The cache was first missed at {_step_name(first_miss)}, and every step after a miss runs again."
    return fail(
        f"after a change to {path}, {_step_name(step)} ran again{took} instead of coming from the cache.{because}"
    )


def _first_miss(steps: list, target):
    """The first step of the target's stage that was not cached (FROM lines aside)."""
    for step in steps:
        if step.stage == target.stage and not step.cached and not step.instruction.upper().startswith("FROM "):
            return step
    return None


def files_digest(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(json.dumps(name).encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def solution_size(context: GradingContext) -> int:
    """The reference solution's image size: measured once per solution content, then cached."""
    files = context.extra["solution_files"]
    key = f"dockyard:grading:solution-size:{files_digest(files)}"
    size = cache.get(key)
    if size is None:
        result = context.sandbox.build(files, tag_suffix="-solution", quiet=True)
        if not result.ok:
            raise CheckError(f"the reference solution did not build ({result.reason}); please tell your instructor")
        size = context.sandbox.facts(result.image_id)["size"]
        cache.set(key, size, SOLUTION_SIZE_CACHE_SECONDS)
    context.extra["solution_size"] = size
    return size


def check_compare(check: dict, context: GradingContext) -> Outcome:
    ratio_allowed = check.get("max_ratio", 1.5)
    reference = solution_size(context)
    size = context.facts["size"]
    ratio = size / reference if reference else float("inf")
    if ratio > ratio_allowed:
        return fail(
            f"the image is {mb(size)}, {ratio:.1f} times the reference solution's {mb(reference)}; "
            f"this exercise allows {ratio_allowed:g} times."
        )
    return ok(f"the image is {mb(size)}, {ratio:.2f} times the reference solution's {mb(reference)}.")


REBUILD_CHECKS = {"cache": check_cache, "compare": check_compare}
