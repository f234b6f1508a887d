def test_welcome_for_visitors(client):
    page = client.get("/").get_data(as_text=True)
    assert "Sign in" in page and "Create an account" in page


def test_signed_in_user_sees_enabled_projects(client, make_project, signed_in_user):
    make_project("shop", name="Shop assistant")
    make_project("hidden", name="Hidden one", enabled=False)
    page = client.get("/").get_data(as_text=True)
    assert "Shop assistant" in page
    assert "Hidden one" not in page
    assert signed_in_user.email in page  # the navigation shows who is signed in


def test_token_page_uses_a_static_script(client, make_project, signed_in_user):
    make_project("shop")
    page = client.get("/projects/shop/token").get_data(as_text=True)
    assert 'data-endpoint="/auth/authorize?project=shop"' in page
    assert '<script src="/static/token.js" defer></script>' in page
    assert "<script>" not in page
    with client.get("/static/token.js") as script:  # a file response: close it
        assert script.status_code == 200


def test_token_page_of_a_disabled_project_is_404(client, make_project, signed_in_user):
    make_project("shop", enabled=False)
    response = client.get("/projects/shop/token")
    assert response.status_code == 404
    assert "404" in response.get_data(as_text=True)


def test_unknown_page_is_an_html_404_without_traceback(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)
    assert response.mimetype == "text/html"


def test_an_unexpected_error_is_a_plain_500_page(make_app):
    app = make_app(TESTING=False)  # as in production: errors are handled, not raised

    @app.get("/boom")
    def boom():
        raise RuntimeError("a secret detail")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Internal Server Error" in page
    assert "a secret detail" not in page and "Traceback" not in page
