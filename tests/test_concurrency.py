"""Races through the real HTTP stack: a threaded werkzeug server on 127.0.0.1, real concurrent
requests, on whichever database the suite runs. Each race is tried several times."""

import json
import re

import jwt
import pytest
from cryptography.fernet import Fernet
from helpers import ABUSE, HS256_KEY, PASSWORD, HttpSession, all_at_once, serving, setup_link
from test_admin_projects import form_data

from webapp.extensions import db
from webapp.models import AuditAction, AuditEvent, Project, User
from webapp.rules.encryption import encrypt, load_keys


@pytest.fixture
def app(make_app):
    """Rate limits off: these tests sign in and set up more often than a person would."""
    return make_app(RATELIMIT_ENABLED=False)


@pytest.fixture
def live(app):
    with serving(app) as url:
        yield url


def count(app, model, **filters) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model).filter_by(**filters))


def events(app, **filters) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(
            db.select(AuditEvent).filter_by(**filters).order_by(AuditEvent.id)
        ).all()


def record(answers) -> None:
    ABUSE.add(cases=len(answers), server_errors=sum(a.status >= 500 for a in answers))


def test_eight_setups_at_once_make_one_admin(app, live):
    link = setup_link(app)
    sessions = [HttpSession(live) for _ in range(8)]
    tokens = [session.csrf_token(link) for session in sessions]
    answers = all_at_once(
        [
            lambda s=session, t=token, i=i: s.post(
                link,
                {"email": f"boss{i}@example.com", "password": PASSWORD, "locale": "en"},
                token=t,
            )
            for i, (session, token) in enumerate(zip(sessions, tokens, strict=True))
        ]
    )
    record(answers)
    assert sorted(answer.status for answer in answers) == [302] + [404] * 7
    assert count(app, User, is_admin=True) == 1
    assert count(app, User) == 1
    assert HttpSession(live).get(link).status == 404


def test_two_admins_removing_each_other_leave_one(app, live, make_user):
    """20 tries of A disabling (or demoting) B while B disables (or demotes) A."""
    admins = [make_user(f"admin{i}@example.com", is_admin=True) for i in range(2)]
    sessions = [HttpSession(live) for _ in admins]
    for session, admin in zip(sessions, admins, strict=True):
        session.sign_in(admin.email)
    for attempt in range(20):
        with app.app_context():
            for admin in db.session.scalars(db.select(User)):
                admin.is_admin = admin.is_active = True
            db.session.commit()
        action = ("disable", "remove-admin")[attempt % 2]
        tokens = []
        for session, admin in zip(sessions, admins, strict=True):
            if session.get("/admin/users").status != 200:
                session.sign_in(admin.email)  # disabling may have ended the session
            tokens.append(session.csrf_token("/admin/users"))
        jobs = [
            lambda s=sessions[0], t=tokens[0], a=action: s.post(
                f"/admin/users/{admins[1].public_id}/{a}", token=t
            ),
            lambda s=sessions[1], t=tokens[1], a=action: s.post(
                f"/admin/users/{admins[0].public_id}/{a}", token=t
            ),
        ]
        answers = all_at_once(jobs)
        record(answers)
        # 403: the other admin's change had landed before this request was checked.
        assert {answer.status for answer in answers} <= {302, 403}
        assert count(app, User, is_admin=True, is_active=True) == 1, f"try {attempt + 1}"


