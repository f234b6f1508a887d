"""TOTP second factor: setup, the second sign-in step, recovery codes, the admin policy.

Codes are computed with pyotp for a fixed clock the tests set, never by waiting."""

import hashlib
import re
import types

import pyotp
import pytest
from cryptography.fernet import Fernet
from helpers import PASSWORD, SECRET_KEY, Forms

from webapp.auth import two_factor as two_factor_views
from webapp.extensions import db
from webapp.models import AuditAction, AuditEvent, RecoveryCode, User
from webapp.rules import totp
from webapp.secret_box import secret_box

NOW = 1_800_000_015.0  # a fixed moment, 15 s into its 30-second step


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    """The app's TOTP clock and the half-signed-in timer read this; tests move it."""
    clock = types.SimpleNamespace(now=NOW)
    fake_time = types.SimpleNamespace(time=lambda: clock.now)
    monkeypatch.setattr(totp, "time", fake_time)
    monkeypatch.setattr(two_factor_views, "time", fake_time)
    return clock


def code_at(secret: str, moment: float) -> str:
    return pyotp.TOTP(secret).at(moment)


def with_two_factor(app, user: User) -> tuple[str, list[str]]:
    """Turn two-factor on directly; the secret and the recovery codes."""
    secret = pyotp.random_base32()
    codes = totp.new_recovery_codes()
    with app.app_context():
        stored = db.session.get(User, user.id)
        stored.totp_secret_encrypted = secret_box.encrypt(secret)
        db.session.add_all(
            RecoveryCode(user_id=user.id, code_hash=totp.recovery_code_hash(code, SECRET_KEY))
            for code in codes
        )
        db.session.commit()
    return secret, codes


def turn_on(forms: Forms, secret: str, password: str = PASSWORD):
    data = {"code": code_at(secret, NOW), "current_password": password}
    return forms.post("/account/two-factor", data, page="/account/two-factor")


def setup_secret(client) -> str:
    page = client.get("/account/two-factor").get_data(as_text=True)
    return re.search(r"data-totp-secret>([A-Z2-7]+)<", page).group(1)


