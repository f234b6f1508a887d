from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup, escape

from webapp.auth.two_factor import begin_second_step
from webapp.extensions import login_manager
from webapp.login import presented_second_factor

bp = Blueprint("admin", __name__, url_prefix="/admin")
PER_PAGE = 50
# A number larger than its column holds is no row, and would overflow the query on
# PostgreSQL: audit events have BIGINT ids, users and projects INTEGER ones.
MAX_ID = 2**63 - 1
MAX_INTEGER_ID = 2**31 - 1
MAX_PAGE = MAX_ID // PER_PAGE


@bp.before_request
def require_admin() -> ResponseReturnValue | None:
    """Every admin route, present and future, passes here: one rule, in one place."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403, "This page is for administrators.")
    if current_app.config["ADMIN_TWO_FACTOR"] == "required" and not presented_second_factor():
        if current_user.has_two_factor:
            # Signed in by password alone (before two-factor was on, or by a remember-me
            # cookie): this session shows the code before it becomes an admin session.
            remembered = current_app.config["REMEMBER_COOKIE_NAME"] in request.cookies
            next_url = request.full_path.rstrip("?")
            return begin_second_step(current_user, remember=remembered, next_url=next_url)
        flash("Administrators must sign in with a second factor: turn it on first.")
        return redirect(url_for("auth.two_factor_settings"))
    return None


@bp.app_template_filter()
def wrappable(email: str) -> Markup:
    """An e-mail address that may wrap before its "@" and nowhere else unless it must."""
    local, at, domain = email.rpartition("@")
    return escape(local) + Markup("<wbr>") + escape(at + domain) if at else escape(email)


def number_arg(name: str, highest: int = MAX_ID) -> int | None:
    """A whole number from 1 to `highest` in the query string, or None when it is absent.
    Anything else, other scripts' digits and numbers too large for the database included,
    is a 400 that says what is wanted."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 19 and 1 <= int(text) <= highest):
        abort(400, f"“{name}” takes a whole number from 1 to {highest:,}.")
    return int(text)


def page_number() -> int:
    """For `db.paginate`, which would otherwise read `?page=` (and `?per_page=`) unbounded."""
    return number_arg("page", MAX_PAGE) or 1