def test_two_admins_making_a_new_default_at_once(app, live, make_user, make_project):
    make_project("old", is_default=True)
    admins = [make_user(f"admin{i}@example.com", is_admin=True) for i in range(2)]
    sessions = [HttpSession(live) for _ in admins]
    for session, admin in zip(sessions, admins, strict=True):
        session.sign_in(admin.email)
    created = 0
    for attempt in range(5):
        tokens = [session.csrf_token("/admin/projects/new") for session in sessions]
        answers = all_at_once(
            [
                lambda s=s, t=t, slug=f"new-{attempt}-{i}": s.post(
                    "/admin/projects/new",
                    form_data(slug=slug, is_default="y"),
                    token=t,
                )
                for i, (s, t) in enumerate(zip(sessions, tokens, strict=True))
            ]
        )
        record(answers)
        assert all(answer.status in (200, 302) for answer in answers), answers
        for answer in answers:
            if answer.status == 200:  # the loser is told why, with the input kept
                assert "at the same moment" in answer.text
        assert 302 in [answer.status for answer in answers]
        created += sum(answer.status == 302 for answer in answers)
        assert count(app, Project, is_default=True) == 1
        assert count(app, Project) == 1 + created
    assert len(events(app, action=AuditAction.CREATE, target_type="project")) == created


def test_two_admins_deleting_one_project_at_once(app, live, make_user, make_project):
    admins = [make_user(f"admin{i}@example.com", is_admin=True) for i in range(2)]
    sessions = [HttpSession(live) for _ in admins]
    for session, admin in zip(sessions, admins, strict=True):
        session.sign_in(admin.email)
    for attempt in range(5):
        slug = f"doomed-{attempt}"
        make_project(slug)
        tokens = [session.csrf_token(f"/admin/projects/{slug}/delete") for session in sessions]
        answers = all_at_once(
            [
                lambda s=s, t=t, url=f"/admin/projects/{slug}/delete": s.post(url, token=t)
                for s, t in zip(sessions, tokens, strict=True)
            ]
        )
        record(answers)
        # The loser either found it gone (404) or lost the race at the database (a message).
        assert sorted(answer.status for answer in answers) in ([302, 302], [302, 404])
        assert count(app, Project, slug=slug) == 0
        assert len(events(app, action=AuditAction.DELETE, target_label=slug)) == 1
    for session in sessions:
        assert session.get("/admin/projects").status == 200


def edit(marker: str, version: int) -> dict:
    """One whole edit: every changed field carries the same marker, so a torn save shows."""
    number = int(marker.split("-")[1])
    return form_data(
        name=f"Edit {marker}",
        custom_claims=f"writer = {marker}",
        token_lifetime=str(600 + number),
        signing_key="",
        version=str(version),
    )


def test_twenty_writers_lose_nothing(app, live, make_user, make_project):
    make_project("shop", key="a-vendor-shared-secret-of-32-bytes!")
    admin = make_user("admin@example.com", is_admin=True)
    sessions = [HttpSession(live) for _ in range(20)]  # one admin, signed in 20 times
    for session in sessions:
        session.sign_in(admin.email)

    def writer(number: int) -> list[tuple[str, int]]:
        session = sessions[number]
        outcomes = []
        for round_ in range(3):
            page = session.get("/admin/projects/shop")
            version = int(re.search(r'name="version"[^>]*value="(\d+)"', page.text).group(1))
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
            marker = f"w-{number * 10 + round_}"
            answer = session.post("/admin/projects/shop", edit(marker, version), token=token)
            if answer.status == 200:
                assert "changed by someone else" in answer.text
            assert answer.status in (200, 302), answer.text
            outcomes.append((marker, answer.status))
        return outcomes

    results = [
        o for outcome in all_at_once([lambda n=n: writer(n) for n in range(20)]) for o in outcome
    ]
    ABUSE.add(cases=len(results), server_errors=sum(status >= 500 for _, status in results))
    assert {status for _, status in results} <= {200, 302}
    landed = {marker for marker, status in results if status == 302}
    assert landed
    updates = events(app, action=AuditAction.UPDATE, target_label="shop")
    recorded = [event.changes["name"]["after"].removeprefix("Edit ") for event in updates]
    lost = len(landed - set(recorded)) + abs(len(recorded) - len(landed))
    ABUSE.add(lost_updates=lost)
    assert sorted(recorded) == sorted(landed)  # exactly one audit event per landed save
    for event in updates:  # each landed whole
        marker = event.changes["name"]["after"].removeprefix("Edit ")
        assert event.changes["custom_claims"]["after"] == {"writer": marker}
        assert event.changes["token_lifetime"]["after"] == 600 + int(marker.split("-")[1])
    with app.app_context():
        project = db.session.scalar(db.select(Project).filter_by(slug="shop"))
        assert project.name == updates[-1].changes["name"]["after"]
        assert project.custom_claims == updates[-1].changes["custom_claims"]["after"]
        assert project.version == 1 + len(landed)


