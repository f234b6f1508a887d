"""First run: a one-time code from the console makes the first admin, then /setup is gone."""

from helpers import PASSWORD, Forms, setup_link

from webapp.models import User


def test_without_the_code_setup_is_404(client):
    assert client.get("/setup").status_code == 404
    assert client.get("/setup?code=guess").status_code == 404


def test_the_code_makes_the_first_admin_once(app, client):
    link = setup_link(app)
    page = client.get(link)
    assert page.status_code == 200
    response = Forms(client).post(
        link, {"email": "Boss@Example.com", "password": PASSWORD, "locale": "en_gb"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200  # signed in as the new admin
    with app.app_context():
        admin = User.by_email("boss@example.com")
        assert admin.is_admin and admin.locale == "en-GB"
    assert client.get(link).status_code == 404  # used up, and an admin exists


def test_a_new_link_replaces_the_old_one(app, client):
    old = setup_link(app)
    new = setup_link(app)
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_no_link_once_an_admin_exists(app, admin):
    result = app.test_cli_runner().invoke(args=["setup-link"])
    assert result.exit_code == 0 and result.output == ""


def test_bad_input_keeps_the_code(app, client):
    link = setup_link(app)
    response = Forms(client).post(link, {"email": "boss@example.com", "password": "short"})
    assert response.status_code == 200
    assert "Use at least 12 characters" in response.get_data(as_text=True)
    assert client.get(link).status_code == 200