def password_step(forms: Forms, user: User, next_url: str | None = None):
    url = "/login" + (f"?next={next_url}" if next_url else "")
    response = forms.post(url, {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return response


def code_step(forms: Forms, code: str, next_url: str | None = None):
    url = "/login/two-factor" + (f"?next={next_url}" if next_url else "")
    return forms.post(url, {"code": code})


def test_turning_it_on_shows_the_secret_then_recovery_codes_once(
    app, client, forms, signed_in_user
):
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r"data-totp-secret>([A-Z2-7]+)<", page).group(1)
    assert "<svg" in page and "<script" not in page

    wrong = forms.post(
        "/account/two-factor",
        {"code": "000000", "current_password": PASSWORD},
        page="/account/two-factor",
    )
    assert "That code is not right" in wrong.get_data(as_text=True)

    done = turn_on(forms, secret)
    assert done.status_code == 200
    assert done.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", done.get_data(as_text=True))
    assert len(codes) == 10

    after = client.get("/account/two-factor").get_data(as_text=True)
    assert secret not in after and "data-totp-secret" not in after
    assert not any(code in after for code in codes)
    with app.app_context():
        stored = db.session.get(User, signed_in_user.id)
        assert secret not in stored.totp_secret_encrypted
        assert secret_box.decrypt(stored.totp_secret_encrypted) == secret
        hashes = db.session.scalars(db.select(RecoveryCode.code_hash)).all()
        assert len(hashes) == 10 and not set(hashes) & set(codes)
        events = db.session.scalars(db.select(AuditEvent)).all()
        assert [e.action for e in events] == [AuditAction.ENABLE_TWO_FACTOR]
        assert secret not in repr([(e.changes, e.target_label) for e in events])


def test_sign_in_asks_for_the_code_and_keeps_next(app, client, forms, user):
    secret, _ = with_two_factor(app, user)
    response = password_step(forms, user, next_url="/account")
    assert response.location.startswith("/login/two-factor")
    assert "next=/account" in response.location
    assert client.get("/account").status_code == 302  # not signed in yet

    wrong = code_step(forms, "123456", "/account")
    assert "That code is not right" in wrong.get_data(as_text=True)
    done = code_step(forms, code_at(secret, NOW), "/account")
    assert done.status_code == 302 and done.location == "/account"
    assert client.get("/account").status_code == 200


def test_the_code_page_says_what_really_helps(app, client, forms, make_user):
    admin = make_user("admin@example.com", is_admin=True)
    secret, _ = with_two_factor(app, admin)
    page = client.get(password_step(forms, admin).location).get_data(as_text=True)
    assert "recovery codes" in page
    assert "flask --app webapp users reset-two-factor EMAIL" in page
    assert "An administrator can turn" not in page
    # An admin without `next` lands on the admin dashboard after the second step too.
    assert code_step(forms, code_at(secret, NOW)).location == "/admin/"


@pytest.mark.parametrize("offset, accepted", [(-30, True), (30, True), (-60, False), (60, False)])
def test_a_code_from_the_next_or_previous_step_is_accepted(app, forms, user, offset, accepted):
    secret, _ = with_two_factor(app, user)
    password_step(forms, user)
    response = code_step(forms, code_at(secret, NOW + offset))
    assert (response.status_code == 302) is accepted


def test_a_code_is_never_accepted_twice(app, make_app, user):
    secret, _ = with_two_factor(app, user)
    code = code_at(secret, NOW)
    first = Forms(app.test_client())
    password_step(first, user)
    assert code_step(first, code).status_code == 302
    second = Forms(app.test_client())
    password_step(second, user)
    assert code_step(second, code).status_code == 200  # refused: that step is used
    # Nor an earlier step, even within the window.
    assert code_step(second, code_at(secret, NOW - 30)).status_code == 200
    assert code_step(second, code_at(secret, NOW + 30)).status_code == 302


def test_a_recovery_code_works_once(app, user):
    _, codes = with_two_factor(app, user)
    first = Forms(app.test_client())
    password_step(first, user)
    assert code_step(first, codes[0].upper().replace("-", " ")).status_code == 302
    second = Forms(app.test_client())
    password_step(second, user)
    assert code_step(second, codes[0]).status_code == 200
    assert code_step(second, codes[1]).status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(RecoveryCode)) == 8


