"""The admin UI: project configurations, users, the audit trail, and token tools."""

from webapp.admin import (  # noqa: F401
    audit_log,
    dashboard,
    inspector,
    integration,
    projects,
    usage,
    users,
)
from webapp.admin.blueprint import bp

__all__ = ["bp"]
