"""The integration page of a project, and the origin warnings beside the project form."""

import base64
import html
import json
import re

import pytest
from helpers import PASSWORD, Forms, csrf_token_from


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_page_fills_in_the_project(client, make_project, signed_in_admin):
    make_project("shop", allowed_origins=["http://127.0.0.1:3000"])
    response = client.get("/admin/projects/shop/integration")
    assert response.status_code == 200
    text = page_text(response)
    # The development default of PUBLIC_URL
    token_url = "http://127.0.0.1:5000/auth/authorize/shop"
    assert f'<pre id="token-url" tabindex="0">{token_url}</pre>' in text
    assert f'fetch("{token_url}", {{ credentials: "include" }})' in text
    [key] = re.findall(r'apiKey: "([A-Za-z0-9+/=]+)"', text)
    assert json.loads(base64.b64decode(key)) == {"authServer": token_url}
    assert "public-url-missing" not in text
    assert 'data-origin="http://127.0.0.1:3000"' in text and "Same site as the issuer" in text


def test_the_token_url_comes_from_public_url(make_app, make_project, make_user):
    app = make_app(PUBLIC_URL="https://tokens.example.com/")
    make_project("shop", allowed_origins=["https://www.example.com", "https://shop.other.com"])
    admin = make_user("admin@example.com", is_admin=True)
    client = app.test_client()
    Forms(client).post("/login", {"email": admin.email, "password": PASSWORD})
    text = page_text(client.get("/admin/projects/shop/integration"))
    assert "https://tokens.example.com/auth/authorize/shop" in text
    assert re.search(
        r'data-origin="https://www.example.com">\s*<span class="badge level-ok">', text
    )
    assert re.search(
        r'data-origin="https://shop.other.com">\s*<span class="badge level-error">', text
    )
    assert "FLASK_SESSION_COOKIE_SAMESITE=None" in text


def test_production_without_public_url_says_so_and_shows_the_request_url(
    make_app, make_project, make_user
):
    app = make_app(DEPLOYMENT="production", SESSION_COOKIE_SECURE=False)
    assert app.config["PUBLIC_URL"] is None
    make_project("shop")
    admin = make_user("admin@example.com", is_admin=True)
    client = app.test_client()
    internal = "http://internal:8000"  # what the app sees behind a proxy
    token = csrf_token_from(client.get("/login", base_url=internal).get_data(as_text=True))
    signed_in = {"csrf_token": token, "email": admin.email, "password": PASSWORD}
    assert client.post("/login", data=signed_in, base_url=internal).status_code == 302
    text = page_text(client.get("/admin/projects/shop/integration", base_url=internal))
    assert "PUBLIC_URL is not set" in text
    assert '<pre id="token-url" tabindex="0">http://internal:8000/auth/authorize/shop</pre>' in text


def test_unknown_project_is_404(client, signed_in_admin):
    assert client.get("/admin/projects/nope/integration").status_code == 404


@pytest.mark.parametrize("who", ["anonymous", "end user"])
def test_only_admins_see_it(client, make_project, login, make_user, who):
    make_project("shop")
    if who == "end user":
        login(make_user("someone@example.com"))
    response = client.get("/admin/projects/shop/integration")
    assert response.status_code in (302, 403)
    assert "Token URL" not in response.get_data(as_text=True)


def test_the_form_shows_the_warnings_beside_allowed_origins_after_saving(
    client, forms, make_project, signed_in_admin
):
    from test_admin_projects import edit_data

    project = make_project("shop", allowed_origins=[])
    text = page_text(client.get("/admin/projects/shop"))
    assert "origin-warnings" not in text
    assert "/admin/projects/shop/integration" in text

    origins = "http://127.0.0.1:7000\nhttps://shop.example.com\nhttp://www.example.org"
    response = forms.post(
        "/admin/projects/shop", edit_data(project, allowed_origins=origins), follow_redirects=True
    )
    text = page_text(response)
    warnings = text[text.index('id="origin-warnings"') :]
    assert 'data-origin="https://shop.example.com"' in warnings
    assert 'data-origin="http://www.example.org"' in warnings
    assert "Plain http://" in warnings
    assert 'data-origin="http://127.0.0.1:7000"' not in warnings  # same site: fine
    # beside the field: between Allowed origins and Custom claims
    assert text.index('id="allowed_origins"') < text.index('id="origin-warnings"')
    assert text.index('id="origin-warnings"') < text.index('id="custom_claims"')


def test_the_preview_links_to_the_page(client, make_project, signed_in_admin):
    make_project("shop")
    assert "/admin/projects/shop/integration" in page_text(
        client.get("/admin/projects/shop/preview")
    )


def test_the_bearer_snippet_comes_first_when_the_project_trusts_a_provider(
    client, make_project, signed_in_admin
):
    make_project("plain")
    make_project("shop", oidc_issuer="https://idp.example.com", oidc_audiences=["shop-web"])
    token_url = "http://127.0.0.1:5000/auth/authorize/shop"
    text = page_text(client.get("/admin/projects/shop/integration"))
    assert "Authorization: `Bearer ${idToken}`" in text
    assert f'fetch("{token_url}", {{\n  headers:' in text
    assert "https://idp.example.com" in text and "shop-web" in text
    assert text.index('id="snippet-bearer"') < text.index('id="snippet-documented"')
    # Without a provider, it comes last and says how to get one.
    text = page_text(client.get("/admin/projects/plain/integration"))
    assert text.index('id="snippet-api-key"') < text.index('id="snippet-bearer"')
    assert "Add the website's OpenID Connect provider" in text


def test_will_not_work_origins_point_to_the_bearer_flow(client, make_project, signed_in_admin):
    make_project("shop", allowed_origins=["https://shop.other.com"])
    text = page_text(client.get("/admin/projects/shop/integration"))
    # The test app's issuer is on loopback: another site's verdict is the production forecast
    # ("later"), which points to the bearer flow as an error does.
    assert re.search(r'level-later">.*?<a href="#bearer-flow">', text, re.DOTALL)
    form = page_text(client.get("/admin/projects/shop"))
    assert '<a href="/admin/projects/shop/integration#bearer-flow">' in form
