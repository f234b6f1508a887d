"""Usage figures for admins: counts per hour, added to by every worker of every instance
(webapp/services/usage.py writes them; webapp/observability/usage.py counts them first)."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.types import UTCDateTime


class TokenUsage(db.Model):  # type: ignore[name-defined]  # made at run time by Flask-SQLAlchemy
    """Tokens of one project in one hour: `outcome` is `issued` or the refusal's reason."""

    __tablename__ = "token_usage"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    outcome: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class SignInUsage(db.Model):  # type: ignore[name-defined]
    """Sign-in attempts in one hour by outcome (`success`, `wrong_password`, …)."""

    __tablename__ = "sign_in_usage"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
