"""Issuing tokens: claims for a user, signed with the project's key.

A `ProjectIssuer` is a project made ready to sign: its rules checked, its key decrypted and
loaded, its claim template built. That work is done once per stored version of a project
(see `token_reads`), not once per token."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from webapp.models import Project, User
from webapp.rules.claims import ClaimTemplate, TokenSettings, claim_template
from webapp.rules.encryption import SecretUnreadable
from webapp.rules.problems import InvalidProject
from webapp.rules.signing import Signer, UnusableKey
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


@dataclass(frozen=True)
class ProjectIssuer:
    template: ClaimTemplate
    signer: Signer

    def issue(
        self, user_id: str, locale: str, *, nbf_leeway: int, now: int | None = None
    ) -> IssuedToken:
        now = int(time.time()) if now is None else now
        claims = self.template.claims(user_id, locale, now=now, nbf_leeway=nbf_leeway)
        return IssuedToken(token=self.signer.sign(claims), claims=claims)


def project_issuer(
    slug: str, settings: TokenSettings, clear_key: Callable[[], str]
) -> ProjectIssuer:
    """The project ready to sign, or ProjectCannotSign saying why (for the log)."""
    try:
        template = claim_template(settings)
        signer = Signer(clear_key(), settings.algorithm)
    except InvalidProject as error:
        reason = " ".join(describe(problem) for problem in error.problems)
        raise ProjectCannotSign(f"project {slug!r} cannot sign: {reason}") from error
    except UnusableKey as error:
        reason = describe(error.problem)
        raise ProjectCannotSign(f"project {slug!r} cannot sign: {reason}") from error
    except SecretUnreadable as error:
        raise ProjectCannotSign(f"project {slug!r} cannot sign: {error}") from error
    return ProjectIssuer(template, signer)


def issue_token(
    project: Project, user: User, *, nbf_leeway: int, now: int | None = None
) -> IssuedToken:
    """One token from a project as it is now (the admin's test token, the inspector)."""
    issuer = project_issuer(project.slug, project, project.decrypt_signing_key)
    return issuer.issue(user.public_id, user.locale, nbf_leeway=nbf_leeway, now=now)
