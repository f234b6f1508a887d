"""Rate limits of the reset mail and the second-factor step."""

import pyotp
from helpers import PASSWORD, Forms

from webapp.extensions import db
from webapp.models import User
from webapp.secret_box import secret_box


def ask(forms: Forms, email: str):
    return forms.post("/forgot-password", {"email": email})


def test_reset_mail_is_limited_per_email(make_app, make_user):
    app = make_app(RATELIMIT_RESET_PER_EMAIL="2 per hour")
    make_user("ada@example.com")
    forms = Forms(app.test_client())
    assert [ask(forms, "ada@example.com").status_code for _ in range(3)] == [302, 302, 429]
    # Another spelling of the same address shares the count; another address has its own.
    assert ask(forms, "ADA@Example.com").status_code == 429
    assert ask(forms, "bob@example.com").status_code == 302


def test_reset_mail_is_limited_per_client_address(make_app):
    app = make_app(RATELIMIT_RESET_PER_ADDRESS="3 per hour")
    forms = Forms(app.test_client())
    emails = ["a@example.com", "b@example.com", "c@example.com", "d@example.com"]
    assert [ask(forms, email).status_code for email in emails] == [302, 302, 302, 429]
    assert "Too many attempts" in ask(forms, "e@example.com").get_data(as_text=True)


def test_second_factor_codes_are_limited_per_account(make_app, make_user):
    app = make_app(RATELIMIT_TWO_FACTOR_PER_ACCOUNT="3 per 15 minutes")
    user = make_user("ada@example.com")
    with app.app_context():
        stored = db.session.get(User, user.id)
        stored.totp_secret_encrypted = secret_box.encrypt(pyotp.random_base32())
        db.session.commit()

    def try_codes(count: int) -> list[int]:
        forms = Forms(app.test_client())  # a new session each time: the count is the account's
        forms.post("/login", {"email": user.email, "password": PASSWORD})
        return [
            forms.post("/login/two-factor", {"code": "000000"}).status_code for _ in range(count)
        ]

    assert try_codes(2) == [200, 200]
    assert try_codes(2) == [200, 429]
