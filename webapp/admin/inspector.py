import time

from flask import render_template
from flask.typing import ResponseReturnValue

from webapp.admin.blueprint import bp
from webapp.admin.forms import InspectForm
from webapp.extensions import db
from webapp.models import Project
from webapp.services.inspection import inspect_token


@bp.route("/inspect", methods=["GET", "POST"])
def inspect() -> ResponseReturnValue:
    """Paste a token, ours or another issuer's, and see what it says and what it breaks.
    Nothing is stored, so the answer is the page itself rather than a redirect."""
    form = InspectForm()
    form.project.choices = [("", "— no project —")] + [
        (slug, f"{name} ({slug})")
        for slug, name in db.session.execute(
            db.select(Project.slug, Project.name).order_by(Project.name)
        )
    ]
    inspection = None
    if form.validate_on_submit():
        project = None
        if form.project.data:
            project = db.session.scalar(db.select(Project).filter_by(slug=form.project.data))
            if project is None:
                form.project.errors = ["That project no longer exists."]
        if not form.project.errors:
            inspection = inspect_token(form.token.data or "", project=project, now=int(time.time()))
    return render_template("admin/inspect.html", form=form, inspection=inspection)
