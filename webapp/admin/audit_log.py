from flask import render_template, request
from flask.typing import ResponseReturnValue

from webapp.admin.blueprint import MAX_INTEGER_ID, PER_PAGE, bp, number_arg
from webapp.admin.forms import ProjectForm
from webapp.extensions import db
from webapp.models import AuditEvent, Project, User
from webapp.rules.audit_display import EventView, event_view, exact_time, relative_time

bp.add_app_template_filter(exact_time)
bp.add_app_template_filter(relative_time)


@bp.get("/audit")
def audit() -> ResponseReturnValue:
    """Newest first, filtered by project and by admin, one page per `before` cursor:
    keyset pagination stays an index scan however long the trail grows."""
    select = db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(PER_PAGE + 1)
    project_slug = request.args.get("project", "").strip()
    project = None
    if project_slug:
        project = db.session.scalar(db.select(Project).filter_by(slug=project_slug))
        # A deleted project is found by the slug its events recorded.
        select = select.where(
            AuditEvent.target_type == "project",
            AuditEvent.target_id == project.id
            if project is not None
            else AuditEvent.target_label == project_slug,
        )
    admin_id = number_arg("admin", MAX_INTEGER_ID)  # a user's id
    if admin_id:
        select = select.where(AuditEvent.actor_id == admin_id)
    before = number_arg("before")
    if before:
        select = select.where(AuditEvent.id < before)
    events = db.session.scalars(select).all()
    older = events[PER_PAGE - 1].id if len(events) > PER_PAGE else None
    admins = db.session.execute(
        db.select(User.id, User.email).filter_by(is_admin=True).order_by(User.email)
    ).all()
    return render_template(
        "admin/audit.html",
        labels=field_labels(),
        events=[(event, view(event)) for event in events[:PER_PAGE]],
        project=project,
        older=older,
        project_slug=project_slug,
        admin_id=admin_id,
        admins=admins,
    )


def field_labels() -> dict[str, str]:
    """The recorded field names as the admin forms label them."""
    form = ProjectForm(formdata=None, meta={"csrf": False})
    labels = {field.name: field.label.text for field in form}
    labels.update(
        signing_key_fingerprint="Signing key (fingerprint)",
        email="Email",
        is_admin="Admin",
        is_active="Active",
    )
    return labels


def view(event: AuditEvent) -> EventView:
    return event_view(
        event.changes,
        shows_before=event.action.shows_before,
        shows_after=event.action.shows_after,
    )
