"""Admins grant and remove rights and disable accounts; the last active admin stays."""

import pytest
from helpers import PASSWORD, Forms

from webapp.extensions import db
from webapp.models import AuditEvent, User


def reloaded(app, user: User) -> User:
    with app.app_context():
        found = db.session.get(User, user.id)
        db.session.expunge(found)
        return found


def act(forms: Forms, user: User, action: str):
    return forms.post(f"/admin/users/{user.public_id}/{action}", page="/admin/users")


def test_list_and_search(client, make_user, signed_in_admin):
    make_user("ada@example.com")
    make_user("grace@example.com")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "ada@example.com" in page and "grace@example.com" in page
    found = client.get("/admin/users?q=ADA").get_data(as_text=True)
    assert "ada@example.com" in found and "grace@example.com" not in found


def test_the_list_shows_who_has_two_factor_on(client, make_user, signed_in_admin):
    make_user("ada@example.com", totp_secret_encrypted="encrypted secret")
    make_user("grace@example.com")
    page = client.get("/admin/users").get_data(as_text=True)

    def row_of(email: str) -> str:
        start = page.index(f'data-user="{email}"')
        return page[start : page.index("</tr>", start)]

    assert '<span class="badge">on</span>' in row_of("ada@example.com")
    assert '<span class="muted">off</span>' in row_of("grace@example.com")


def test_grant_and_remove_admin_are_audited(app, forms, make_user, signed_in_admin):
    ada = make_user("ada@example.com")
    assert act(forms, ada, "grant-admin").status_code == 302
    assert reloaded(app, ada).is_admin
    act(forms, ada, "remove-admin")
    assert not reloaded(app, ada).is_admin
    with app.app_context():
        actions = db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)).all()
        event = db.session.scalar(db.select(AuditEvent).filter_by(action="grant_admin"))
        assert event.actor_id == signed_in_admin.id
        assert event.changes == {"is_admin": {"before": False, "after": True}}
    assert actions == ["grant_admin", "remove_admin"]


def test_disabling_signs_the_user_out(app, forms, make_user, signed_in_admin):
    ada = make_user("ada@example.com")
    ada_client = app.test_client()
    Forms(ada_client).post("/login", {"email": ada.email, "password": PASSWORD})
    assert ada_client.get("/account").status_code == 200
    act(forms, ada, "disable")
    assert not reloaded(app, ada).is_active
    assert ada_client.get("/account").status_code == 302
    act(forms, ada, "enable")
    assert reloaded(app, ada).is_active


def test_nobody_disables_themselves_here(app, client, forms, make_user, signed_in_admin):
    make_user("second@example.com", is_admin=True)
    response = act(forms, signed_in_admin, "disable")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You cannot disable your own account here." in page
    assert reloaded(app, signed_in_admin).is_active
    # The page offers no Disable on one's own row, and asks before disabling anyone else.
    own_row = page.split("(you)")[1].split("</tr>")[0]
    assert "/disable" not in own_row
    assert '<details class="confirm">' in page and "/admin/users/" in page


@pytest.mark.parametrize("action", ["remove-admin"])
def test_the_last_active_admin_stays(app, client, forms, signed_in_admin, action):
    response = act(forms, signed_in_admin, action)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "There must stay at least one active admin." in page
    admin = reloaded(app, signed_in_admin)
    assert admin.is_admin and admin.is_active


def test_with_another_admin_rights_can_be_given_up(app, forms, make_user, signed_in_admin):
    make_user("second@example.com", is_admin=True)
    act(forms, signed_in_admin, "remove-admin")
    assert not reloaded(app, signed_in_admin).is_admin


def test_unknown_action_is_404(forms, make_user, signed_in_admin):
    ada = make_user("ada@example.com")
    assert act(forms, ada, "delete").status_code == 404