def test_tokens_under_edits_and_key_rotation(make_app, make_user, make_project):
    """End users fetch tokens while an admin changes the signing key (and a claim naming
    it, in the same save) and the keys at rest are re-encrypted under a new Fernet key."""
    old_fernet, new_fernet = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    app = make_app(SECRETS_ENCRYPTION_KEYS=f"{new_fernet},{old_fernet}", RATELIMIT_ENABLED=False)
    signing_keys = [HS256_KEY] + [f"signing-key-number-{n}-".ljust(40, "x") for n in range(1, 5)]
    project = make_project("shop", key=signing_keys[0], custom_claims={"generation": 0})
    with app.app_context():  # stored under the old Fernet key only, as before a rotation
        stored = db.session.get(Project, project.id)
        stored.signing_key_encrypted = encrypt(load_keys(old_fernet), signing_keys[0])
        db.session.commit()
    users = [make_user(f"user{n}@example.com") for n in range(4)]
    admin = make_user("admin@example.com", is_admin=True)
    with serving(app) as live:
        fetchers = [HttpSession(live) for _ in users]
        for session, user in zip(fetchers, users, strict=True):
            session.sign_in(user.email)
        editor = HttpSession(live)
        editor.sign_in(admin.email)

        def fetch(session) -> list:
            return [session.get("/auth/authorize?project=shop") for _ in range(25)]

        def change_keys() -> list:
            answers = []
            for generation in range(1, len(signing_keys)):
                for _ in range(20):  # a re-encryption may win the race: open and save again
                    page = editor.get("/admin/projects/shop")
                    version = re.search(r'name="version"[^>]*value="(\d+)"', page.text).group(1)
                    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)[1]
                    data = form_data(
                        custom_claims=f"generation = {generation}",
                        signing_key=signing_keys[generation],
                        version=version,
                    )
                    answers.append(editor.post("/admin/projects/shop", data, token=token))
                    if answers[-1].status != 200:
                        break
                    assert "changed by someone else" in answers[-1].text
            return answers

        def rotate_encryption() -> list:
            with app.app_context():
                for _ in range(len(signing_keys)):
                    row = db.session.scalar(db.select(Project).filter_by(slug="shop"))
                    row.signing_key_encrypted = encrypt(
                        load_keys(new_fernet), row.decrypt_signing_key()
                    )
                    db.session.commit()
            return []

        results = all_at_once(
            [*(lambda s=s: fetch(s) for s in fetchers), change_keys, rotate_encryption]
        )
    token_answers = [answer for answers in results[: len(fetchers)] for answer in answers]
    edits = results[len(fetchers)]
    record(token_answers + edits)
    assert [answer.status for answer in edits].count(302) == len(signing_keys) - 1
    assert {answer.status for answer in edits} <= {200, 302}
    assert {answer.status for answer in token_answers} == {200}
    seen = set()
    for answer in token_answers:
        token = json.loads(answer.text)["jwt"]
        generation = jwt.decode(token, options={"verify_signature": False})["generation"]
        seen.add(generation)
        jwt.decode(
            token, signing_keys[generation], algorithms=["HS256"], options={"verify_aud": False}
        )
        for other, key in enumerate(signing_keys):
            if other != generation:
                with pytest.raises(jwt.InvalidSignatureError):
                    jwt.decode(token, key, algorithms=["HS256"], options={"verify_aud": False})
    assert seen  # and each token verified with its own generation's key alone
