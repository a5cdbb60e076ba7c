"""The shipped question bank is fair: no answer can be guessed from where it sits or how long it is, no two
questions teach the same thing, and every question explains itself and links to a section of its lesson.

The bank is read through lessons.loader.read_course (no database, nothing running). The measures are plain
functions over the loaded questions, so they can be run on any version of the course.

Scores, for the bank as it was before the expert review (16 lessons, 118 questions, 43 single choice,
16 multi-select) and after it (21 lessons, 166 questions, 81 single choice, 25 multi-select):

    measure                                                  before             after             limit
    single choice: share of right answers at the most        100% (1st option)  26%               <= 40%
      used position
    single choice: best "always pick position k" score       1.00               0.26              <= chance + 0.10
      (chance: the mean of 1 / number of options)            (chance 0.28)      (chance 0.25)
    single choice: "pick the longest option" score           0.91               0.17              <= 0.35
    single choice: best score judging by length alone        0.91 (longest)     0.30 (middle)     <= chance + 0.10
    single choice: right option length / mean option length  1.42               1.00              <= 1.10
    multi-select: mean right / mean wrong option length      1.22               1.07              0.85 .. 1.15
    multi-select: largest gap between how often a position   0.43 (1st option   0.12              <= 0.25
      is right and how often options are right overall         always right)
    multi-select: most common set of right options           44% ([0, 1, 2])    16% ([0, 2, 4])   <= 25%
    near-duplicate pairs (similarity >= 0.19)                17                 0 (closest 0.185) none
    questions without an explanation                         0                  0                 none
    questions whose section is missing from their lesson     0                  0                 none
    number of questions                                      118                166               >= 160

Why these limits. A bank of N single-choice questions whose right answers were placed at random would
score about chance on "always pick k", with a standard deviation of sqrt(p(1 - p) / N), about 0.05 for
N = 80; a margin of 0.10 is two standard deviations, so a fair bank passes and a predictable one (the old
bank scored 1.00 by always picking the first option) fails. The same reasoning gives 35% for "the right
option is the longest": chance is 25-33% for three or four options, and 35% leaves room for a few ties
but catches the habit of writing the right answer as the most careful, longest sentence. For multi-select
questions, each position should be right about as often as options are right overall; 0.25 is wide
enough for a bank of 25 such questions and still catches "the first option is always right".

Near-duplicates. Two questions are near-duplicates when what they teach overlaps: the text of the right
answer (the right options, the faulty line, the ordered items or the model answer), the key points and the
explanation, reduced to stemmed content words, compared by Jaccard similarity with each word weighted by
its inverse document frequency across the bank (so "docker" and "container" count for little and
"whiteout" or "SIGKILL" for a lot). Prompts are left out: they describe scenarios, and two scenarios can
differ while testing the same fact. On the old bank, the threshold of 0.19 flags 17 pairs: five of the
seven duplicate groups the review listed (shell form and SIGTERM, e.g. `docker-stop-sequence`/`exit-137`
at 0.23; `spot-copy-all-first`/`spot-apt-after-copy` 0.20; `context-size`/`missing-dockerignore` 0.20;
`deleting-does-not-shrink`/`deleted-secret-still-there` 0.20; `reach-host-service`/
`explain-external-access` 0.30), and pairs that were close as well, such as `compose-up-does`/
`start-order` (0.25, both taught depends_on ordering) or `container-port-not-host-port`/
`spot-localhost-between-services` (0.21). The other two listed groups are one topic in different words,
`why-not-latest`/`why-pin` and `health-states`/`unhealthy-no-restart` (about 0.13 each); at that level a
lexical measure also flags about a hundred legitimately related pairs, so those two were resolved by hand
(the first became a question on tags and digests, the second moved to the restart-policy lesson) and the
threshold was not lowered for them. The rebalanced bank's closest pair scores 0.185.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from lessons.loader import read_course

MIN_QUESTIONS = 160
MAX_SHARE_AT_ONE_POSITION = 0.40
ALWAYS_PICK_MARGIN = 0.10
MAX_RIGHT_IS_LONGEST_SHARE = 0.35
MAX_RIGHT_LENGTH_RATIO = 1.10
MULTI_LENGTH_RATIO_RANGE = (0.85, 1.15)
MAX_MULTI_POSITION_GAP = 0.25
MAX_MULTI_PATTERN_SHARE = 0.25
NEAR_DUPLICATE_THRESHOLD = 0.19

STOP_WORDS = set(
    """a an the and or of to in on at for is are be it its this that with as by from not no do does can you
    your what which why how when who into than then there their them they so if only one any all was were
    has have had will would should must may more most same other such these those but also each every line
    bug yes because without after before just""".split()
)


def load_bank(root: Path) -> tuple[list[dict], dict[str, set[str]]]:
    """The questions of the course at root, and each lesson's section anchors, keyed by lesson slug."""
    course = read_course(root)
    anchors = {lesson["slug"]: {entry["anchor"] for entry in lesson["toc"]} for lesson in course.lessons}
    return course.questions, anchors


