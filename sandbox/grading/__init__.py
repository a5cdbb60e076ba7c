"""The grading engine: exercise checks run against a learner's Dockerfile, image and containers.

See README.md in this folder for the exercise.yaml checks spec.
"""

from __future__ import annotations

from .grader import grade_submission
from .lint import lint_dockerfile
from .spec import build_secret_ids, spec_problems

__all__ = ["build_secret_ids", "grade_submission", "lint_dockerfile", "spec_problems"]
