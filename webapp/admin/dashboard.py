from flask import render_template
from flask.typing import ResponseReturnValue

from webapp.admin.blueprint import bp
from webapp.admin.usage import dashboard_usage
from webapp.extensions import Base, db
from webapp.models import AuditEvent, Project, User


def count(model: type[Base], **filters: object) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).filter_by(**filters))


@bp.get("/")
def dashboard() -> ResponseReturnValue:
    recent = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(8)).all()
    default = db.session.scalar(db.select(Project).filter_by(is_default=True))
    return render_template(
        "admin/dashboard.html",
        projects=count(Project),
        enabled=count(Project, enabled=True),
        users=count(User),
        admins=count(User, is_admin=True, is_active=True),
        default=default,
        recent=recent,
        **dashboard_usage(),
    )
