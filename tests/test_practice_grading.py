"""Grading each question type, and refusing answers that cannot be graded. No database needed."""

import pytest
from django.http import QueryDict

from lessons.models import Lesson, Question
from practice.answers import (
    grade_answer,
    key_point_matches,
    option_tokens,
    order_tokens,
    present_front,
    present_solution,
    self_assess,
    shown_option_order,
    shuffled_order,
)
from practice.learner_input import BadAnswer


def make_question(kind: str, **data) -> Question:
    return Question(key=f"lesson/{kind}", kind=kind, prompt="?", data=data)


def form(**fields) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, value in fields.items():
        data.setlist(name.replace("_", "-"), value if isinstance(value, list) else [value])
    return data


CHOICE = make_question("choice", options=["a container", "a VM", "a tarball"], answer=0)
MULTI = make_question("multi", options=["one", "two", "three", "four"], answer=[0, 2])
SPOT = make_question("spot_bug", code="FROM python:3.11-slim\nCOPY . .\nRUN pip install -r r.txt\n", answer=2)
ORDER = make_question("order", items=["FROM", "COPY requirements.txt .", "RUN pip install", "COPY . ."])
TEXT = make_question(
    "text",
    model_answer="Containers share the host kernel.",
    key_points=["shares the host kernel", "starts in milliseconds"],
)


def positions(question: Question, salt: str, order: list[int]) -> QueryDict:
    """The form a browser sends for an order question: each item's token with its position."""
    tokens = order_tokens(question, salt)
    return form(**{f"position_{tokens[index]}": str(place) for place, index in enumerate(order, start=1)})


# Choice --------------------------------------------------------------------------------------------------


def picks(question: Question, *indexes: int, salt: str = "s") -> QueryDict:
    """The form a browser sends for a choice or multi question: the tokens of the options ticked."""
    tokens = option_tokens(question, salt)
    return form(answer=[tokens[index] for index in indexes])


def test_a_choice_answer_is_right_only_for_the_answer_option():
    assert grade_answer(CHOICE, picks(CHOICE, 0), "s").correct is True
    wrong = grade_answer(CHOICE, picks(CHOICE, 2), "s")
    assert wrong.correct is False and wrong.answer == 2


@pytest.mark.parametrize("value", ["0", "1", "3", "-1", "zero", "", "true", "0123456789abcdef"])
def test_a_choice_answer_naming_no_option_of_this_question_is_refused(value):
    # A written index or a shown position is not an option's identity: only its token is.
    with pytest.raises(BadAnswer, match="no such option"):
        grade_answer(CHOICE, form(answer=value), "s")


def test_a_choice_answer_with_a_token_from_another_quiz_is_refused():
    with pytest.raises(BadAnswer, match="no such option"):
        grade_answer(CHOICE, picks(CHOICE, 0, salt="another-quiz"), "s")


def test_a_choice_answer_with_two_options_or_none_is_refused():
    with pytest.raises(BadAnswer, match="exactly one"):
        grade_answer(CHOICE, picks(CHOICE, 0, 1), "s")
    with pytest.raises(BadAnswer, match="Choose one"):
        grade_answer(CHOICE, form(), "s")


def test_a_choice_answer_from_json_with_a_boolean_or_a_number_is_refused():
    for value in (True, 0):
        with pytest.raises(BadAnswer):
            grade_answer(CHOICE, {"answer": value}, "s")


# Shown order ---------------------------------------------------------------------------------------------

# Forty four-option questions, like a lesson's worth of the bank.
BANK_LIKE = [
    Question(key=f"lesson/question-{q}", kind="choice", prompt="?", data={"options": list("abcd"), "answer": q % 4})
    for q in range(40)
]


def test_option_tokens_are_stable_for_a_salt_and_differ_between_salts():
    assert option_tokens(CHOICE, "quiz-1") == option_tokens(CHOICE, "quiz-1")
    assert set(option_tokens(CHOICE, "quiz-1")).isdisjoint(option_tokens(CHOICE, "quiz-2"))
    assert all(len(token) == 16 and int(token, 16) >= 0 for token in option_tokens(CHOICE, "quiz-1"))


def test_option_tokens_never_equal_the_item_tokens_of_the_same_salt():
    both = Question(key="lesson/same", kind="choice", data={"options": ["a", "b"], "items": ["a", "b"]})
    assert set(option_tokens(both, "s")).isdisjoint(order_tokens(both, "s"))


