"""Spaced repetition, streaks and accuracy over time, all with fixed dates."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore as DjangoSession

from practice.flashcards import next_flashcard, review_flashcard
from practice.models import Card, PracticeAttempt
from practice.scheduling import CardState, Rating, rating_previews, schedule
from practice.stats import practice_stats, practice_streak
from practice.stores import AccountStore, SessionStore

from .conftest import make_user
from .practice_helpers import build_practice_course, question

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning


def review(state: CardState, *ratings: Rating, days_between: int | None = None) -> CardState:
    """Rate a card several times, each review on the day it falls due (or after `days_between` days)."""
    moment = NOW
    for rating in ratings:
        state = schedule(state, rating, moment)
        moment = state.due if days_between is None else moment + timedelta(days=days_between)
    return state


# SM-2 ----------------------------------------------------------------------------------------------------


def test_a_new_card_rated_good_comes_back_the_next_day():
    state = schedule(CardState.new(NOW), Rating.GOOD, NOW)
    assert state.due == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert (state.interval, state.repetitions, state.ease) == (1, 1, 2.5)
    assert state.last_reviewed_at == NOW


def test_good_reviews_follow_sm2_one_day_six_days_then_interval_times_ease():
    intervals = []
    state = CardState.new(NOW)
    moment = NOW
    for _ in range(4):
        state = schedule(state, Rating.GOOD, moment)
        intervals.append(state.interval)
        moment = state.due
    assert intervals == [1, 6, 15, 38]  # 6 x 2.5 = 15, 15 x 2.5 = 37.5 -> 38
    assert state.due == datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(days=1 + 6 + 15 + 38)


def test_again_resets_the_card_and_brings_it_back_in_ten_minutes():
    learned = review(CardState.new(NOW), Rating.GOOD, Rating.GOOD, Rating.GOOD)
    forgotten = schedule(learned, Rating.AGAIN, NOW)
    assert forgotten.due == NOW + timedelta(minutes=10)
    assert (forgotten.interval, forgotten.repetitions, forgotten.lapses) == (0, 0, 1)
    assert forgotten.ease == pytest.approx(learned.ease - 0.2)


def test_a_relearned_card_starts_again_from_one_day():
    forgotten = review(CardState.new(NOW), Rating.GOOD, Rating.GOOD, Rating.AGAIN)
    assert schedule(forgotten, Rating.GOOD, NOW).interval == 1


def test_hard_lowers_the_ease_and_grows_the_interval_slowly():
    state = review(CardState.new(NOW), Rating.GOOD, Rating.GOOD)  # interval 6, ease 2.5
    hard = schedule(state, Rating.HARD, NOW)
    assert hard.ease == pytest.approx(2.36)
    assert hard.interval == 8  # ceil(6 x 1.2)


def test_easy_raises_the_ease_and_jumps_further():
    first = schedule(CardState.new(NOW), Rating.EASY, NOW)
    assert first.interval == 4 and first.ease == pytest.approx(2.6)
    state = review(CardState.new(NOW), Rating.GOOD, Rating.GOOD)
    easy = schedule(state, Rating.EASY, NOW)
    assert easy.interval == 21  # ceil(6 x 2.6 x 1.3)


def test_the_ease_never_drops_below_1_3():
    state = review(CardState.new(NOW), *[Rating.AGAIN] * 10)
    assert state.ease == pytest.approx(1.3)
    state = review(state, *[Rating.HARD] * 5)
    assert state.ease == pytest.approx(1.3)


def test_a_card_at_the_minimum_ease_still_moves_forward_on_hard():
    state = CardState(due=NOW, ease=1.3, interval=2, repetitions=5)
    assert schedule(state, Rating.HARD, NOW).interval == 3


def test_the_four_ratings_give_increasing_delays():
    state = review(CardState.new(NOW), Rating.GOOD, Rating.GOOD, Rating.GOOD)
    dues = [schedule(state, rating, NOW).due for rating in Rating]
    assert dues == sorted(dues) and len(set(dues)) == 4


def test_rating_buttons_preview_when_the_card_comes_back():
    previews = dict(rating_previews(CardState.new(NOW), NOW))
    assert previews == {Rating.AGAIN: "10 min", Rating.HARD: "1 day", Rating.GOOD: "1 day", Rating.EASY: "4 days"}


# Streaks -------------------------------------------------------------------------------------------------


def days(*offsets: int) -> set[date]:
    return {date(2026, 3, 2) - timedelta(days=offset) for offset in offsets}


def test_the_streak_counts_consecutive_days_ending_today():
    assert practice_streak(days(0, 1, 2, 4), date(2026, 3, 2)) == 3


def test_a_streak_is_still_alive_when_today_has_no_practice_yet():
    assert practice_streak(days(1, 2), date(2026, 3, 2)) == 2


def test_a_missed_day_breaks_the_streak():
    assert practice_streak(days(2, 3, 4), date(2026, 3, 2)) == 0
    assert practice_streak(set(), date(2026, 3, 2)) == 0


# Flashcard queue -----------------------------------------------------------------------------------------


@pytest.fixture
def course(tmp_path, db):
    build_practice_course(tmp_path)


def test_due_cards_come_first_most_overdue_first_then_new_cards_in_course_order(course, rf):
    user = make_user()
    store = AccountStore(user)
    session = DjangoSession()
    store.save_card(question("caching/spot-root"), CardState(due=NOW - timedelta(days=1), interval=3))
    store.save_card(question("images/valid-cmds"), CardState(due=NOW - timedelta(days=3), interval=3))
    store.save_card(question("images/image-vs-container"), CardState(due=NOW + timedelta(days=2), interval=3))
    shown = []
    for _ in range(3):
        deck = next_flashcard(store, session, [], now=NOW)
        shown.append(deck.card.front.question.key)
        review_flashcard(store, session, {"question": deck.card.front.question.pk, "rating": "good"}, now=NOW)
    assert shown == ["images/valid-cmds", "caching/spot-root", "images/vm-vs-container"]


def test_the_deck_counts_due_and_new_cards_and_knows_when_the_next_one_is_due(course):
    store = AccountStore(make_user())
    store.save_card(question("images/image-vs-container"), CardState(due=NOW + timedelta(hours=5)))
    deck = next_flashcard(store, DjangoSession(), ["images"], now=NOW)
    assert (deck.due_count, deck.new_count) == (0, 2)
    for key in ("images/valid-cmds", "images/vm-vs-container"):
        store.save_card(question(key), CardState(due=NOW + timedelta(days=1)))
    deck = next_flashcard(store, DjangoSession(), ["images"], now=NOW)
    assert deck.card is None and deck.next_due == NOW + timedelta(hours=5)


def test_reviewing_a_card_reschedules_it_and_records_an_attempt(course):
    user = make_user()
    store = AccountStore(user)
    session = DjangoSession()
    deck = next_flashcard(store, session, ["caching"], now=NOW)
    review_flashcard(store, session, {"question": deck.card.front.question.pk, "rating": "again"}, now=NOW)
    card = Card.objects.get(user=user, question=deck.card.front.question)
    assert card.due == NOW + timedelta(minutes=10) and card.lapses == 1
    attempt = PracticeAttempt.objects.get(user=user)
    assert (attempt.correct, attempt.mode, attempt.answered_at) == (False, "flashcard", NOW)


def test_an_anonymous_visitors_cards_are_scheduled_in_the_session(course):
    session = DjangoSession()
    store = SessionStore(session)
    deck = next_flashcard(store, session, [], now=NOW)
    review_flashcard(store, session, {"question": str(deck.card.front.question.pk), "rating": "easy"}, now=NOW)
    assert store.cards()[deck.card.front.question.pk].due == NOW + timedelta(days=4)
    assert not Card.objects.exists()


# Accuracy over time --------------------------------------------------------------------------------------


def test_stats_give_accuracy_per_topic_week_by_week_streak_and_cards_due(course):
    user = make_user()
    store = AccountStore(user)
    choice, spot = question("images/image-vs-container"), question("caching/spot-root")
    for when, q, correct in [
        (NOW - timedelta(days=20), choice, False),  # 2 weeks ago
        (NOW - timedelta(days=9), choice, False),  # last week
        (NOW - timedelta(days=1), choice, True),  # this week
        (NOW - timedelta(hours=1), choice, True),
        (NOW - timedelta(hours=2), spot, False),
        (NOW - timedelta(days=40), spot, True),  # too old for the weekly columns, still in "all time"
    ]:
        store.record_attempt(q, correct, "quiz", when)
    store.save_card(choice, CardState(due=NOW - timedelta(minutes=1)))
    store.save_card(spot, CardState(due=NOW + timedelta(days=1)))

    stats = practice_stats(store, now=NOW)

    assert stats.week_labels == ["3 weeks ago", "2 weeks ago", "last week", "this week"]
    images, caching = stats.topics
    assert (images.lesson.slug, images.right, images.total, images.percent) == ("images", 2, 4, 50)
    assert [cell.percent for cell in images.weeks] == [None, 0, 0, 100]
    assert (caching.right, caching.total) == (1, 2)
    assert [cell.total for cell in caching.weeks] == [0, 0, 0, 1]
    assert (stats.streak, stats.practised_today) == (2, True)
    assert (stats.cards_due, stats.cards_total) == (1, 2)
    assert (stats.answered, stats.right, stats.percent) == (6, 3, 50)
    assert [lesson.slug for lesson in stats.weakest] == ["images", "caching"]
