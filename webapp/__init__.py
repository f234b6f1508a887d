"""The Digital Person token issuer. The WSGI entry point is `webapp:create_app()`."""

from collections.abc import Mapping
from typing import Any

from flask import Flask

from webapp.config import load_config
from webapp.paths import bundled


def create_app(
    test_config: Mapping[str, Any] | None = None, *, instance_path: str | None = None
) -> Flask:
    """Build the application. This function only wires things; each step is one call."""
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=bundled("templates"),
    )
    load_config(app, test_config)
    register_observability(app)
    keep_json_order(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_token_fast_path(app)
    register_proxy_fix(app)  # last: outermost, so every layer sees the client's address
    return app


def keep_json_order(app: Flask) -> None:
    """Claims are answered and shown in the order tokens carry them, not sorted."""
    # The default provider has `sort_keys`; the JSONProvider type it is declared as does not.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # Pages show JSON as written: "Zoë", not "Zo\u00eb" (tojson still escapes <, >, & and ').
    app.jinja_env.policies["json.dumps_kwargs"] = {"sort_keys": False, "ensure_ascii": False}


def register_observability(app: Flask) -> None:
    """Logging, request ids and metrics come first, so every later part logs through them."""
    from webapp import observability

    observability.init_app(app)


def register_token_fast_path(app: Flask) -> None:
    from webapp.api import fast_path

    fast_path.init_app(app)


def register_proxy_fix(app: Flask) -> None:
    from webapp.protection import proxies

    proxies.init_app(app)


def register_extensions(app: Flask) -> None:
    from webapp import login, models  # noqa: F401  (Alembic)
    from webapp.extensions import csrf, db, migrate
    from webapp.protection import input_guard, private_files, rate_limits, security
    from webapp.secret_box import secret_box
    from webapp.services import provider_keys, usage

    security.init_app(app)  # first: its size check runs before any hook reads a body
    input_guard.init_app(app)  # then what no field may hold, before CSRF reads the form
    db.init_app(app)
    private_files.init_app(app)
    migrate.init_app(
        app, db, directory=bundled("migrations"), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)
    secret_box.init_app(app)
    login.init_app(app)
    rate_limits.init_app(app)
    usage.init_app(app)
    provider_keys.init_app(app)


def register_blueprints(app: Flask) -> None:
    from webapp import admin, api, auth, main, ops, setup
    from webapp.api import bearer

    for blueprint in (main.bp, auth.bp, api.bp, admin.bp, setup.bp, ops.bp):
        app.register_blueprint(blueprint)
    bearer.init_app(app)  # the bearer lane's own counter
    auth.sso.init_app(app)  # single sign-on, when configured


def register_errorhandlers(app: Flask) -> None:
    from webapp import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from webapp import cli
    from webapp.extensions import db
    from webapp.models import AuditEvent, Project, User

    cli.init_app(app)
    app.shell_context_processor(
        lambda: {"db": db, "User": User, "Project": Project, "AuditEvent": AuditEvent}
    )
