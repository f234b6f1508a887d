from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import HiddenField, SubmitField

from webapp.auth.forms import RegisterForm
from webapp.auth.signup import open_account
from webapp.protection.rate_limits import setup_per_address
from webapp.rules.locales import best_locale
from webapp.services.setup_codes import claim_code, code_matches, release_code, spend_code
from webapp.services.users import active_admin_count

bp = Blueprint("setup", __name__)
GONE = "This setup link has expired or has been used. Run `flask setup-link` for a new one."


class SetupForm(RegisterForm):
    code = HiddenField()
    submit = SubmitField("Create admin account")


@bp.route("/setup", methods=["GET", "POST"])
@setup_per_address
def setup() -> ResponseReturnValue:
    """Gone (404) once an admin exists, and for anyone without the console's code."""
    code = request.values.get("code")
    instance = current_app.instance_path
    if active_admin_count() or not code_matches(instance, code):
        abort(404, GONE)
    form = SetupForm(code=code)
    if request.method == "GET":
        form.locale.data = best_locale(request.accept_languages.values())
    if form.validate_on_submit():
        # Of concurrent requests with the code, only the one that claims it goes on.
        claimed = claim_code(instance, code)
        if claimed is None or active_admin_count():
            if claimed:
                spend_code(claimed)
            abort(404, GONE)
        done = open_account(
            form,
            is_admin=True,
            welcome="Your admin account is ready. Add your first project.",
            then=url_for("admin.dashboard"),
        )
        if done:
            spend_code(claimed)
            return done
        release_code(instance, claimed)  # refused input: the link still works
    return render_template("setup/setup.html", form=form)
