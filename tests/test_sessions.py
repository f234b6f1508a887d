"""Sessions end for good on sign-out, disabling and demotion; sign-in starts a fresh one."""

from helpers import PASSWORD, Forms, csrf_token_from

from webapp.extensions import db
from webapp.models import User


def signed_in_client(app, user: User):
    """A client signed in with remember-me, and copies of its two cookies."""
    client = app.test_client()
    response = Forms(client).post(
        "/login", {"email": user.email, "password": PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    return client, client.get_cookie("session").value, client.get_cookie("remember_token").value


def works(app, *, session: str | None = None, remember: str | None = None) -> bool:
    """Whether a fresh client with only this copied cookie is signed in."""
    client = app.test_client()
    if session:
        client.set_cookie("session", session)
    if remember:
        client.set_cookie("remember_token", remember)
    return client.get("/account").status_code == 200


def test_sign_out_ends_the_copied_session_and_remember_cookies(app, user):
    client, session, remember = signed_in_client(app, user)
    assert works(app, session=session) and works(app, remember=remember)
    Forms(client).post("/logout", page="/account")
    assert client.get("/account").status_code == 302
    assert not works(app, session=session)
    assert not works(app, remember=remember)


def test_sign_out_ends_the_other_sessions_too(app, user):
    """The login id carries a per-user version: one sign-out ends every session."""
    first, *_ = signed_in_client(app, user)
    second, *_ = signed_in_client(app, user)
    Forms(first).post("/logout", page="/account")
    assert second.get("/account").status_code == 302


def admin_acts(forms: Forms, user: User, action: str) -> None:
    response = forms.post(f"/admin/users/{user.public_id}/{action}", page="/admin/users")
    assert response.status_code == 302


def test_enabling_again_does_not_bring_old_cookies_back(app, forms, make_user, signed_in_admin):
    ada = make_user("ada@example.com")
    _, session, remember = signed_in_client(app, ada)
    admin_acts(forms, ada, "disable")
    admin_acts(forms, ada, "enable")
    assert not works(app, session=session)
    assert not works(app, remember=remember)
    signed_in_client(app, ada)  # signing in again works


def test_demotion_ends_the_admins_sessions(app, forms, make_user, signed_in_admin):
    grace = make_user("grace@example.com", is_admin=True)
    grace_client, session, remember = signed_in_client(app, grace)
    assert grace_client.get("/admin/").status_code == 200
    admin_acts(forms, grace, "remove-admin")
    admin_acts(forms, grace, "grant-admin")
    assert grace_client.get("/admin/").status_code == 302  # sent to sign in
    assert not works(app, session=session)
    assert not works(app, remember=remember)


def test_disabling_from_the_command_line_ends_sessions(app, make_user):
    ada = make_user("ada@example.com")
    _, session, remember = signed_in_client(app, ada)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "disable", ada.email]).exit_code == 0
    assert runner.invoke(args=["users", "enable", ada.email]).exit_code == 0
    assert not works(app, session=session)
    assert not works(app, remember=remember)


def test_a_csrf_token_from_before_sign_in_is_refused_after_it(app, client, make_user, admin):
    """Someone who planted a session and read its sign-in page's CSRF token gets nothing."""
    make_user("ada@example.com")
    planted = csrf_token_from(client.get("/login").get_data(as_text=True))
    signed_in = client.post(
        "/login", data={"csrf_token": planted, "email": admin.email, "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    with app.app_context():
        ada = User.by_email("ada@example.com")
    response = client.post(
        f"/admin/users/{ada.public_id}/grant-admin", data={"csrf_token": planted}
    )
    assert response.status_code == 400
    with app.app_context():
        assert not db.session.get(User, ada.id).is_admin
    fresh = csrf_token_from(client.get("/admin/users").get_data(as_text=True))
    assert fresh != planted


def test_next_survives_the_fresh_session(forms, user):
    data = {"email": user.email, "password": PASSWORD}
    response = forms.post("/login?next=/account", data, page="/login?next=/account")
    assert response.headers["Location"] == "/account"
