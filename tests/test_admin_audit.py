"""The audit trail: filtered, paged newest first, append-only, and free of secrets."""

import pytest
from helpers import HS256_KEY

from webapp.extensions import db
from webapp.models import AuditEvent, Project
from webapp.services import audit


def add_events(app, project: Project, count: int, actor_id: int | None = None) -> None:
    with app.app_context():
        db.session.add_all(
            AuditEvent(
                actor_id=actor_id,
                target_type="project",
                target_id=project.id,
                target_label=project.slug,
                action="update",
                changes={"name": {"before": f"n{n}", "after": f"n{n + 1}"}},
            )
            for n in range(count)
        )
        db.session.commit()


def test_pages_newest_first_with_a_cursor(app, client, make_project, signed_in_admin):
    add_events(app, make_project("shop"), 60)
    first = client.get("/admin/audit").get_data(as_text=True)
    assert first.count('<ins class="after">') == 50
    assert ">n60<" in first and ">n10<" in first and ">n9<" not in first
    older = first.split('href="/admin/audit?before=')[1].split('"')[0]
    second = client.get(f"/admin/audit?before={older}").get_data(as_text=True)
    assert second.count('<ins class="after">') == 10
    assert ">n1<" in second and "Older" not in second


def test_filter_by_project_and_admin(app, client, make_project, make_user, signed_in_admin):
    other_admin = make_user("other@example.com", is_admin=True)
    add_events(app, make_project("shop"), 2, actor_id=signed_in_admin.id)
    add_events(app, make_project("kiosk"), 3, actor_id=other_admin.id)
    by_project = client.get("/admin/audit?project=kiosk").get_data(as_text=True)
    assert (
        by_project.count("<strong>kiosk</strong>") == 3
        and "<strong>shop</strong>" not in by_project
    )
    by_admin = client.get(f"/admin/audit?admin={signed_in_admin.id}").get_data(as_text=True)
    assert by_admin.count("<strong>shop</strong>") == 2 and "<strong>kiosk</strong>" not in by_admin


def test_a_deleted_project_is_still_found_by_slug(
    app, client, forms, make_project, signed_in_admin
):
    make_project("gone")
    forms.post("/admin/projects/gone/delete")
    page = client.get("/admin/audit?project=gone").get_data(as_text=True)
    assert "delete project" in page and "<strong>gone</strong>" in page


def test_events_are_append_only(app, make_project):
    add_events(app, make_project("shop"), 1)
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent))
        event.action = "rewritten"
        with pytest.raises(PermissionError):
            db.session.commit()
        db.session.rollback()
        with pytest.raises(PermissionError):
            db.session.delete(db.session.scalar(db.select(AuditEvent)))
            db.session.commit()


def test_project_state_holds_a_fingerprint_never_the_key(app, make_project):
    project = make_project("shop")
    with app.app_context():
        state = audit.project_state(db.session.get(Project, project.id))
    assert "signing_key_fingerprint" in state
    assert HS256_KEY not in repr(state)
    assert not any("encrypted" in name for name in state)
