"""Deleting one's own account from /account."""

from helpers import PASSWORD, Forms

from webapp.extensions import db
from webapp.models import AuditAction, AuditEvent, RecoveryCode, User
from webapp.services import audit


def delete(forms: Forms, password: str = PASSWORD):
    return forms.post("/account/delete", {"delete-current_password": password}, page="/account")


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_the_account_page_offers_it(client, signed_in_user):
    page = client.get("/account").get_data(as_text=True)
    assert "Delete account" in page and 'action="/account/delete"' in page
    assert "stay valid until they expire" in page
    # Once, in the page's body, and not inside its <title>.
    assert page.count('action="/account/delete"') == 1
    assert "<title>Your account · Digital Person token issuer</title>" in page


def test_a_wrong_password_deletes_nothing(app, client, forms, signed_in_user):
    response = delete(forms, "not my password")
    assert response.status_code == 400
    assert "not your current password" in response.get_data(as_text=True)
    assert count(app, User) == 1
    assert client.get("/account").status_code == 200


def test_deleting_removes_the_row_and_signs_out(app, client, forms, signed_in_user):
    with app.app_context():
        db.session.add(RecoveryCode(user_id=signed_in_user.id, code_hash="0" * 64))
        db.session.commit()
    response = delete(forms)
    assert response.status_code == 302 and response.location == "/login"
    assert "stay valid until they expire" in client.get("/login").get_data(as_text=True)
    assert client.get("/account").status_code == 302
    assert count(app, User) == 0 and count(app, RecoveryCode) == 0

    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent))
        assert event.action is AuditAction.DELETE_ACCOUNT
        assert event.target_label == signed_in_user.public_id
        assert signed_in_user.email not in repr((event.target_label, event.changes))
        assert event.actor_name == "deleted user"

    # The address is free again, and the new account never takes the old one's id.
    again = Forms(app.test_client()).post(
        "/register", {"email": signed_in_user.email, "password": PASSWORD, "locale": "en-US"}
    )
    assert again.status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(User.id)) != signed_in_user.id


def test_the_last_active_admin_cannot_delete_themselves(app, forms, signed_in_admin, make_user):
    make_user("disabled-admin@example.com", is_admin=True, is_active=False)
    response = delete(forms)
    assert response.status_code == 400
    assert "last active admin" in response.get_data(as_text=True)
    assert count(app, User) == 2


def test_an_admin_with_history_can_go_when_another_admin_stays(
    app, client, forms, signed_in_admin, make_user
):
    other = make_user("other@example.com")
    make_user("second-admin@example.com", is_admin=True)
    with app.app_context():
        actor = db.session.get(User, signed_in_admin.id)
        audit.record(AuditAction.GRANT_ADMIN, db.session.get(User, other.id), {}, {}, actor)
        db.session.commit()
    assert delete(forms).status_code == 302
    with app.app_context():
        names = {event.actor_name for event in db.session.scalars(db.select(AuditEvent))}
        assert names == {"deleted user"}
