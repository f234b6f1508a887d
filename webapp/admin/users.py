from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.admin.blueprint import PER_PAGE, bp, page_number
from webapp.extensions import db
from webapp.models import User
from webapp.services.users import LastAdmin, set_flag

# What the buttons on the users page may change: (flag, value, what to say) by action name.
ACTIONS = {
    "grant-admin": ("is_admin", True, "{} is now an admin."),
    "remove-admin": ("is_admin", False, "{} is no longer an admin."),
    "enable": ("is_active", True, "{} is enabled and can sign in again."),
    "disable": ("is_active", False, "{} is disabled and signed out everywhere."),
}


@bp.get("/users")
def users() -> ResponseReturnValue:
    query = request.args.get("q", "").strip()
    select = db.select(User).order_by(User.email)
    if query:
        select = select.where(User.email.icontains(query, autoescape=True))
    page = db.paginate(select, page=page_number(), per_page=PER_PAGE)
    return render_template("admin/users.html", page=page, query=query)


@bp.post("/users/<public_id>/<action>")
def change_user(public_id: str, action: str) -> ResponseReturnValue:
    if action not in ACTIONS:
        abort(404)
    user = db.first_or_404(db.select(User).filter_by(public_id=public_id))
    flag, value, done = ACTIONS[action]
    if action == "disable" and user.id == current_user.id:
        flash("You cannot disable your own account here.", "error")
        return redirect(url_for("admin.users", q=request.args.get("q") or None))
    try:
        set_flag(user, flag, value, current_user)
    except LastAdmin as refusal:
        db.session.rollback()
        flash(f"{user.email} was not changed. {refusal}", "error")
    else:
        db.session.commit()
        flash(done.format(user.email))
    return redirect(url_for("admin.users", q=request.args.get("q") or None))
