import pytest
from django.test import override_settings
from django.urls import reverse

from lessons.models import Lesson

pytestmark = pytest.mark.django_db


def test_the_home_page_invites_the_learner_to_start(client, shipped_course):
    page = client.get(reverse("home")).content.decode()
    assert "Start the course" in page
    assert "/lessons/why-containers/" in page


def test_the_course_map_lists_every_lesson_in_order(client, shipped_course):
    page = client.get(reverse("course")).content.decode()
    positions = [page.index(lesson.title) for lesson in Lesson.objects.all()]
    assert positions == sorted(positions)


def test_every_shipped_lesson_page_renders_with_a_table_of_contents(client, shipped_course):
    for lesson in Lesson.objects.all():
        response = client.get(lesson.get_absolute_url())
        assert response.status_code == 200, lesson.slug
        page = response.content.decode()
        assert 'href="#recap"' in page
        assert "<script" not in lesson.body_html


def test_a_lesson_page_links_to_the_previous_and_next_lessons(client, shipped_course):
    page = client.get(reverse("lesson", args=["images-and-containers"])).content.decode()
    assert 'rel="prev" href="/lessons/why-containers/"' in page
    assert 'rel="next" href="/lessons/dockerfile-basics/"' in page


@override_settings(DEBUG=False)
def test_an_unknown_lesson_gives_a_proper_404_page(client, shipped_course):
    response = client.get("/lessons/no-such-lesson/")
    assert response.status_code == 404
    assert "couldn't find that page" in response.content.decode()


def test_pages_load_no_assets_from_other_hosts(client, shipped_course):
    page = client.get(reverse("home")).content.decode()
    assert "http://" not in page.replace("http://127.0.0.1", "")
    assert "https://" not in page