def of_kind(questions: list[dict], kind: str) -> list[dict]:
    return [question for question in questions if question["kind"] == kind]


# Single choice: position and length.


def choice_position_shares(questions: list[dict]) -> dict[int, float]:
    """For each option position, the share of single-choice questions whose right answer sits there."""
    choices = of_kind(questions, "choice")
    counts = Counter(question["data"]["answer"] for question in choices)
    return {position: count / len(choices) for position, count in sorted(counts.items())}


def chance_score(questions: list[dict]) -> float:
    """The expected score of guessing at random: the mean of 1 / number of options."""
    choices = of_kind(questions, "choice")
    return sum(1 / len(question["data"]["options"]) for question in choices) / len(choices)


def best_always_pick_score(questions: list[dict]) -> float:
    """The best score a learner gets by always picking the same position, whatever the question."""
    choices = of_kind(questions, "choice")
    widest = max(len(question["data"]["options"]) for question in choices)
    return max(
        sum(1 for question in choices if question["data"]["answer"] == position) / len(choices)
        for position in range(widest)
    )


def right_is_longest_share(questions: list[dict]) -> float:
    """The score of always picking the longest option, breaking ties at random.

    A question whose right option is the only longest one counts 1; one where it ties with another option
    for longest counts 1/2, and so on.
    """
    choices = of_kind(questions, "choice")
    score = 0.0
    for question in choices:
        lengths = [len(option) for option in question["data"]["options"]]
        if lengths[question["data"]["answer"]] == max(lengths):
            score += 1 / lengths.count(max(lengths))
    return score / len(choices)


def length_strategy_scores(questions: list[dict]) -> dict[str, float]:
    """What a learner scores by judging single-choice options by their length alone, ties broken at random.

    "longest" and "shortest" pick among the longest or shortest options; "middle" picks among the options
    that are neither (or among all of them, when every option is the longest or the shortest).
    """
    choices = of_kind(questions, "choice")
    strategies = {
        "longest": lambda lengths: [i for i, n in enumerate(lengths) if n == max(lengths)],
        "shortest": lambda lengths: [i for i, n in enumerate(lengths) if n == min(lengths)],
        "middle": lambda lengths: (
            [i for i, n in enumerate(lengths) if min(lengths) < n < max(lengths)] or list(range(len(lengths)))
        ),
    }
    scores = {}
    for name, pick in strategies.items():
        score = 0.0
        for question in choices:
            picked = pick([len(option) for option in question["data"]["options"]])
            if question["data"]["answer"] in picked:
                score += 1 / len(picked)
        scores[name] = score / len(choices)
    return scores


def right_length_ratio(questions: list[dict]) -> float:
    """The right option's length relative to the mean option length, averaged over single-choice questions."""
    choices = of_kind(questions, "choice")
    ratios = []
    for question in choices:
        lengths = [len(option) for option in question["data"]["options"]]
        ratios.append(lengths[question["data"]["answer"]] / (sum(lengths) / len(lengths)))
    return sum(ratios) / len(ratios)