def test_a_secret_the_keys_cannot_decrypt_is_a_clear_503_and_recovery_codes_still_work(
    app, make_app, user, caplog
):
    """SECRETS_ENCRYPTION_KEYS replaced without keeping the old key: no 500."""
    secret, codes = with_two_factor(app, user)
    rekeyed = make_app(SECRETS_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    forms = Forms(rekeyed.test_client())
    password_step(forms, user)
    response = code_step(forms, code_at(secret, NOW))
    assert response.status_code == 503
    assert "a recovery code still works" in response.get_data(as_text=True)
    assert any("cannot be decrypted" in record.getMessage() for record in caplog.records)
    assert code_step(forms, codes[0]).status_code == 302


def test_the_half_signed_in_state_lasts_five_minutes(app, client, forms, user, fixed_clock):
    secret, _ = with_two_factor(app, user)
    password_step(forms, user, next_url="/account")
    fixed_clock.now = NOW + 301
    response = client.get("/login/two-factor?next=/account")
    assert response.status_code == 302
    assert response.location.startswith("/login")
    assert "two-factor" not in response.location
    assert client.get("/account").status_code == 302


def test_without_the_password_step_there_is_nothing_to_confirm(client):
    response = client.get("/login/two-factor")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_turning_it_off_needs_the_current_password(app, client, forms, signed_in_user):
    with_two_factor(app, signed_in_user)
    url = "/account/two-factor"
    wrong = forms.post(url, {"current_password": "not my password"})
    assert "not your current password" in wrong.get_data(as_text=True)
    assert forms.post(url, {"current_password": PASSWORD}).status_code == 302
    with app.app_context():
        stored = db.session.get(User, signed_in_user.id)
        assert stored.totp_secret_encrypted is None
        assert db.session.scalar(db.select(db.func.count()).select_from(RecoveryCode)) == 0
        actions = db.session.scalars(db.select(AuditEvent.action)).all()
        assert actions == [AuditAction.DISABLE_TWO_FACTOR]


def test_admins_must_set_it_up_when_required(make_app, make_user):
    app = make_app(ADMIN_TWO_FACTOR="required")
    admin = make_user("admin@example.com", is_admin=True)
    forms = Forms(app.test_client())
    password_step(forms, admin)
    for page in ("/admin/", "/admin/projects", "/admin/users"):
        response = forms.client.get(page)
        assert response.status_code == 302 and response.location == "/account/two-factor"
    assert forms.client.get("/account/two-factor").status_code == 200
    assert forms.post("/logout", page="/account").status_code == 302

    secret, _ = with_two_factor(app, admin)
    password_step(forms, admin)
    code_step(forms, code_at(secret, NOW))
    assert forms.client.get("/admin/").status_code == 200


def test_the_command_line_turns_it_off_for_a_locked_out_user(app, runner, user):
    with_two_factor(app, user)
    result = runner.invoke(args=["users", "reset-two-factor", user.email])
    assert result.exit_code == 0, result.output
    assert "turned off" in result.output
    again = runner.invoke(args=["users", "reset-two-factor", user.email])
    assert again.exit_code != 0 and "no second factor" in again.output
    with app.app_context():
        assert db.session.get(User, user.id).totp_secret_encrypted is None
        event = db.session.scalar(db.select(AuditEvent))
        assert event.action is AuditAction.RESET_TWO_FACTOR and event.actor_id is None


def test_the_rule_accepts_only_later_steps_within_the_window():
    secret = pyotp.random_base32()
    step = totp.current_step(NOW)
    assert totp.matching_step(secret, code_at(secret, NOW), None, now=NOW) == step
    assert totp.matching_step(secret, code_at(secret, NOW), step, now=NOW) is None
    assert totp.matching_step(secret, code_at(secret, NOW + 30), step, now=NOW) == step + 1
    assert totp.matching_step(secret, "12345", None, now=NOW) is None
    assert totp.matching_step(secret, "１２３４５６", None, now=NOW) is None


def test_turning_it_on_asks_for_the_current_password(app, client, forms, signed_in_user):
    secret = setup_secret(client)
    wrong = turn_on(forms, secret, password="not my password")
    assert wrong.status_code == 200
    assert "not your current password" in wrong.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, signed_in_user.id).totp_secret_encrypted is None
    assert "<li>" in turn_on(forms, secret).get_data(as_text=True)


def test_a_password_only_session_is_no_admin_session_when_the_account_turns_it_on(
    make_app, make_user
):
    """The account gained a second factor; this session never showed one."""
    app = make_app(ADMIN_TWO_FACTOR="required")
    admin = make_user("admin@example.com", is_admin=True)
    forms = Forms(app.test_client())
    password_step(forms, admin)
    assert forms.client.get("/admin/").location == "/account/two-factor"
    secret, _ = with_two_factor(app, admin)  # as another device would, session version aside
    response = forms.client.get("/admin/projects?page=1")
    assert response.status_code == 302
    assert response.location.startswith("/login/two-factor")
    assert "next=/admin/projects?page%3D1" in response.location
    done = code_step(forms, code_at(secret, NOW), "/admin/projects?page%3D1")
    assert done.location == "/admin/projects?page=1"
    assert forms.client.get("/admin/").status_code == 200


