"""TOTP second factor: setup, the second sign-in step, recovery codes, the admin policy.

Codes are computed with pyotp for a fixed clock the tests set, never by waiting."""

import re
import types

import pyotp
import pytest
from cryptography.fernet import Fernet
from helpers import PASSWORD, Forms

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
            RecoveryCode(user_id=user.id, code_hash=totp.recovery_code_hash(code)) for code in codes
        )
        db.session.commit()
    return secret, codes


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

    wrong = forms.post("/account/two-factor", {"code": "000000"}, page="/account/two-factor")
    assert "That code is not right" in wrong.get_data(as_text=True)

    done = forms.post("/account/two-factor", {"code": code_at(secret, NOW)})
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
