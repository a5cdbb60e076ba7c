"""Log-in and sign-up are throttled per account and per address, with a page that says what happened and when
to try again; sign-up only ever sends a visitor on to this site (accounts/throttle.py, docs/security.md).

These use Django's test client; tests/test_public_endpoint_limits.py repeats the log-in lock through the real
server, with the Redis cache every web process shares.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from .conftest import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-Passw0rd!"


def log_in(client: Client, username: str, password: str, address: str = "203.0.113.5"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def sign_up(client: Client, username: str, address: str = "203.0.113.5", query: str = ""):
    data = {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    return client.post(reverse("signup") + query, data, REMOTE_ADDR=address)


def test_five_wrong_passwords_lock_the_account_with_a_page_that_says_when_to_try_again(client):
    make_user("grace")
    answers = [log_in(client, "grace", f"wrong-{n}").status_code for n in range(4)]
    assert answers == [200, 200, 200, 200]
    locked = log_in(client, "grace", "wrong-5")
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(15 * 60)
    page = locked.content.decode()
    assert "There have been too many failed log-ins for this account, so it is locked for now." in page
    assert "Try again in 15 minutes." in page


def test_a_locked_account_refuses_even_the_right_password_from_anywhere(client):
    make_user("grace")
    for n in range(5):
        log_in(client, "grace", f"wrong-{n}")
    elsewhere = Client()
    assert log_in(elsewhere, "GRACE", PASSWORD, address="198.51.100.7").status_code == 429
    assert log_in(elsewhere, "grace", PASSWORD, address="198.51.100.7").status_code == 429
    assert "_auth_user_id" not in elsewhere.session


def test_a_good_log_in_clears_the_accounts_failures(client):
    make_user("grace")
    for n in range(4):
        log_in(client, "grace", f"wrong-{n}")
    assert log_in(client, "grace", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    assert [log_in(client, "grace", f"again-{n}").status_code for n in range(4)] == [200, 200, 200, 200]


def test_twenty_failures_from_one_address_pause_log_ins_from_it_for_every_account(client, settings):
    make_user("ada")
    for n in range(19):
        assert log_in(client, f"nobody-{n}", "guess").status_code == 200
    paused = log_in(client, "nobody-19", "guess")
    assert paused.status_code == 429
    assert "too many failed log-ins from your network address" in paused.content.decode()
    assert log_in(client, "ada", PASSWORD).status_code == 429
    assert log_in(Client(), "ada", PASSWORD, address="198.51.100.7").status_code == 302


def test_sign_ups_from_one_address_are_limited_per_hour(settings):
    settings.SIGNUPS_PER_ADDRESS_PER_HOUR = 3
    answers = [sign_up(Client(), f"learner-{n}").status_code for n in range(3)]
    assert answers == [302, 302, 302]
    refused = sign_up(Client(), "learner-4")
    assert refused.status_code == 429
    assert "Too many accounts have been created from your network address in the last hour." in (
        refused.content.decode()
    )
    assert sign_up(Client(), "learner-5", address="198.51.100.7").status_code == 302


@pytest.mark.parametrize(
    "target",
    ["https://evil.example.org/", "//evil.example.org/x", "http://testserver.evil.example.org/", "javascript:alert(1)"],
)
def test_sign_up_never_sends_the_new_learner_to_another_site(client, target):
    response = sign_up(client, "ada", query=f"?next={target}")
    assert response.status_code == 302
    assert response["Location"] == reverse("course")


def test_sign_up_sends_the_new_learner_on_within_the_site(client):
    response = sign_up(client, "ada", query="?next=/practice/mock/")
    assert response["Location"] == "/practice/mock/"