def test_the_shown_order_is_a_permutation_stable_for_one_learner():
    for question in BANK_LIKE:
        order = shown_option_order(question, "learner-a")
        assert sorted(order) == [0, 1, 2, 3]
        assert shown_option_order(question, "learner-a") == order


def test_the_shown_order_differs_between_two_learners_for_most_questions():
    differ = sum(shown_option_order(q, "learner-a") != shown_option_order(q, "learner-b") for q in BANK_LIKE)
    # Two random orders of four options agree with probability 1/24.
    assert differ >= 0.8 * len(BANK_LIKE)


def test_the_right_answer_is_not_always_shown_in_the_same_place():
    # The same question for many learners: its right option moves around the list.
    places = {shown_option_order(CHOICE, f"learner-{n}").index(0) for n in range(40)}
    assert places == {0, 1, 2}


def test_grading_is_right_whatever_order_the_options_were_shown_in():
    for salt in (f"learner-{n}" for n in range(20)):
        shown = shown_option_order(CHOICE, salt)
        tokens = option_tokens(CHOICE, salt)
        for place, index in enumerate(shown):
            graded = grade_answer(CHOICE, form(answer=tokens[index]), salt)
            assert graded.correct is (index == 0), (salt, place)
            assert graded.answer == index


def test_the_front_shows_option_tokens_in_the_shown_order_and_the_solution_keeps_that_order():
    front = present_front(MULTI, "learner-a")
    tokens = option_tokens(MULTI, "learner-a")
    order = shown_option_order(MULTI, "learner-a")
    assert [token for token, _ in front.options] == [tokens[index] for index in order]
    assert [str(html) for _, html in front.options] == [MULTI.data["options"][index] for index in order]
    multi = Question(key=MULTI.key, kind="multi", prompt="?", data=MULTI.data, lesson=Lesson(slug="lesson"))
    solution = present_solution(multi, "learner-a")
    assert [(index, right) for index, _, right in solution.options] == [(i, i in (0, 2)) for i in order]


# Multi ---------------------------------------------------------------------------------------------------


def test_a_multi_answer_is_right_only_for_the_exact_set():
    assert grade_answer(MULTI, picks(MULTI, 2, 0), "s").correct is True
    assert grade_answer(MULTI, picks(MULTI, 0), "s").correct is False
    assert grade_answer(MULTI, picks(MULTI, 0, 2, 3), "s").correct is False


def test_a_multi_answer_earns_partial_credit_for_display_but_is_not_correct():
    half = grade_answer(MULTI, picks(MULTI, 0), "s")
    assert half.credit == 0.5 and half.correct is False
    # A wrong pick cancels a right one.
    assert grade_answer(MULTI, picks(MULTI, 0, 1), "s").credit == 0.0


def test_an_empty_multi_answer_is_wrong_rather_than_refused():
    graded = grade_answer(MULTI, form(), "s")
    assert graded.correct is False and graded.answer == []


def test_a_multi_answer_with_an_unknown_or_repeated_option_is_refused():
    tokens = option_tokens(MULTI, "s")
    with pytest.raises(BadAnswer, match="no such option"):
        grade_answer(MULTI, form(answer=[tokens[0], "4"]), "s")
    with pytest.raises(BadAnswer, match="only once"):
        grade_answer(MULTI, form(answer=[tokens[0], tokens[0], tokens[2]]), "s")


# Spot the bug --------------------------------------------------------------------------------------------


def test_spot_the_bug_is_right_for_the_faulty_line_counted_from_one():
    assert grade_answer(SPOT, form(answer="2"), "s").correct is True
    assert grade_answer(SPOT, form(answer="1"), "s").correct is False


@pytest.mark.parametrize("value", ["0", "4", "two"])
def test_spot_the_bug_refuses_a_line_that_is_not_in_the_code(value):
    with pytest.raises(BadAnswer):
        grade_answer(SPOT, form(answer=value), "s")


# Order ---------------------------------------------------------------------------------------------------


def test_order_tokens_are_stable_within_a_quiz_and_differ_between_quizzes():
    assert order_tokens(ORDER, "quiz-1") == order_tokens(ORDER, "quiz-1")
    assert set(order_tokens(ORDER, "quiz-1")).isdisjoint(order_tokens(ORDER, "quiz-2"))


