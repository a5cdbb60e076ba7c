from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from lessons.loader import ContentError, load_course, read_course
from lessons.models import Lesson, Question

from .conftest import write_file, write_lesson

pytestmark = pytest.mark.django_db


def test_loading_good_content_creates_lessons_in_order(tmp_path):
    write_lesson(tmp_path, "02-second", title="Second", order=2)
    write_lesson(tmp_path, "01-first", title="First", order=1)
    summary = load_course(tmp_path)
    assert summary.lessons == 2
    assert list(Lesson.objects.values_list("slug", flat=True)) == ["first", "second"]
    first = Lesson.objects.get(slug="first")
    assert first.objectives == ["Do a thing."]
    assert [entry["anchor"] for entry in first.toc] == ["first-section", "recap"]


def test_loading_twice_changes_nothing_the_second_time(tmp_path):
    write_lesson(tmp_path, "01-first", title="First")
    load_course(tmp_path)
    ids = list(Lesson.objects.values_list("id", "title"))
    summary = load_course(tmp_path)
    assert list(Lesson.objects.values_list("id", "title")) == ids
    assert summary.removed == 0


def test_editing_a_lesson_file_updates_it_in_place(tmp_path):
    folder = write_lesson(tmp_path, "01-first", title="First")
    load_course(tmp_path)
    original_id = Lesson.objects.get().id
    write_lesson(tmp_path, "01-first", title="First, revised")
    load_course(tmp_path)
    lesson = Lesson.objects.get()
    assert (lesson.id, lesson.title) == (original_id, "First, revised")
    assert folder.exists()


def test_a_removed_lesson_folder_is_removed_from_the_database(tmp_path):
    write_lesson(tmp_path, "01-first")
    second = write_lesson(tmp_path, "02-second", order=2)
    load_course(tmp_path)
    for path in second.iterdir():
        path.unlink()
    second.rmdir()
    load_course(tmp_path)
    assert list(Lesson.objects.values_list("slug", flat=True)) == ["first"]


def test_malformed_front_matter_names_the_file_and_line_and_changes_nothing(tmp_path):
    write_lesson(tmp_path, "01-first", title="First")
    load_course(tmp_path)
    write_lesson(tmp_path, "02-broken", front="title: Broken\norder: 2\nobjectives: [unclosed\n")
    with pytest.raises(ContentError) as error:
        load_course(tmp_path)
    assert "02-broken/lesson.md:" in str(error.value)
    assert "invalid YAML" in str(error.value)
    assert list(Lesson.objects.values_list("slug", flat=True)) == ["first"]


def test_the_command_exits_non_zero_and_names_the_file(tmp_path):
    write_lesson(tmp_path, "01-broken", front="title: [\n")
    with pytest.raises(CommandError) as error:
        call_command("loadlessons", content=tmp_path, stdout=StringIO())
    assert "01-broken/lesson.md:3" in str(error.value)
    assert "nothing changed" in str(error.value)
    assert Lesson.objects.count() == 0


def test_missing_front_matter_fields_are_reported(tmp_path):
    write_lesson(tmp_path, "01-first", front="title: ''\norder: zero\n")
    with pytest.raises(ContentError) as error:
        read_course(tmp_path)
    message = str(error.value)
    assert "'title' is required" in message
    assert "'order' is required" in message
    assert "'objectives' must be" in message


def test_duplicate_lesson_slugs_are_refused(tmp_path):
    write_lesson(tmp_path, "01-same", order=1)
    write_lesson(tmp_path, "02-same", order=2)
    with pytest.raises(ContentError, match="duplicate lesson slug 'same'"):
        load_course(tmp_path)
    assert Lesson.objects.count() == 0


def test_duplicate_orders_are_refused(tmp_path):
    write_lesson(tmp_path, "01-one", order=1)
    write_lesson(tmp_path, "02-two", order=1)
    with pytest.raises(ContentError, match="order 1 is also used by 01-one"):
        read_course(tmp_path)


def test_a_badly_named_folder_is_refused(tmp_path):
    write_lesson(tmp_path, "Intro Lesson")
    with pytest.raises(ContentError, match="NN-slug"):
        read_course(tmp_path)


def test_questions_are_loaded_with_global_keys(tmp_path):
    folder = write_lesson(tmp_path, "01-first")
    write_file(
        folder / "questions.yaml",
        """\
        - id: pick-one
          type: choice
          section: first-section
          prompt: Which?
          options: [a, b]
          answer: 1
          explanation: Because.
        """,
    )
    load_course(tmp_path)
    question = Question.objects.get()
    assert question.key == "first/pick-one"
    assert question.data == {"options": ["a", "b"], "answer": 1}
    assert question.section_url() == "/lessons/first/#first-section"


def test_a_bad_question_names_its_line_and_the_problem(tmp_path):
    folder = write_lesson(tmp_path, "01-first")
    write_file(
        folder / "questions.yaml",
        """\
        - id: fine
          type: text
          prompt: Why?
          model_answer: Because.
          explanation: Because.
        - id: broken
          type: choice
          prompt: Which?
          options: [a, b]
          answer: 5
          explanation: No.
        """,
    )
    with pytest.raises(ContentError) as error:
        load_course(tmp_path)
    assert "01-first/questions.yaml:6: question 'broken': 'answer' must be option indexes from 0 to 1" in str(
        error.value
    )


def test_an_option_that_yaml_reads_as_a_mapping_is_refused_with_the_fix(tmp_path):
    folder = write_lesson(tmp_path, "01-first")
    write_file(
        folder / "questions.yaml",
        """\
        - id: colon
          type: choice
          prompt: Which?
          options:
            - "Quoted: fine"
            - Unquoted: a mapping
          answer: 0
          explanation: Because.
        """,
    )
    with pytest.raises(ContentError) as error:
        read_course(tmp_path)
    assert "question 'colon': option 2 is not plain text" in str(error.value)
    assert "put it in quotes" in str(error.value)


def test_a_question_linking_to_a_missing_section_is_refused(tmp_path):
    folder = write_lesson(tmp_path, "01-first")
    write_file(
        folder / "questions.yaml",
        """\
        - id: lost
          type: text
          section: nowhere
          prompt: Why?
          model_answer: Because.
          explanation: Because.
        """,
    )
    with pytest.raises(ContentError, match="'#nowhere', which"):
        read_course(tmp_path)


def test_a_lesson_that_is_not_utf8_is_refused(tmp_path):
    folder = write_lesson(tmp_path, "01-first")
    (folder / "lesson.md").write_bytes(b"---\ntitle: \xff\xfe\n---\n")
    with pytest.raises(ContentError, match="not UTF-8"):
        read_course(tmp_path)


def test_the_shipped_course_loads_with_every_topic(shipped_course):
    assert shipped_course.lessons >= 12
    titles = " ".join(Lesson.objects.values_list("title", flat=True)).lower()
    for topic in ["container", "image", "dockerfile", "multi-stage", "compose", "volume", "network", "secret"]:
        assert topic in titles, topic
    for lesson in Lesson.objects.all():
        assert lesson.objectives, lesson.slug
        assert "recap" in lesson.anchors(), lesson.slug
