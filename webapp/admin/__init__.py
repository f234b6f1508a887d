"""The admin UI: project configurations, users, the audit trail, and token tools."""

from webapp.admin import audit_log, dashboard, inspector, integration, projects, users  # noqa: F401
from webapp.admin.blueprint import bp

__all__ = ["bp"]
