"""Sign-up with mail configured: the same answer whether or not the address is taken, and a
new address confirmed by a mailed link before the account signs in (and so gets tokens).
Against a real SMTP server in the test process."""

import re

from helpers import MAIL_PUBLIC_URL, PASSWORD, Forms
from mail_server import reset_link, text_part

from webapp.extensions import db
from webapp.models import User

NEW_PASSWORD = "a brand new passphrase"


def sign_up(client, email: str, password: str = PASSWORD):
    return Forms(client).post(
        "/register", {"email": email, "password": password, "locale": "en-US"}
    )


def sign_in(client, email: str, password: str = PASSWORD):
    return Forms(client).post("/login", {"email": email, "password": password})


def confirm_path(message) -> str:
    match = re.search(r"\S+/register/confirm/\S+", text_part(message))
    assert match, text_part(message)
    return match.group(0).removeprefix(MAIL_PUBLIC_URL)


def test_a_taken_address_gets_the_same_answer_and_its_owner_a_mail(mail_app, inbox, make_user):
    received, _ = inbox
    owner = make_user("ada@example.com")
    taken = sign_up(mail_app.test_client(), owner.email, NEW_PASSWORD)
    new = sign_up(mail_app.test_client(), "grace@example.com", NEW_PASSWORD)
    assert taken.status_code == new.status_code == 302
    assert taken.location == new.location == "/register/sent"
    page = mail_app.test_client().get("/register/sent").get_data(as_text=True)
    assert "already" not in page and "Check your mail" in page

    mails = {
        message["To"]: message for message in (received.next_message(), received.next_message())
    }
    assert "already has one" in text_part(mails[owner.email])
    assert reset_link(mails[owner.email]).startswith(MAIL_PUBLIC_URL + "/reset-password/")
    assert "/register/confirm/" in text_part(mails["grace@example.com"])
    with mail_app.app_context():
        assert db.session.get(User, owner.id).check_password(PASSWORD)  # untouched


def test_a_new_account_signs_in_only_after_its_link(mail_app, inbox):
    received, _ = inbox
    client = mail_app.test_client()
    assert sign_up(client, "grace@example.com").status_code == 302
    assert client.get("/account").status_code == 302  # not signed in by signing up
    path = confirm_path(received.next_message())

    refused = sign_in(client, "grace@example.com")
    assert refused.status_code == 200
    assert "Confirm your email address first" in refused.get_data(as_text=True)
    confirm_path(received.next_message())  # the link, mailed again
    assert client.get("/account").status_code == 302  # no session, so no tokens

    confirmed = client.get(path)
    assert confirmed.status_code == 302 and confirmed.location == "/login"
    assert sign_in(client, "grace@example.com").status_code == 302
    assert client.get("/account").status_code == 200
    assert client.get(path).status_code == 302  # a second use changes nothing


def test_a_forged_or_foreign_link_confirms_nothing(mail_app, inbox):
    received, _ = inbox
    sign_up(mail_app.test_client(), "grace@example.com")
    path = confirm_path(received.next_message())
    forged = mail_app.test_client().get(path[:-3] + "abc")
    assert forged.status_code == 400
    assert "not valid" in forged.get_data(as_text=True)
    assert forged.headers["Referrer-Policy"] == "no-referrer"
    assert sign_in(mail_app.test_client(), "grace@example.com").status_code == 200


def test_the_owner_takes_back_an_address_someone_else_signed_up_with(mail_app, inbox):
    """The squatter never confirmed; the owner's reset link sets the password and confirms."""
    received, _ = inbox
    sign_up(mail_app.test_client(), "ada@example.com", "the squatter's password")
    received.next_message()  # the confirmation link, to the owner's mailbox
    sign_up(mail_app.test_client(), "ada@example.com", NEW_PASSWORD)
    link = reset_link(received.next_message())
    client = mail_app.test_client()
    response = Forms(client).post(
        link.removeprefix(MAIL_PUBLIC_URL), {"new_password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert sign_in(mail_app.test_client(), "ada@example.com", NEW_PASSWORD).status_code == 302


def test_a_weak_password_is_refused_alike_for_a_taken_address(mail_app, inbox, make_user):
    received, _ = inbox
    make_user("ada@example.com")
    for email in ("ada@example.com", "grace@example.com"):
        response = sign_up(mail_app.test_client(), email, "short")
        assert response.status_code == 200
        assert "already" not in response.get_data(as_text=True)
    assert received.is_empty()


def test_without_mail_sign_up_is_as_before(client, make_user):
    """Development without MAIL_SERVER: signed in at once; a taken address is said so."""
    make_user("ada@example.com")
    assert sign_up(client, "grace@example.com").status_code == 302
    assert client.get("/account").status_code == 200
    taken = sign_up(client.application.test_client(), "ada@example.com")
    assert "already has an account" in taken.get_data(as_text=True)
