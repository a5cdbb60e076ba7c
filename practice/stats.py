"""Practice stats: accuracy per topic over time, the streak of days practised, and cards due."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

from lessons.models import Lesson

from .steps import STRONG_TOPIC
from .stores import PracticeStore

STATS_WEEKS = 4


@dataclass
class WeekCell:
    label: str
    right: int = 0
    total: int = 0

    @property
    def percent(self) -> int | None:
        return round(100 * self.right / self.total) if self.total else None


@dataclass
class TopicStats:
    lesson: Lesson
    right: int = 0
    total: int = 0
    weeks: list[WeekCell] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(100 * self.right / self.total) if self.total else 0


@dataclass
class PracticeStats:
    streak: int
    practised_today: bool
    cards_due: int
    cards_total: int
    answered: int
    right: int
    topics: list[TopicStats]
    week_labels: list[str]

    @property
    def percent(self) -> int:
        return round(100 * self.right / self.answered) if self.answered else 0

    @property
    def weakest(self) -> list[Lesson]:
        ranked = sorted((t for t in self.topics if t.total), key=lambda t: (t.percent, t.lesson.order))
        return [t.lesson for t in ranked if t.percent < 100 * STRONG_TOPIC][:3]


def practice_streak(days: set[date], today: date) -> int:
    """Consecutive days practised, ending today, or yesterday if today has no practice yet (still alive)."""
    day = today if today in days else today - timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    return streak


def _week_labels() -> list[str]:
    labels = ["this week", "last week"] + [f"{n} weeks ago" for n in range(2, STATS_WEEKS)]
    return list(reversed(labels[:STATS_WEEKS]))


def practice_stats(store: PracticeStore, now: datetime | None = None) -> PracticeStats:
    now = now or timezone.now()
    attempts = store.attempts()
    cards = store.cards()
    labels = _week_labels()
    lessons = Lesson.objects.in_bulk({row.lesson_id for row in attempts})
    topics: dict[int, TopicStats] = {}
    for row in attempts:
        if row.lesson_id not in lessons:
            continue
        topic = topics.setdefault(
            row.lesson_id, TopicStats(lessons[row.lesson_id], weeks=[WeekCell(x) for x in labels])
        )
        topic.total += 1
        topic.right += row.correct
        # Weeks are the last 7-day windows ending now, oldest first, so the row reads left to right in time.
        weeks_ago = int((now - row.at).total_seconds() // (7 * 86400))
        if 0 <= weeks_ago < STATS_WEEKS:
            cell = topic.weeks[STATS_WEEKS - 1 - weeks_ago]
            cell.total += 1
            cell.right += row.correct
    today = timezone.localdate(now)
    days = {timezone.localdate(row.at) for row in attempts}
    return PracticeStats(
        streak=practice_streak(days, today),
        practised_today=today in days,
        cards_due=sum(1 for state in cards.values() if state.due <= now),
        cards_total=len(cards),
        answered=len(attempts),
        right=sum(row.correct for row in attempts),
        topics=sorted(topics.values(), key=lambda topic: topic.lesson.order),
        week_labels=labels,
    )
