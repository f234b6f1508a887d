"""A project's trusted identity provider: the same rules for the admin form, an imported file
and `projects check`, through the one write gate, audited; the provider's discovery and keys
are fetched when it is saved."""

import json
import socket
import uuid

import pytest
from helpers import HS256_KEY
from identity_provider import Client

from webapp.extensions import db
from webapp.models import AuditEvent, Project
from webapp.rules.bearer_tokens import user_id_for
from webapp.rules.identity_providers import fetchable_url

SHOP = {
    "name": "Shop",
    "slug": "shop",
    "session_server": "dh.soulmachines.cloud",
    "issuer": "sm-abcdef123456789",
    "signing_key": HS256_KEY,
}


@pytest.fixture
def provider(make_identity_provider):
    return make_identity_provider([Client("shop")])


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_import(runner, *projects: dict):
    document = json.dumps({"format": 1, "projects": list(projects)})
    return runner.invoke(args=["projects", "import", "-"], input=document)


def stored(app, slug: str = "shop") -> Project | None:
    with app.app_context():
        project = db.session.scalar(db.select(Project).filter_by(slug=slug))
        if project is not None:
            db.session.expunge(project)
        return project


@pytest.mark.parametrize(
    ("url", "fetchable"),
    [
        ("https://example.eu.auth0.com/", True),
        ("https://login.microsoftonline.com/tenant/v2.0", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:8080/realms/shop", True),
        ("http://example.com", False),  # plain http leaves this machine
        ("https://user@example.com", False),
        ("https://example.com/#x", False),
        ("ftp://example.com", False),
        ("https://EXAMPLE.com", False),  # an issuer is compared exactly: write it as issued
        ("https://exa mple.com", False),
        (42, False),
    ],
)
def test_issuer_urls(url, fetchable):
    assert fetchable_url(url) is fetchable


def test_derived_user_ids_are_stable_uuids_per_provider():
    first = user_id_for("https://a.example", "123")
    assert first == user_id_for("https://a.example", "123")
    assert first != user_id_for("https://b.example", "123")
    assert uuid.UUID(first).version == 8


def test_the_admin_form_saves_a_reachable_provider_and_audits_it(
    app, client, forms, signed_in_admin, make_project, provider
):
    make_project("shop")
    page = "/admin/projects/shop"
    with app.app_context():
        version = stored(app).version
    data = {
        "name": "Shop",
        "slug": "shop",
        "session_server": "dh.soulmachines.cloud",
        "issuer": "sm-abcdef123456789",
        "algorithm": "HS256",
        "token_lifetime": "1800",
        "environment": "production",
        "enabled": "y",
        "version": str(version),
        "oidc_issuer": provider.issuer,
        "oidc_audiences": "shop\nshop-app",
        "oidc_locale_claim": "locale",
        "oidc_required_claim": "groups",
        "oidc_required_value": "customers",
        "oidc_max_age": "900",
        "oidc_leeway": "30",
    }
    response = forms.post(page, data)
    assert response.status_code == 302, response.get_data(as_text=True)
    project = stored(app)
    assert project.oidc_issuer == provider.issuer
    assert project.oidc_audiences == ["shop", "shop-app"]
    assert (project.oidc_max_age, project.oidc_leeway) == (900, 30)
    with app.app_context():
        event = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event.changes["oidc_issuer"] == {"before": None, "after": provider.issuer}
        assert event.changes["oidc_required_value"]["after"] == "customers"
    # The page shows it back.
    html = client.get(page).get_data(as_text=True)
    assert provider.issuer in html and "shop-app" in html


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"oidc_issuer": "http://idp.example.com"}, "http:// only for a provider on this machine"),
        ({"oidc_audiences": []}, "Enter at least one audience"),
        ({"oidc_required_claim": "groups"}, "Enter both a required claim and its value"),
        ({"oidc_max_age": 10}, "Choose between 60 and 604,800 seconds."),
        ({"oidc_leeway": 301}, "Choose between 0 and 300 seconds."),
        ({"oidc_locale_claim": "a b"}, "Enter a claim name"),
    ],
)
def test_every_writer_refuses_bad_provider_settings(app, runner, provider, values, words):
    entry = {**SHOP, "oidc_issuer": provider.issuer, "oidc_audiences": ["shop"], **values}
    result = run_import(runner, entry)
    assert result.exit_code == 1
    assert words in result.output
    assert stored(app) is None


def test_a_provider_that_cannot_be_fetched_is_refused_when_saved(app, runner):
    issuer = f"http://127.0.0.1:{closed_port()}"
    result = run_import(runner, {**SHOP, "oidc_issuer": issuer, "oidc_audiences": ["shop"]})
    assert result.exit_code == 1
    assert "shop: oidc_issuer: The provider's discovery document or keys cannot be fetched" in (
        result.output
    )
    assert stored(app) is None


def test_an_issuer_must_be_written_as_its_discovery_names_it(app, runner, provider):
    spelled_otherwise = provider.issuer.replace("127.0.0.1", "localhost")
    entry = {**SHOP, "oidc_issuer": spelled_otherwise, "oidc_audiences": ["shop"]}
    result = run_import(runner, entry)
    assert result.exit_code == 1
    assert f"names the issuer “{provider.issuer}”: enter exactly that" in result.output


def test_import_and_export_carry_the_provider(app, runner, provider):
    entry = {**SHOP, "oidc_issuer": provider.issuer, "oidc_audiences": ["shop"]}
    assert run_import(runner, entry).exit_code == 0
    exported = json.loads(runner.invoke(args=["projects", "export"]).stdout)
    assert exported["projects"][0]["oidc_issuer"] == provider.issuer
    assert exported["projects"][0]["oidc_audiences"] == ["shop"]
    # An unchanged file changes nothing, and the provider is not asked again.
    provider.stop()
    again = run_import(runner, exported["projects"][0])
    assert again.exit_code == 0, again.output
    assert "unchanged" in again.output


def test_projects_check_asks_each_provider_again(app, runner, make_project, provider):
    make_project("shop", oidc_issuer=provider.issuer, oidc_audiences=["shop"])
    assert runner.invoke(args=["projects", "check"]).exit_code == 0
    provider.stop()
    result = runner.invoke(args=["projects", "check"])
    assert result.exit_code == 1
    assert "shop: oidc_issuer: The provider's discovery document or keys cannot be fetched" in (
        result.stdout
    )
