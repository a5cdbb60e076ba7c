"""Classes: instructors create and run them, learners join and leave them, and nobody else sees them."""

from __future__ import annotations

import pytest
from django.urls import URLPattern

from sandbox.models import Submission
from teach import urls as teach_urls
from teach.models import CODE_ALPHABET, Classroom, Membership

from .conftest import make_user
from .teach_helpers import T0, grade, make_class, make_exercise, make_instructor, make_lesson, make_question

# --- Permissions: every teaching page and export, for people who must not see it -----------------------------------

# Every URL of teach/urls.py by name, with how to ask for it: (method, path). {pk} is the class, {learner} a member,
# {slug} an exercise the class covers, {lesson} a lesson.
PAGES = {
    "teach_home": ("get", "/teach/"),
    "teach_class_create": ("get", "/teach/classes/new/"),
    "teach_class": ("get", "/teach/classes/{pk}/"),
    "teach_class_edit": ("get", "/teach/classes/{pk}/edit/"),
    "teach_class_new_code": ("post", "/teach/classes/{pk}/new-code/"),
    "teach_class_csv": ("get", "/teach/classes/{pk}/grid.csv"),
    "teach_learner_exercise": ("get", "/teach/classes/{pk}/learners/{learner}/{slug}/"),
    "teach_course": ("get", "/teach/course/"),
    "teach_course_csv": ("get", "/teach/course/checks.csv"),
    "teach_author": ("get", "/teach/author/"),
    "teach_author_status": ("get", "/teach/author/status/"),
    "teach_author_reload": ("post", "/teach/author/reload/"),
    "teach_author_lesson": ("get", "/teach/author/lessons/{lesson}/"),
    "teach_author_questions": ("get", "/teach/author/lessons/{lesson}/questions/"),
    "teach_author_exercise": ("get", "/teach/author/exercises/{slug}/"),
    "teach_author_grade": ("post", "/teach/author/exercises/{slug}/grade/"),
    # The learner's own actions; tested on their own below.
    "teach_join": None,
    "teach_join_code": None,
    "teach_leave": None,
}
# The other exports of a class and of the course, which share a URL name with the one above.
EXPORTS = [
    ("get", "/teach/classes/{pk}/exercises.csv"),
    ("get", "/teach/classes/{pk}/checks.csv"),
    ("get", "/teach/classes/{pk}/questions.csv"),
    ("get", "/teach/course/exercises.csv"),
    ("get", "/teach/course/questions.csv"),
    ("post", "/teach/classes/{pk}/edit/"),
]
GUARDED = [request for request in PAGES.values() if request] + EXPORTS
# Pages any instructor may open (their own list, a new class); everything else is one class's or staff's.
ANY_INSTRUCTOR = {("get", "/teach/"), ("get", "/teach/classes/new/")}


def test_the_permission_tests_cover_every_teaching_url():
    names = {pattern.name for pattern in teach_urls.urlpatterns if isinstance(pattern, URLPattern)}
    assert names == set(PAGES)


@pytest.fixture
def a_class(db):
    lesson = make_lesson("basics", 1)
    exercise = make_exercise(lesson, "first-image", [("build", "build", "The image builds")])
    make_question(lesson, "q1")
    owner = make_instructor("owner")
    member = make_user("member")
    classroom = make_class(owner, "Secret class name", learners=[member])
    grade(member, exercise, {}, T0, log="#1 [internal] load build definition\n")
    return classroom, member


def ask(client, user, request, classroom, member):
    method, template = request
    path = template.format(pk=classroom.pk, learner=member.pk, slug="first-image", lesson="basics")
    client.force_login(user)
    return getattr(client, method)(path)


@pytest.mark.parametrize("request_", GUARDED, ids=lambda r: f"{r[0]} {r[1]}")
def test_a_learner_gets_403_or_404_on_every_teaching_page(client, a_class, request_):
    classroom, member = a_class
    response = ask(client, member, request_, classroom, member)
    assert response.status_code in (403, 404)
    assert b"Secret class name" not in response.content


