"""The database models; import them from here."""

from webapp.models.audit import AuditAction, AuditEvent
from webapp.models.project import Project
from webapp.models.user import User

__all__ = ["AuditAction", "AuditEvent", "Project", "User"]
