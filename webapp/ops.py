"""What ops and load balancers read: liveness and health."""

from flask import Blueprint, current_app
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import db

bp = Blueprint("ops", __name__)

NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/ping")
def ping() -> ResponseReturnValue:
    """The vendor template's health check."""
    return "1", 200, {"Content-Type": "text/plain; charset=utf-8", **NO_STORE}


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        current_app.logger.warning("health check: database unreachable: %s", error)
        return {"status": "unavailable", "failing": "database"}, 503, NO_STORE
    return {"status": "ok"}, 200, NO_STORE