@pytest.mark.parametrize("request_", [r for r in GUARDED if r not in ANY_INSTRUCTOR], ids=lambda r: f"{r[0]} {r[1]}")
def test_an_instructor_of_another_class_gets_403_or_404_on_this_class_and_staff_pages(client, a_class, request_):
    classroom, member = a_class
    other = make_instructor("other-teacher")
    make_class(other, "Their own class", learners=[member])
    response = ask(client, other, request_, classroom, member)
    assert response.status_code in (403, 404)
    assert b"Secret class name" not in response.content


@pytest.mark.parametrize("request_", GUARDED, ids=lambda r: f"{r[0]} {r[1]}")
def test_a_visitor_who_is_not_logged_in_is_sent_to_log_in(client, a_class, request_):
    classroom, member = a_class
    method, template = request_
    response = getattr(client, method)(
        template.format(pk=classroom.pk, learner=member.pk, slug="first-image", lesson="basics")
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize(
    "request_", [r for r in GUARDED if "/course/" not in r[1] and "/author/" not in r[1]], ids=lambda r: r[1]
)
def test_the_class_s_own_instructor_opens_every_page_of_it(client, a_class, request_):
    classroom, member = a_class
    response = ask(client, classroom.instructor, request_, classroom, member)
    assert response.status_code in (200, 302)


def test_a_refusal_says_why_in_words(client, a_class):
    _, member = a_class
    client.force_login(member)
    response = client.get("/teach/")
    assert response.status_code == 403
    assert b"Only instructors can run classes" in response.content


def test_the_instructor_of_a_class_sees_only_its_members_attempts(client, a_class):
    classroom, member = a_class
    outsider = make_user("outsider")
    client.force_login(classroom.instructor)
    assert client.get(f"/teach/classes/{classroom.pk}/learners/{outsider.pk}/first-image/").status_code == 404
    page = client.get(f"/teach/classes/{classroom.pk}/learners/{member.pk}/first-image/")
    assert page.status_code == 200
    assert b"load build definition" in page.content


# --- Creating and running a class -----------------------------------------------------------------------------------


def test_an_instructor_creates_a_class_and_gets_a_join_code(client, db):
    lesson = make_lesson("basics", 1)
    exercise = make_exercise(lesson, "first-image", [("build", "build", "The image builds")])
    teacher = make_instructor()
    client.force_login(teacher)
    response = client.post(
        "/teach/classes/new/",
        {"name": "Docker 101", "due_at": "2026-02-01T17:00", "lessons": [lesson.pk], "exercises": [exercise.pk]},
    )
    classroom = Classroom.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/teach/classes/{classroom.pk}/"
    assert classroom.instructor == teacher
    assert len(classroom.join_code) == 8 and set(classroom.join_code) <= set(CODE_ALPHABET)
    assert classroom.due_at.isoformat() == "2026-02-01T17:00:00+00:00"
    assert list(classroom.lessons.all()) == [lesson] and list(classroom.exercises.all()) == [exercise]
    page = client.get(response["Location"])
    assert classroom.join_code in page.content.decode()
    assert f"http://testserver/teach/join/{classroom.join_code}/" in page.content.decode()


def test_staff_are_instructors_too_but_learners_cannot_create_classes(client, db):
    client.force_login(make_user("staff", is_staff=True))
    assert client.get("/teach/classes/new/").status_code == 200
    client.force_login(make_user("learner"))
    assert client.post("/teach/classes/new/", {"name": "Mine"}).status_code == 403
    assert not Classroom.objects.exists()


def test_a_class_covers_what_it_chooses_or_else_the_whole_course(db):
    basics, caching = make_lesson("basics", 1), make_lesson("caching", 2)
    first = make_exercise(basics, "first-image", [("build", "build", "The image builds")])
    cache = make_exercise(caching, "cache-order", [("build", "build", "The image builds")])
    classroom = make_class(make_instructor())
    assert (classroom.covered_lessons(), classroom.covered_exercises()) == ([basics, caching], [first, cache])
    classroom.lessons.set([caching])
    assert (classroom.covered_lessons(), classroom.covered_exercises()) == ([caching], [cache])
    classroom.lessons.set([])
    classroom.exercises.set([first])
    assert (classroom.covered_lessons(), classroom.covered_exercises()) == ([basics], [first])


def test_a_new_code_replaces_the_old_one(client, a_class):
    classroom, _ = a_class
    old = classroom.join_code
    client.force_login(classroom.instructor)
    client.post(f"/teach/classes/{classroom.pk}/new-code/")
    classroom.refresh_from_db()
    assert classroom.join_code != old
    client.force_login(make_user("latecomer"))
    assert client.get(f"/teach/join/{old}/").status_code == 404


# --- Joining and leaving --------------------------------------------------------------------------------------------


def test_a_learner_joins_from_the_profile_with_the_code_as_they_typed_it(client, a_class):
    classroom, _ = a_class
    learner = make_user("newcomer")
    client.force_login(learner)
    typed = f" {classroom.join_code[:4].lower()}-{classroom.join_code[4:].lower()} "
    response = client.post("/teach/join/", {"code": typed}, follow=True)
    assert Membership.objects.filter(classroom=classroom, user=learner).exists()
    assert "You joined “Secret class name”" in response.content.decode()
    assert response.context["memberships"][0].classroom == classroom


def test_a_wrong_code_says_what_to_do(client, db):
    client.force_login(make_user("newcomer"))
    response = client.post("/teach/join/", {"code": "NOPE1234"}, follow=True)
    assert "There is no class with this code. Check it with your instructor." in response.content.decode()
    assert not Membership.objects.exists()


def test_a_learner_joins_with_the_link_after_seeing_which_class_it_is(client, a_class):
    classroom, _ = a_class
    learner = make_user("newcomer")
    client.force_login(learner)
    page = client.get(f"/teach/join/{classroom.join_code}/")
    assert "Join “Secret class name”" in page.content.decode()
    assert not Membership.objects.filter(user=learner).exists()
    client.post(f"/teach/join/{classroom.join_code}/")
    assert Membership.objects.filter(classroom=classroom, user=learner).exists()


def test_a_learner_can_be_in_several_classes(client, a_class):
    classroom, member = a_class
    second = make_class(make_instructor("second-teacher"), "Second class")
    client.force_login(member)
    client.post("/teach/join/", {"code": second.join_code})
    assert set(Membership.objects.filter(user=member).values_list("classroom__name", flat=True)) == {
        "Secret class name",
        "Second class",
    }


def test_leaving_a_class_keeps_the_learner_s_work(client, a_class):
    classroom, member = a_class
    client.force_login(member)
    response = client.post(f"/teach/classes/{classroom.pk}/leave/", follow=True)
    assert "Your work is still yours" in response.content.decode()
    assert not Membership.objects.filter(user=member).exists()
    assert Submission.objects.filter(user=member).count() == 1
    client.force_login(classroom.instructor)
    assert client.get(f"/teach/classes/{classroom.pk}/").context["grid"].rows == []
    # Joining again shows the same work again.
    client.force_login(member)
    client.post("/teach/join/", {"code": classroom.join_code})
    client.force_login(classroom.instructor)
    rows = client.get(f"/teach/classes/{classroom.pk}/").context["grid"].rows
    assert [(row.learner, row.cells[0].pair.attempts) for row in rows] == [(member, 1)]


def test_leaving_a_class_one_is_not_in_is_not_found(client, a_class):
    classroom, _ = a_class
    client.force_login(make_user("stranger"))
    assert client.post(f"/teach/classes/{classroom.pk}/leave/").status_code == 404


def test_the_navigation_shows_teach_to_instructors_only(client, a_class):
    classroom, member = a_class
    client.force_login(member)
    assert b'href="/teach/"' not in client.get("/accounts/profile/").content
    client.force_login(classroom.instructor)
    assert b'href="/teach/"' in client.get("/accounts/profile/").content