# Multi-select: length, position and pattern.


def multi_length_ratio(questions: list[dict]) -> float:
    """Mean length of right options divided by mean length of wrong ones, over all multi-select questions."""
    right, wrong = [], []
    for question in of_kind(questions, "multi"):
        for index, option in enumerate(question["data"]["options"]):
            (right if index in question["data"]["answer"] else wrong).append(len(option))
    return (sum(right) / len(right)) / (sum(wrong) / len(wrong))


def multi_position_gap(questions: list[dict]) -> float:
    """How far the most lopsided position is from being right as often as options are right overall."""
    multis = of_kind(questions, "multi")
    total_options = sum(len(question["data"]["options"]) for question in multis)
    overall = sum(len(question["data"]["answer"]) for question in multis) / total_options
    gaps = []
    widest = max(len(question["data"]["options"]) for question in multis)
    for position in range(widest):
        having = [question for question in multis if len(question["data"]["options"]) > position]
        right = sum(1 for question in having if position in question["data"]["answer"])
        gaps.append(abs(right / len(having) - overall))
    return max(gaps)


def most_common_multi_pattern_share(questions: list[dict]) -> float:
    """The share of multi-select questions that use the most common set of right positions."""
    multis = of_kind(questions, "multi")
    patterns = Counter(tuple(sorted(question["data"]["answer"])) for question in multis)
    return patterns.most_common(1)[0][1] / len(multis)


# Near-duplicates.


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Lower-cased, stemmed words of three letters or more, without common English words."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {_stem(word) for word in words if len(word) >= 3 and word not in STOP_WORDS}


def right_answer_text(question: dict) -> str:
    """The text a learner must recognise or produce to be right."""
    data = question["data"]
    kind = question["kind"]
    if kind == "choice":
        return data["options"][data["answer"]]
    if kind == "multi":
        return " ".join(data["options"][index] for index in data["answer"])
    if kind == "spot_bug":
        return data["code"].splitlines()[data["answer"] - 1]
    if kind == "order":
        return " ".join(data["items"])
    return data["model_answer"]


def teaching_text(question: dict) -> str:
    """What a question teaches: its right answer, its key points and its explanation."""
    key_points = " ".join(question["data"].get("key_points") or [])
    return " ".join([right_answer_text(question), key_points, question["explanation"]])


def near_duplicate_pairs(questions: list[dict], threshold: float = NEAR_DUPLICATE_THRESHOLD) -> list[tuple]:
    """Pairs of questions whose teaching texts have an IDF-weighted Jaccard similarity of at least threshold.

    Returns (similarity, key, key) tuples, most similar first.
    """
    words = {question["key"]: content_words(teaching_text(question)) for question in questions}
    document_frequency = Counter(word for found in words.values() for word in found)
    weight = {word: math.log(len(questions) / count) for word, count in document_frequency.items()}
    pairs = []
    for first, second in itertools.combinations(questions, 2):
        a, b = words[first["key"]], words[second["key"]]
        union = sum(weight[word] for word in a | b)
        similarity = sum(weight[word] for word in a & b) / union if union else 0.0
        if similarity >= threshold:
            pairs.append((round(similarity, 3), first["key"], second["key"]))
    return sorted(pairs, reverse=True)


# The tests, on the shipped course.


@pytest.fixture(scope="module")
def bank() -> tuple[list[dict], dict[str, set[str]]]:
    return load_bank(Path(settings.LESSONS_CONTENT_DIR))


@pytest.fixture(scope="module")
def questions(bank) -> list[dict]:
    return bank[0]


def test_the_bank_has_enough_questions(questions):
    assert len(questions) >= MIN_QUESTIONS


def test_every_question_has_an_explanation(questions):
    missing = [question["key"] for question in questions if not question["explanation"].strip()]
    assert missing == []


