"""Sign up, sign in, sign out, account changes, and the session rules around them."""

import re

import pytest
from helpers import PASSWORD, Forms

from webapp.extensions import db
from webapp.models import User

NEW_PASSWORD = "a brand new passphrase"


def user_named(app, email: str) -> User | None:
    with app.app_context():
        return User.by_email(email)


def register(forms: Forms, **fields):
    data = {"email": "New.Person@Example.com", "password": PASSWORD, "locale": "en-US", **fields}
    return forms.post("/register", data)


def test_sign_up_signs_in_and_normalises(app, client, forms):
    response = register(forms, locale="pt_br")
    assert response.status_code == 302
    user = user_named(app, "new.person@example.com")
    assert user.email == "new.person@example.com"
    assert user.locale == "pt-BR"
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash
    assert len(user.public_id) == 36
    assert client.get("/account").status_code == 200


def test_sign_up_default_locale_comes_from_the_browser(client):
    page = client.get("/register", headers={"Accept-Language": "xx-YY, de-CH;q=0.9, en;q=0.8"})
    assert 'value="de-CH"' in locale_input(page.get_data(as_text=True))
    page = client.get("/register")
    assert 'value="en-US"' in locale_input(page.get_data(as_text=True))


def locale_input(page: str) -> str:
    return re.search(r'<input[^>]*id="locale"[^>]*>', page).group(0)


def test_locale_picker_is_searchable_with_common_locales_first(client):
    page = client.get("/register").get_data(as_text=True)
    assert 'list="locale-options"' in locale_input(page)
    options = re.findall(r'<option value="([^"]+)">([^<]+)</option>', page)
    assert options[:2] == [
        ("en-US", "English (United States)"),
        ("en-GB", "English (United Kingdom)"),
    ]
    assert ("de-DE", "German (Germany)") in options
    assert len(options) > 1000


def test_email_is_unique_case_insensitively(app, forms, make_user):
    make_user("taken@example.com")
    response = register(forms, email="TAKEN@example.com")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "That email already has an account" in page
    assert 'value="TAKEN@example.com"' in page  # the input is kept
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": "too short"}, "Use at least 12 characters"),
        ({"email": "not an email"}, "Invalid email address."),
        ({"locale": "xx-YY"}, "“xx-YY” is not a locale we know."),
        ({"locale": "../etc"}, "Enter a locale tag such as en-US"),
        ({"locale": "a" * 200}, "Enter a locale tag such as en-US"),
    ],
)
def test_bad_sign_up_shows_the_error_and_changes_nothing(app, forms, fields, message):
    response = register(forms, **fields)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert PASSWORD not in response.get_data(as_text=True)  # passwords are never sent back
    assert user_named(app, "new.person@example.com") is None


def test_registration_can_be_closed(make_app):
    assert make_app(REGISTRATION_OPEN=False).test_client().get("/register").status_code == 404


def test_sign_in_records_the_time(app, user, login):
    assert login(user).headers["Location"] == "/"
    assert user_named(app, user.email).last_login_at is not None


@pytest.mark.parametrize("email", ["user@example.com", "nobody@example.com"])
def test_failed_sign_in_is_generic(forms, user, email):
    response = forms.post("/login", {"email": email, "password": "wrong password!"})
    assert response.status_code == 200
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_disabled_user_cannot_sign_in(forms, make_user):
    make_user("gone@example.com", is_active=False)
    response = forms.post("/login", {"email": "gone@example.com", "password": PASSWORD})
    assert "This account is disabled" in response.get_data(as_text=True)


def test_sign_out_needs_post_with_csrf(client, forms, signed_in_user):
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/account").status_code == 200
    response = forms.post("/logout", page="/account")
    assert response.status_code == 302
    assert client.get("/account").status_code == 302


def test_remember_me_outlives_the_session(app, client, user, login):
    login(user, remember="y")
    remember = client.get_cookie("remember_token")
    assert remember is not None
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember.value)
    assert fresh.get("/account").status_code == 200


