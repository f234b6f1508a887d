from flask import Blueprint, abort
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.extensions import login_manager

bp = Blueprint("admin", __name__, url_prefix="/admin")
PER_PAGE = 50


@bp.before_request
def require_admin() -> ResponseReturnValue | None:
    """Every admin route, present and future, passes here: one rule, in one place."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403, "This page is for administrators.")
    return None
