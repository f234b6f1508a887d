from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import HiddenField, SubmitField

from webapp.auth.forms import RegisterForm
from webapp.auth.signup import open_account
from webapp.rate_limits import setup_per_address
from webapp.rules.locales import best_locale
from webapp.services.setup_codes import code_matches, forget_code
from webapp.services.users import active_admin_count

bp = Blueprint("setup", __name__)


class SetupForm(RegisterForm):
    code = HiddenField()
    submit = SubmitField("Create admin account")


@bp.route("/setup", methods=["GET", "POST"])
@setup_per_address
def setup() -> ResponseReturnValue:
    """Gone (404) once an admin exists, and for anyone without the console's code."""
    code = request.values.get("code")
    if active_admin_count() or not code_matches(current_app.instance_path, code):
        abort(404)
    form = SetupForm(code=code)
    if request.method == "GET":
        form.locale.data = best_locale(request.accept_languages.values())
    if form.validate_on_submit() and (
        done := open_account(
            form,
            is_admin=True,
            welcome="Your admin account is ready. Add your first project.",
            then=url_for("admin.dashboard"),
        )
    ):
        forget_code(current_app.instance_path)
        return done
    return render_template("setup/setup.html", form=form)
