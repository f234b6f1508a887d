"""The second factor: turning TOTP on and off, and checking a code at sign-in.

The secret is stored encrypted with the app's MultiFernet and never leaves this module after
setup. Each check is one conditional UPDATE or DELETE, so two requests racing with the same
code cannot both succeed, on SQLite or PostgreSQL.
"""

from typing import Literal

from flask import current_app

from webapp.extensions import db
from webapp.models import AuditAction, RecoveryCode, User
from webapp.rules import totp
from webapp.secret_box import secret_box
from webapp.services import audit

ISSUER = "Digital Person token issuer"


class WrongCode(ValueError):
    """The code does not match (or was already used)."""


def setup_uri(user: User, secret: str) -> str:
    return totp.provisioning_uri(secret, user.email, ISSUER)


def enable(user: User, secret: str, code: str) -> list[str]:
    """Turn TOTP on once the user proves their app has the secret; returns the recovery codes,
    to be shown once. Every session of the account ends (a session signed in by password
    alone must not become a two-factor one). Raises WrongCode."""
    step = totp.matching_step(secret, code, last_step=None)
    if step is None:
        raise WrongCode()
    user.totp_secret_encrypted = secret_box.encrypt(secret)
    user.totp_last_step = step
    user.end_sessions()
    codes = totp.new_recovery_codes()
    db.session.execute(db.delete(RecoveryCode).filter_by(user_id=user.id))
    key = current_app.config["SECRET_KEY"]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=totp.recovery_code_hash(code, key))
        for code in codes
    )
    audit.record(AuditAction.ENABLE_TWO_FACTOR, user, {}, {}, user)
    return codes


def disable(user: User, actor: User | None, *, by: Literal["user", "reset"] = "user") -> None:
    """Turn TOTP off and drop the recovery codes; `by="reset"` is the operator's recovery.
    Every session of the account ends, as after a password change."""
    user.totp_secret_encrypted = None
    user.totp_last_step = None
    user.end_sessions()
    db.session.execute(db.delete(RecoveryCode).filter_by(user_id=user.id))
    action = AuditAction.RESET_TWO_FACTOR if by == "reset" else AuditAction.DISABLE_TWO_FACTOR
    audit.record(action, user, {}, {}, actor)


def check_code(user: User, code: str) -> Literal["totp", "recovery"]:
    """Accept a current TOTP code (not one already used) or an unused recovery code, and use
    it up. Raises WrongCode."""
    if user.totp_secret_encrypted is None:
        raise WrongCode()
    if totp.looks_like_totp(code):
        secret = secret_box.decrypt(user.totp_secret_encrypted)
        step = totp.matching_step(secret, code, user.totp_last_step)
        if step is not None and claim_step(user, step):
            return "totp"
        raise WrongCode()
    # Codes kept under an old SECRET_KEY still work while it is in SECRET_KEY_FALLBACKS.
    config = current_app.config
    keys = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or ())]
    hashes = [totp.recovery_code_hash(code, key) for key in keys]
    used = db.session.execute(
        db.delete(RecoveryCode).filter_by(user_id=user.id).where(RecoveryCode.code_hash.in_(hashes))
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise WrongCode()
    return "recovery"


def claim_step(user: User, step: int) -> bool:
    """Record the step as used, unless another request used it (or a later one) first."""
    claimed = db.session.execute(
        db.update(User)
        .where(User.id == user.id)
        .where((User.totp_last_step.is_(None)) | (User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    db.session.expire(user, ["totp_last_step"])
    return True


def remaining_recovery_codes(user: User) -> int:
    return db.session.scalar(
        db.select(db.func.count()).select_from(RecoveryCode).filter_by(user_id=user.id)
    )
