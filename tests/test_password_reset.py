"""Password reset by e-mail, against a real SMTP server in the test process."""

import logging
import ssl
import time
import types

import itsdangerous.timed
import pytest
from certificates import self_signed_certificate
from helpers import MAIL_PUBLIC_URL as PUBLIC_URL
from helpers import PASSWORD, csrf_token_from
from mail_server import (
    Inbox,
    html_part,
    reset_link,
    start_server,
    stop_server,
    text_part,
)
from servers import free_port

from webapp.extensions import db
from webapp.models import AuditAction, AuditEvent, User

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def mail_client(mail_app):
    return mail_app.test_client()


def post_form(client, url, data, **kwargs):
    token = csrf_token_from(client.get(url, **kwargs).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def ask_for_reset(client, email, **kwargs):
    response = post_form(client, "/forgot-password", {"email": email}, **kwargs)
    assert response.status_code == 302
    assert response.location.endswith("/forgot-password/sent")
    return response


def local_path(link: str) -> str:
    assert link.startswith(PUBLIC_URL + "/reset-password/"), link
    return link.removeprefix(PUBLIC_URL)


def sign_in(client, email, password):
    return post_form(client, "/login", {"email": email, "password": password})


def test_reset_by_mail_works_once_and_ends_other_sessions(mail_app, mail_client, inbox, make_user):
    received, _ = inbox
    user = make_user("ada@example.com")
    elsewhere = mail_app.test_client()
    assert sign_in(elsewhere, user.email, PASSWORD).status_code == 302

    ask_for_reset(mail_client, "ADA@example.com")
    message = received.next_message()
    assert message["To"] == "ada@example.com"
    assert message["From"] == "issuer@example.com"
    assert "Digital Person token issuer" in message["Subject"]
    link = reset_link(message)
    assert link in html_part(message)
    assert "60 minutes" in text_part(message)

    path = local_path(link)
    page = mail_client.get(path)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "New password" in page.get_data(as_text=True)
    response = post_form(mail_client, path, {"new_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert mail_client.get("/account").status_code == 200  # signed in with the new password

    assert elsewhere.get("/account").status_code == 302  # the other session ended
    assert sign_in(mail_app.test_client(), user.email, PASSWORD).status_code == 200  # refused
    assert sign_in(mail_app.test_client(), user.email, NEW_PASSWORD).status_code == 302

    used = mail_app.test_client().get(path)
    assert used.status_code == 400
    assert "Ask for a new link" in used.get_data(as_text=True)
    with mail_app.app_context():
        actions = db.session.scalars(db.select(AuditEvent.action)).all()
        assert AuditAction.RESET_PASSWORD in actions


def test_a_weak_new_password_is_refused_and_the_link_still_works(mail_client, inbox, make_user):
    received, _ = inbox
    make_user("ada@example.com")
    ask_for_reset(mail_client, "ada@example.com")
    path = local_path(reset_link(received.next_message()))

    response = post_form(mail_client, path, {"new_password": "short"})
    assert response.status_code == 200
    assert "at least 12 characters" in response.get_data(as_text=True)
    assert mail_client.get(path).status_code == 200


def test_unknown_address_gets_the_same_answer_and_no_mail(mail_client, inbox, make_user):
    received, _ = inbox
    make_user("ada@example.com")
    unknown = ask_for_reset(mail_client, "nobody@example.com")
    page_for_unknown = mail_client.get(unknown.location).get_data(as_text=True)
    known = ask_for_reset(mail_client, "ada@example.com")
    assert known.location == unknown.location
    assert mail_client.get(known.location).get_data(as_text=True) == page_for_unknown
    # The one message is the known address's: nothing was sent to the unknown one.
    assert received.next_message()["To"] == "ada@example.com"
    assert received.is_empty()


def test_link_comes_from_public_url_not_the_host_header(mail_client, inbox, make_user):
    received, _ = inbox
    make_user("ada@example.com")
    ask_for_reset(mail_client, "ada@example.com", base_url="http://evil.example")
    link = reset_link(received.next_message())
    assert link.startswith(PUBLIC_URL + "/reset-password/")
    assert "evil.example" not in link


def test_link_expires_after_an_hour(mail_client, inbox, make_user, monkeypatch):
    received, _ = inbox
    make_user("ada@example.com")
    ask_for_reset(mail_client, "ada@example.com")
    path = local_path(reset_link(received.next_message()))

    later = time.time() + 3600 + 5
    monkeypatch.setattr(itsdangerous.timed, "time", types.SimpleNamespace(time=lambda: later))
    response = mail_client.get(path)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    refused = mail_client.post(path, data={"new_password": NEW_PASSWORD})
    assert refused.status_code == 400


def test_link_dies_when_the_password_changes_another_way(mail_app, mail_client, inbox, make_user):
    received, _ = inbox
    user = make_user("ada@example.com")
    ask_for_reset(mail_client, "ada@example.com")
    path = local_path(reset_link(received.next_message()))

    with mail_app.app_context():
        stored = db.session.get(User, user.id)
        stored.set_password("changed on the account page")
        db.session.commit()
    assert mail_client.get(path).status_code == 400


@pytest.mark.parametrize("token", ["nonsense", "a.b.c", "eyJhIjoxfQ.AAAA.BBBB", "x" * 3000, "%ff"])
def test_forged_links_get_a_clear_page(mail_client, token):
    response = mail_client.get(f"/reset-password/{token}")
    assert response.status_code in (400, 404)
    if response.status_code == 400:
        assert "Ask for a new link" in response.get_data(as_text=True)


def test_a_nul_in_a_link_is_refused_before_the_page(mail_client):
    """The input guard answers every NUL in a path, with its own reason."""
    response = mail_client.get("/reset-password/%00%ff")
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)


def test_disabled_account_gets_no_mail(mail_client, inbox, make_user):
    received, _ = inbox
    make_user("ada@example.com", is_active=False)
    make_user("bob@example.com")
    ask_for_reset(mail_client, "ada@example.com")
    ask_for_reset(mail_client, "bob@example.com")
    assert received.next_message()["To"] == "bob@example.com"
    assert received.is_empty()


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_mail_goes_over_starttls_and_ssl(make_app, make_user, tmp_path, monkeypatch, mode):
    made = self_signed_certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(made.certificate, made.key)
    inbox = Inbox()
    if mode == "starttls":
        server = start_server(inbox, tls_context=server_context, require_starttls=True)
    else:
        server = start_server(inbox, ssl_context=server_context)
    # The app trusts the system's CAs; the test's own CA is added the way an operator would.
    monkeypatch.setenv("SSL_CERT_FILE", str(made.certificate))
    try:
        app = make_app(
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=server.port,
            MAIL_USE_TLS=mode == "starttls",
            MAIL_USE_SSL=mode == "ssl",
            MAIL_DEFAULT_SENDER="issuer@example.com",
            PUBLIC_URL=PUBLIC_URL,
        )
        make_user("ada@example.com")
        ask_for_reset(app.test_client(), "ada@example.com")
        assert reset_link(inbox.next_message()).startswith(PUBLIC_URL)
    finally:
        stop_server(server)


def wait_for_log(caplog, text: str) -> str:
    """The mail is logged by a background thread: wait for it, boundedly."""
    for _ in range(200):
        if text in caplog.text:
            break
        time.sleep(0.05)
    return caplog.text


def test_development_without_mail_server_logs_the_whole_message(client, make_user, caplog):
    make_user("ada@example.com")
    assert 'href="/forgot-password"' in client.get("/login").get_data(as_text=True)
    with caplog.at_level(logging.WARNING):
        ask_for_reset(client, "ada@example.com")
        logged = wait_for_log(caplog, "/reset-password/")
    assert "/reset-password/" in logged
    assert "http://127.0.0.1:5000/reset-password/" in logged


def test_production_without_mail_server_offers_no_reset(make_app):
    app = make_app(DEPLOYMENT="production")
    client = app.test_client()
    assert "Forgot your password?" not in client.get("/login").get_data(as_text=True)
    assert client.get("/forgot-password").status_code == 404
    assert client.post("/forgot-password", data={"email": "a@example.com"}).status_code in (
        400,
        404,
    )


def test_a_mail_server_that_is_down_changes_nothing_the_visitor_sees(make_app, make_user, caplog):
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=free_port(),  # nothing listens there
        MAIL_DEFAULT_SENDER="issuer@example.com",
        PUBLIC_URL=PUBLIC_URL,
    )
    make_user("ada@example.com")
    with caplog.at_level(logging.ERROR):
        ask_for_reset(app.test_client(), "ada@example.com")
        logged = wait_for_log(caplog, "could not be sent")
    assert "could not be sent" in logged
    assert "ada@example.com" not in logged