def test_without_remember_me_no_cookie(client, user, login):
    login(user)
    assert client.get_cookie("remember_token") is None


OPEN_REDIRECTS = [
    "//evil.example",
    "///evil.example",
    "////evil.example/path",
    "/\\evil.example",
    "\\/evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\t//evil.example",
    " //evil.example",
    "\n//evil.example",
    "/\t/evil.example",
    "https://evil.example",
    "http://evil.example/account",
    "HTTPS://evil.example",
    "https:/evil.example",
    "https:evil.example",
    "//evil.example@localhost",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_next_never_leaves_the_site(client, forms, user, target):
    data = {"email": user.email, "password": PASSWORD}
    response = forms.post("/login", data, page="/login", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_within_the_site_is_followed(forms, user):
    data = {"email": user.email, "password": PASSWORD}
    response = forms.post("/login", data, query_string={"next": "/account?tab=locale"})
    assert response.headers["Location"] == "/account?tab=locale"


def test_signed_out_visitor_is_sent_to_sign_in_and_back(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Faccount"


def change_password(forms: Forms, current: str = PASSWORD, new: str = NEW_PASSWORD):
    return forms.post(
        "/account",
        {
            "password-current_password": current,
            "password-new_password": new,
            "password-submit": "Change password",
        },
    )


def test_password_change_ends_other_sessions(app, client, forms, user, login):
    other = app.test_client()
    Forms(other).post("/login", {"email": user.email, "password": PASSWORD, "remember": "y"})
    old_remember = other.get_cookie("remember_token").value
    login(user)

    assert change_password(forms).status_code == 302
    assert client.get("/account").status_code == 200  # this session carries on
    assert other.get("/account").status_code == 302  # the other one ended
    stale = app.test_client()
    stale.set_cookie("remember_token", old_remember)
    assert stale.get("/account").status_code == 302  # and its remember-me cookie too
    assert user_named(app, user.email).check_password(NEW_PASSWORD)


def test_password_change_needs_the_current_password(app, forms, signed_in_user):
    response = change_password(forms, current="not my password")
    assert "That is not your current password." in response.get_data(as_text=True)
    assert user_named(app, signed_in_user.email).check_password(PASSWORD)


def test_locale_change_is_normalised(app, forms, signed_in_user):
    response = forms.post("/account", {"locale-locale": "EN-gb", "locale-submit": "Save locale"})
    assert response.status_code == 302
    assert user_named(app, signed_in_user.email).locale == "en-GB"


def test_bad_locale_change_changes_nothing(app, forms, signed_in_user):
    response = forms.post("/account", {"locale-locale": "xx-YY", "locale-submit": "Save locale"})
    assert response.status_code == 200
    assert "is not a locale we know" in response.get_data(as_text=True)
    assert user_named(app, signed_in_user.email).locale == "en-US"


def test_disabled_user_is_signed_out_on_the_next_request(app, client, signed_in_user):
    assert client.get("/account").status_code == 200
    with app.app_context():
        db.session.get(User, signed_in_user.id).is_active = False
        db.session.commit()
    assert client.get("/account").status_code == 302


def test_sign_up_without_a_locale_asks_for_one(app, forms):
    data = {"email": "new.person@example.com", "password": PASSWORD}
    response = forms.post("/register", data)
    assert response.status_code == 200
    assert "Choose a locale." in response.get_data(as_text=True)
    assert user_named(app, "new.person@example.com") is None


def test_admins_land_on_the_admin_dashboard_unless_next_says_otherwise(app, make_user):
    admin = make_user("admin@example.com", is_admin=True)
    user = make_user("ada@example.com")

    def sign_in(who, url="/login"):
        forms = Forms(app.test_client())
        return forms.post(url, {"email": who.email, "password": PASSWORD}, page="/login")

    assert sign_in(admin).headers["Location"] == "/admin/"
    assert sign_in(user).headers["Location"] == "/"
    assert sign_in(admin, "/login?next=/account").headers["Location"] == "/account"
