"""What image, runtime, cache and compare checks get to work with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .containers import Sandbox


@dataclass
class GradingContext:
    """The built image and everything around it, for one submission.

    files: the build context as built (the submission plus the exercise's context files).
    check_seconds: the default time limit of one runtime check.
    build_secrets: the value the builds were given for each build secret the exercise declares (id -> value).
    """

    sandbox: Sandbox
    image: str
    facts: dict[str, Any]
    files: dict[str, bytes]
    exercise: Any = None
    check_seconds: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)
    build_secrets: dict[str, str] = field(default_factory=dict)
