"""The one password rule: length, not the e-mail address, not a common password."""

import pytest
from helpers import PASSWORD, Forms, setup_link

from webapp.models import User
from webapp.rules.passwords import common_passwords, password_problem

EMAIL = "Ada.Lovelace@Example.com"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "Use at least 12 characters"),
        ("ada.lovelace@example.com", "Do not use your email address"),
        ("ADA.LOVELACE@EXAMPLE.COM", "Do not use your email address"),
        ("Ada.Lovelace", "Do not use your email address"),  # the local part
        ("qwerty123456", "one of the most common"),
        ("Password1234", "one of the most common"),  # case does not help
        ("1q2w3e4r5t6y", "one of the most common"),
    ],
)
def test_refused_passwords(password, message):
    assert message in password_problem(password, EMAIL)


def test_a_good_password_passes():
    assert password_problem(PASSWORD, EMAIL) is None
    assert password_problem("ada.lovelace@example.org", EMAIL) is None  # another address


def test_the_shipped_list_is_loaded_and_all_of_it_matters():
    entries = common_passwords()
    assert 500 <= len(entries) <= 5000
    assert all(len(entry) >= 12 and entry == entry.lower() for entry in entries)


def test_sign_up_refuses_the_email_as_password(app, forms):
    response = forms.post(
        "/register", {"email": EMAIL, "password": EMAIL.upper(), "locale": "en-US"}
    )
    assert response.status_code == 200
    assert "Do not use your email address" in response.get_data(as_text=True)
    with app.app_context():
        assert User.by_email(EMAIL) is None


def test_setup_refuses_a_common_password(app, client):

    link = setup_link(app)
    response = Forms(client).post(
        link, {"email": EMAIL, "password": "iloveyou1234", "locale": "en-US"}
    )
    assert "one of the most common" in response.get_data(as_text=True)
    with app.app_context():
        assert User.by_email(EMAIL) is None


def test_password_change_refuses_the_email(app, forms, make_user, login):
    ada = make_user(EMAIL)
    login(ada)
    response = forms.post(
        "/account",
        {
            "password-current_password": PASSWORD,
            "password-new_password": "ada.lovelace",
            "password-submit": "Change password",
        },
    )
    assert "Do not use your email address" in response.get_data(as_text=True)
    with app.app_context():
        assert User.by_email(EMAIL).check_password(PASSWORD)


def test_the_command_line_refuses_a_common_password(app, runner):
    result = runner.invoke(
        args=["users", "create", EMAIL, "--password-stdin"], input="letmein12345\n"
    )
    assert result.exit_code != 0
    assert "one of the most common" in result.output
    with app.app_context():
        assert User.by_email(EMAIL) is None