def test_every_question_links_to_a_section_of_its_own_lesson(bank):
    questions, anchors = bank
    broken = [
        (question["key"], question["section"])
        for question in questions
        if not question["section"] or question["section"] not in anchors[question["lesson_slug"]]
    ]
    assert broken == []


def test_no_position_holds_too_many_single_choice_answers(questions):
    shares = choice_position_shares(questions)
    assert max(shares.values()) <= MAX_SHARE_AT_ONE_POSITION, shares


def test_always_picking_one_position_scores_no_better_than_chance(questions):
    assert best_always_pick_score(questions) <= chance_score(questions) + ALWAYS_PICK_MARGIN


def test_the_right_option_is_rarely_the_longest(questions):
    assert right_is_longest_share(questions) <= MAX_RIGHT_IS_LONGEST_SHARE


def test_judging_options_by_their_length_scores_no_better_than_chance(questions):
    limit = chance_score(questions) + ALWAYS_PICK_MARGIN
    scores = length_strategy_scores(questions)
    assert max(scores.values()) <= limit, scores


def test_the_right_option_is_no_longer_than_the_others_on_average(questions):
    assert right_length_ratio(questions) <= MAX_RIGHT_LENGTH_RATIO


def test_right_and_wrong_multi_select_options_are_as_long_as_each_other(questions):
    low, high = MULTI_LENGTH_RATIO_RANGE
    assert low <= multi_length_ratio(questions) <= high


def test_no_multi_select_position_is_right_much_more_or_less_often_than_others(questions):
    assert multi_position_gap(questions) <= MAX_MULTI_POSITION_GAP


def test_multi_select_questions_vary_which_options_are_right(questions):
    assert most_common_multi_pattern_share(questions) <= MAX_MULTI_PATTERN_SHARE


def test_no_two_questions_teach_the_same_thing(questions):
    assert near_duplicate_pairs(questions) == []


# The measures themselves must be able to fail.


def _choice(key: str, options: list[str], answer: int) -> dict:
    return {"key": key, "kind": "choice", "data": {"options": options, "answer": answer}, "explanation": "x"}


def _multi(key: str, options: list[str], answer: list[int]) -> dict:
    return {"key": key, "kind": "multi", "data": {"options": options, "answer": answer}, "explanation": "x"}


def test_a_bank_that_always_puts_the_answer_first_is_caught():
    predictable = [_choice(f"q{n}", ["the long and careful right answer", "wrong", "no", "nope"], 0) for n in range(8)]
    assert best_always_pick_score(predictable) == 1.0
    assert choice_position_shares(predictable) == {0: 1.0}
    assert right_is_longest_share(predictable) == 1.0
    assert length_strategy_scores(predictable)["longest"] == 1.0
    assert right_length_ratio(predictable) > MAX_RIGHT_LENGTH_RATIO


def test_a_bank_whose_multi_select_answers_always_start_with_the_first_option_is_caught():
    predictable = [_multi(f"q{n}", ["right and long", "right and long", "no", "no"], [0, 1]) for n in range(6)]
    assert multi_position_gap(predictable) == 0.5
    assert most_common_multi_pattern_share(predictable) == 1.0
    assert multi_length_ratio(predictable) > MULTI_LENGTH_RATIO_RANGE[1]


def test_two_questions_explaining_the_same_fact_are_caught_and_different_ones_are_not():
    def explained(key: str, explanation: str) -> dict:
        return {"key": key, "kind": "text", "data": {"model_answer": ""}, "explanation": explanation}

    same_a = explained("a", "Deleting a file in a later layer only hides it behind a whiteout; the bytes stay.")
    same_b = explained("b", "A later layer only hides the deleted file with a whiteout, so its bytes stay.")
    other = explained("c", "Publishing a port forwards connections from the host into the container.")
    unrelated = explained("d", "Compose reads variables from a .env file next to the compose file.")
    pairs = near_duplicate_pairs([same_a, same_b, other, unrelated])
    assert [(first, second) for _, first, second in pairs] == [("a", "b")]