def test_a_remembered_admin_shows_the_code_again(make_app, make_user):
    app = make_app(ADMIN_TWO_FACTOR="required")
    admin = make_user("admin@example.com", is_admin=True)
    secret, _ = with_two_factor(app, admin)
    first = Forms(app.test_client())
    first.post("/login", {"email": admin.email, "password": PASSWORD, "remember": "y"})
    code_step(first, code_at(secret, NOW))
    assert first.client.get("/admin/").status_code == 200
    remembered = app.test_client()
    remembered.set_cookie("remember_token", first.client.get_cookie("remember_token").value)
    assert remembered.get("/account").status_code == 200  # signed in by the cookie
    assert remembered.get("/admin/").location.startswith("/login/two-factor")


def test_the_session_that_turns_it_on_is_a_two_factor_session(make_app, make_user):
    app = make_app(ADMIN_TWO_FACTOR="required")
    admin = make_user("admin@example.com", is_admin=True)
    forms = Forms(app.test_client())
    password_step(forms, admin)
    assert "<li>" in turn_on(forms, setup_secret(forms.client)).get_data(as_text=True)
    assert forms.client.get("/admin/").status_code == 200


def copied_cookies(app, user: User) -> tuple[Forms, str, str]:
    """Another device signed in with remember-me: its client, session and remember cookies."""
    forms = Forms(app.test_client())
    forms.post("/login", {"email": user.email, "password": PASSWORD, "remember": "y"})
    client = forms.client
    return forms, client.get_cookie("session").value, client.get_cookie("remember_token").value


def signed_in_with(app, name: str, value: str) -> bool:
    client = app.test_client()
    client.set_cookie(name, value)
    return client.get("/account").status_code == 200


def test_turning_it_on_or_off_ends_every_other_session_and_remember_cookie(app, user):
    this, _, _ = copied_cookies(app, user)
    other, session, remember = copied_cookies(app, user)
    assert turn_on(this, setup_secret(this.client)).status_code == 200
    assert this.client.get("/account").status_code == 200  # this one carries on
    assert not signed_in_with(app, "session", session)
    assert not signed_in_with(app, "remember_token", remember)
    assert other.client.get("/account").status_code == 302

    kept = this.client.get_cookie("remember_token").value  # renewed with the new version
    assert signed_in_with(app, "remember_token", kept)
    again = this.client.get_cookie("session").value
    assert this.post("/account/two-factor", {"current_password": PASSWORD}).status_code == 302
    assert this.client.get("/account").status_code == 200
    assert not signed_in_with(app, "session", again)
    assert not signed_in_with(app, "remember_token", kept)


def test_resetting_it_ends_every_session_of_the_account(app, runner, user):
    with_two_factor(app, user)
    forms = Forms(app.test_client())
    password_step(forms, user)
    assert code_step(forms, code_at(with_two_factor_secret(app, user), NOW)).status_code == 302
    assert forms.client.get("/account").status_code == 200
    assert runner.invoke(args=["users", "reset-two-factor", user.email]).exit_code == 0
    assert forms.client.get("/account").status_code == 302


def with_two_factor_secret(app, user: User) -> str:
    with app.app_context():
        stored = db.session.get(User, user.id)
        return secret_box.decrypt(stored.totp_secret_encrypted)


def test_recovery_codes_are_kept_under_a_key_the_database_does_not_hold(
    app, make_app, client, forms, signed_in_user
):
    """A copied database alone cannot search them: a plain hash of a code matches nothing."""
    done = turn_on(forms, setup_secret(client))
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", done.get_data(as_text=True))
    with app.app_context():
        stored = set(db.session.scalars(db.select(RecoveryCode.code_hash)))
    plain = {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes}
    assert not stored & plain
    assert stored == {totp.recovery_code_hash(code, SECRET_KEY) for code in codes}

    other_key = make_app(SECRET_KEY="another secret key, long enough for production")
    forms = Forms(other_key.test_client())
    password_step(forms, signed_in_user)
    assert code_step(forms, codes[0]).status_code == 200  # refused under another key
    rotated = make_app(
        SECRET_KEY="a new secret key, long enough", SECRET_KEY_FALLBACKS=[SECRET_KEY]
    )
    forms = Forms(rotated.test_client())
    password_step(forms, signed_in_user)
    assert code_step(forms, codes[0]).status_code == 302  # the old key is still a fallback
