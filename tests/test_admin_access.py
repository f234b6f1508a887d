"""Every /admin route, found by walking the URL map: anonymous visitors are sent to sign in,
signed-in non-admins get 403, admins get in."""

import re

import pytest
from helpers import Forms

PLACEHOLDERS = {"slug": "demo", "public_id": None, "action": "disable"}


def admin_urls(app, user_public_id: str) -> list[tuple[str, str]]:
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        path = rule.rule
        for name in rule.arguments:
            value = PLACEHOLDERS[name] or user_public_id
            path = re.sub(rf"<(\w+:)?{name}>", value, path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, path))
    return urls


@pytest.fixture
def routes(app, make_project, user):
    make_project("demo")
    found = admin_urls(app, user.public_id)
    assert len(found) >= 12, found  # the walk found the admin blueprint
    return found


def test_anonymous_visitors_are_sent_to_sign_in(client, routes):
    for method, path in routes:
        response = client.open(path, method=method)
        if method == "POST":
            assert response.status_code == 400, path  # no CSRF token, nothing happens
            continue
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path


def test_anonymous_scripts_get_401_json(client, routes):
    response = client.get("/admin/projects", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.get_json()["success"] is False


def test_non_admins_get_403_everywhere(client, forms: Forms, routes, signed_in_user):
    for method, path in routes:
        if method == "POST":
            response = forms.post(path, page="/account")
        else:
            response = client.open(path, method=method)
        assert response.status_code == 403, (method, path)


def test_admins_get_in(client, routes, signed_in_admin):
    for method, path in routes:
        if method == "GET":
            assert client.get(path).status_code == 200, path
