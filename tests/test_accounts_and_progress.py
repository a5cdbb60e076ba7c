import pytest
from django.urls import reverse

from lessons.loader import load_course
from lessons.models import LessonProgress

from .conftest import make_user, write_lesson

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_lessons(tmp_path):
    write_lesson(tmp_path, "01-first", title="First lesson", order=1)
    write_lesson(tmp_path, "02-second", title="Second lesson", order=2)
    load_course(tmp_path)


def test_signing_up_logs_the_new_learner_in(client):
    response = client.post(
        reverse("signup"),
        {
            "username": "ada",
            "email": "ada@example.org",
            "password1": "a-long-Passw0rd!",
            "password2": "a-long-Passw0rd!",
        },
    )
    assert response.status_code == 302
    assert client.get(reverse("profile")).status_code == 200


def test_signing_up_with_mismatched_passwords_shows_the_error(client):
    response = client.post(
        reverse("signup"), {"username": "ada", "password1": "a-long-Passw0rd!", "password2": "different-Passw0rd!"}
    )
    assert response.status_code == 200
    assert "didn’t match" in response.content.decode()


def test_logging_in_and_out(client):
    make_user("grace")
    response = client.post(reverse("login"), {"username": "grace", "password": "a-long-Passw0rd!"})
    assert response.status_code == 302
    assert client.get(reverse("profile")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("profile")).status_code == 302


def test_a_wrong_password_is_refused_with_a_message(client):
    make_user("grace")
    response = client.post(reverse("login"), {"username": "grace", "password": "nope"})
    assert "didn't match" in response.content.decode()


def test_marking_a_lesson_done_records_progress_and_moves_on(client, two_lessons):
    user = make_user()
    client.force_login(user)
    response = client.post(reverse("lesson_done", args=["first"]))
    assert response.status_code == 302
    assert response["Location"] == "/lessons/second/"
    assert LessonProgress.objects.filter(user=user, lesson__slug="first").exists()
    page = client.get(reverse("course")).content.decode()
    assert "1 of 2 lessons read" in page


def test_marking_a_lesson_done_twice_keeps_one_record(client, two_lessons):
    user = make_user()
    client.force_login(user)
    client.post(reverse("lesson_done", args=["first"]))
    client.post(reverse("lesson_done", args=["first"]))
    assert LessonProgress.objects.filter(user=user).count() == 1


def test_a_lesson_can_be_marked_not_done_again(client, two_lessons):
    user = make_user()
    client.force_login(user)
    client.post(reverse("lesson_done", args=["first"]))
    client.post(reverse("lesson_done", args=["first"]), {"done": "0"})
    assert not LessonProgress.objects.filter(user=user).exists()


def test_marking_done_needs_a_login(client, two_lessons):
    response = client.post(reverse("lesson_done", args=["first"]))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
    assert LessonProgress.objects.count() == 0


def test_marking_done_needs_a_post(client, two_lessons):
    client.force_login(make_user())
    assert client.get(reverse("lesson_done", args=["first"])).status_code == 405


def test_progress_is_per_learner(client, two_lessons):
    first, second = make_user("one"), make_user("two")
    client.force_login(first)
    client.post(reverse("lesson_done", args=["first"]))
    client.force_login(second)
    assert "0 of 2 lessons read" in client.get(reverse("course")).content.decode()


def test_the_profile_shows_lessons_read(client, two_lessons):
    user = make_user()
    client.force_login(user)
    client.post(reverse("lesson_done", args=["second"]))
    page = client.get(reverse("profile")).content.decode()
    assert "1/2" in page
