"""Issuing one token: claims for a user, signed with the project's key."""

import time
from dataclasses import dataclass
from typing import Any

from webapp.models import Project, User
from webapp.rules.claims import build_claims
from webapp.rules.encryption import SecretUnreadable
from webapp.rules.problems import InvalidProject
from webapp.rules.signing import UnusableKey, sign
from webapp.rules.wording import describe


class ProjectCannotSign(Exception):
    """The project cannot issue a token now; the message is for the log, not the visitor."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    claims: dict[str, Any]

    @property
    def expires_at(self) -> int:
        return self.claims["exp"]


def issue_token(
    project: Project, user: User, *, nbf_leeway: int, now: int | None = None
) -> IssuedToken:
    try:
        claims = build_claims(
            project,
            user.public_id,
            user.locale,
            now=int(time.time()) if now is None else now,
            nbf_leeway=nbf_leeway,
        )
        token = sign(claims, project.decrypt_signing_key(), project.algorithm)
    except InvalidProject as error:
        reason = " ".join(describe(problem) for problem in error.problems)
        raise ProjectCannotSign(f"project {project.slug!r} cannot sign: {reason}") from error
    except UnusableKey as error:
        reason = describe(error.problem)
        raise ProjectCannotSign(f"project {project.slug!r} cannot sign: {reason}") from error
    except SecretUnreadable as error:
        raise ProjectCannotSign(f"project {project.slug!r} cannot sign: {error}") from error
    return IssuedToken(token=token, claims=claims)
