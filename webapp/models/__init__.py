"""The database models; import them from here."""

from webapp.models.audit import AuditAction, AuditEvent
from webapp.models.project import Project
from webapp.models.usage import SignInUsage, TokenUsage
from webapp.models.user import RecoveryCode, User

__all__ = [
    "AuditAction",
    "AuditEvent",
    "Project",
    "RecoveryCode",
    "SignInUsage",
    "TokenUsage",
    "User",
]