def test_order_tokens_are_opaque_and_depend_on_the_question_not_only_on_the_position():
    tokens = order_tokens(ORDER, "quiz-1")
    other = Question(key="other/order", kind="order", data={"items": ["a", "b", "c", "d"]})
    assert len(set(tokens)) == len(tokens)
    assert set(tokens).isdisjoint(order_tokens(other, "quiz-1"))
    assert all(len(token) == 16 and int(token, 16) >= 0 for token in tokens)


@pytest.mark.parametrize("salt", [f"quiz-{n}" for n in range(30)])
def test_order_items_are_never_shown_in_the_right_order(salt):
    order = shuffled_order(ORDER, salt)
    assert sorted(order) == [0, 1, 2, 3]
    assert order != [0, 1, 2, 3]


def test_an_order_answer_in_the_right_order_is_correct():
    graded = grade_answer(ORDER, positions(ORDER, "q", [0, 1, 2, 3]), "q")
    assert graded.correct is True and graded.credit == 1.0


def test_an_order_answer_in_another_order_is_wrong_with_credit_for_items_in_place():
    graded = grade_answer(ORDER, positions(ORDER, "q", [0, 3, 2, 1]), "q")
    assert graded.correct is False
    assert graded.answer == [0, 3, 2, 1]
    assert graded.credit == 0.5


def test_an_order_answer_with_tokens_from_another_quiz_is_refused():
    with pytest.raises(BadAnswer, match="exactly the items"):
        grade_answer(ORDER, positions(ORDER, "other-quiz", [0, 1, 2, 3]), "q")


def test_an_order_answer_missing_an_item_is_refused():
    data = positions(ORDER, "q", [0, 1, 2, 3])
    del data[next(iter(data))]
    with pytest.raises(BadAnswer, match="exactly the items"):
        grade_answer(ORDER, data, "q")


def test_an_order_answer_with_two_items_in_one_position_is_refused():
    tokens = order_tokens(ORDER, "q")
    data = form(**{f"position_{token}": "1" for token in tokens})
    with pytest.raises(BadAnswer, match="position 1"):
        grade_answer(ORDER, data, "q")


def test_an_order_answer_with_a_position_out_of_range_is_refused():
    tokens = order_tokens(ORDER, "q")
    data = form(**{f"position_{token}": str(place) for place, token in enumerate(tokens, start=2)})
    with pytest.raises(BadAnswer, match="from 1 to 4"):
        grade_answer(ORDER, data, "q")


# Text ----------------------------------------------------------------------------------------------------


def test_a_text_answer_waits_for_the_learners_verdict_and_suggests_one():
    graded = grade_answer(TEXT, form(answer="They share the kernel of the host and start in milliseconds."), "s")
    assert graded.correct is None
    assert graded.key_points == [("shares the host kernel", True), ("starts in milliseconds", True)]
    assert graded.suggestion == "got"


def test_a_text_answer_missing_the_key_points_suggests_a_miss():
    graded = grade_answer(TEXT, form(answer="Containers are smaller."), "s")
    assert graded.suggestion == "missed"
    assert [hit for _, hit in graded.key_points] == [False, False]


def test_key_point_matching_ignores_case_and_word_endings():
    matches = key_point_matches("The image CACHING layer is cached", ["cache layers"])
    assert matches == [("cache layers", True)]


def test_key_point_matching_needs_at_least_half_of_a_points_words():
    assert key_point_matches("the kernel", ["shares the host kernel"]) == [("shares the host kernel", False)]
    assert key_point_matches("host kernel", ["shares the host kernel"]) == [("shares the host kernel", True)]


@pytest.mark.parametrize("text", ["", "   ", "x" * 5001])
def test_an_empty_or_huge_text_answer_is_refused(text):
    with pytest.raises(BadAnswer):
        grade_answer(TEXT, form(answer=text), "s")


def test_self_assessment_accepts_only_got_it_or_missed_it():
    assert self_assess(form(verdict="got")) is True
    assert self_assess(form(verdict="missed")) is False
    for bad in (form(verdict="maybe"), form(), form(verdict=["got", "missed"])):
        with pytest.raises(BadAnswer):
            self_assess(bad)


# Skipping ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("question", [CHOICE, MULTI, SPOT, ORDER, TEXT], ids=lambda q: q.kind)
def test_skipping_any_question_counts_as_missed(question):
    graded = grade_answer(question, form(skip="1"), "s")
    assert graded.correct is False and graded.answer is None
