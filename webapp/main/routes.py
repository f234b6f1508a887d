from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from webapp.extensions import db
from webapp.models import Project

bp = Blueprint("main", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    if not current_user.is_authenticated:
        return render_template("main/welcome.html")
    projects = db.session.scalars(
        db.select(Project).filter_by(enabled=True).order_by(Project.name)
    ).all()
    return render_template("main/index.html", projects=projects)


@bp.get("/projects/<slug>/token")
@login_required
def token(slug: str) -> ResponseReturnValue:
    project = db.first_or_404(db.select(Project).filter_by(slug=slug, enabled=True))
    return render_template("main/token.html", project=project)
