"""Spaced repetition: SM-2, with Anki-style again/hard/good/easy buttons. Pure functions of a card's state."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum


class Rating(StrEnum):
    AGAIN = "again"
    HARD = "hard"
    GOOD = "good"
    EASY = "easy"


# SM-2 grades recall 0-5; the four buttons map onto the passing grades and one failing grade.
QUALITY = {Rating.AGAIN: 1, Rating.HARD: 3, Rating.GOOD: 4, Rating.EASY: 5}
MIN_EASE = 1.3
START_EASE = 2.5
# A forgotten card comes back in the same sitting rather than tomorrow.
RELEARN_DELAY = timedelta(minutes=10)
FIRST_INTERVALS = {Rating.HARD: 1, Rating.GOOD: 1, Rating.EASY: 4}
SECOND_INTERVALS = {Rating.HARD: 3, Rating.GOOD: 6, Rating.EASY: 8}
HARD_FACTOR = 1.2
EASY_BONUS = 1.3


@dataclass(frozen=True)
class CardState:
    due: datetime
    ease: float = START_EASE
    interval: int = 0
    repetitions: int = 0
    lapses: int = 0
    last_reviewed_at: datetime | None = None

    @classmethod
    def new(cls, now: datetime) -> CardState:
        return cls(due=now)


def schedule(state: CardState, rating: Rating, now: datetime) -> CardState:
    """The card's next state after a review at `now`. Pure: same input, same output (tests use fixed dates)."""
    quality = QUALITY[rating]
    if rating is Rating.AGAIN:
        return replace(
            state,
            ease=max(MIN_EASE, state.ease - 0.2),
            interval=0,
            repetitions=0,
            lapses=state.lapses + 1,
            due=now + RELEARN_DELAY,
            last_reviewed_at=now,
        )
    # SM-2's ease update: +0.10 for easy, unchanged for good, -0.14 for hard.
    ease = max(MIN_EASE, state.ease + 0.1 - (5 - quality) * (0.08 + (5 - quality) * 0.02))
    repetitions = state.repetitions + 1
    if repetitions == 1:
        interval = FIRST_INTERVALS[rating]
    elif repetitions == 2:
        interval = SECOND_INTERVALS[rating]
    else:
        factor = {Rating.HARD: HARD_FACTOR, Rating.GOOD: ease, Rating.EASY: ease * EASY_BONUS}[rating]
        # Always at least a day more than last time, so a card never gets stuck at the same interval.
        interval = max(state.interval + 1, math.ceil(state.interval * factor))
    return CardState(
        due=now + timedelta(days=interval),
        ease=round(ease, 4),
        interval=interval,
        repetitions=repetitions,
        lapses=state.lapses,
        last_reviewed_at=now,
    )


def describe_delay(delta: timedelta) -> str:
    if delta < timedelta(hours=1):
        return f"{max(1, round(delta.total_seconds() / 60))} min"
    days = round(delta.total_seconds() / 86400)
    return "1 day" if days == 1 else f"{days} days"


def rating_previews(state: CardState, now: datetime) -> list[tuple[Rating, str]]:
    """Each button with when the card would come back, so the learner sees what a rating means."""
    return [(rating, describe_delay(schedule(state, rating, now).due - now)) for rating in Rating]
