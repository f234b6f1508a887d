def test_ping(client):
    response = client.get("/ping")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "1"


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def unreachable_database_url(tmp_path) -> str:
    from helpers import using_postgresql

    if using_postgresql():
        return "postgresql+psycopg://postgres@127.0.0.1:1/gone"  # nothing listens on port 1
    return f"sqlite:///{tmp_path / 'missing-folder' / 'gone.sqlite3'}"


def test_healthz_names_the_database_when_it_is_gone(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=unreachable_database_url(tmp_path))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "failing": "database"}
