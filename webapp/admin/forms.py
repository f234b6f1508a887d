"""Admin forms. They parse what was typed into values; every rule about those values is the
services' (`webapp.services.projects.check_project`), and the forms only word its problems."""

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired

from webapp.models import Project
from webapp.rules.claims import ENVIRONMENTS, MAX_CLAIM_DEPTH, json_nesting
from webapp.rules.problems import Problem
from webapp.rules.signing import ALGORITHMS
from webapp.rules.wording import describe
from webapp.services.projects import check_project


def strip_or_none(value: str | None) -> str | None:
    return value.strip() or None if value else None


def session_server_host(value: str | None) -> str | None:
    """The vendor's console shows a host or a URL; the token carries the host."""
    value = (value or "").strip()
    if "://" in value:
        try:
            parts = urlsplit(value)
        except ValueError:
            return value  # the rules explain what is wanted
        if parts.scheme in ("wss", "https") and parts.hostname:
            return parts.netloc.lower()
    return value.lower()


def parse_claim_value(text: str) -> Any:
    """`tier = 2` is a number, `vip = true` a boolean, `name = Ana` and `x = NaN` strings."""
    try:
        return json.loads(text, parse_constant=refuse_constant)
    except ValueError:
        return text


def refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON value")


def show_claim_value(value: Any) -> str:
    if isinstance(value, str) and parse_claim_value(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


class TextInputField(TextAreaField):
    """A textarea holding structured data: shows what was typed when parsing failed."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return self.show(self.data) if self.data else ""

    def show(self, data: Any) -> str:
        raise NotImplementedError

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist:
            self.data = self.parse(valuelist[0])

    def parse(self, text: str) -> Any:
        raise NotImplementedError


class OriginsField(TextInputField):
    def parse(self, text: str) -> list[str]:
        return [line.strip().rstrip("/").lower() for line in text.splitlines() if line.strip()]

    def show(self, data: list[str]) -> str:
        return "\n".join(data)


class LinesField(TextInputField):
    def parse(self, text: str) -> list[str]:
        return [line.strip() for line in text.splitlines() if line.strip()]

    def show(self, data: list[str]) -> str:
        return "\n".join(data)


class ClaimsField(TextInputField):
    """One `name = value` per line, or a JSON object."""

    def parse(self, text: str) -> dict[str, Any]:
        if json_nesting(text) > MAX_CLAIM_DEPTH + 1:
            # Refused before parsing: a JSON parser recurses, and deep enough input breaks it.
            nesting = Problem("custom_claims", "nesting", {"deepest": MAX_CLAIM_DEPTH})
            raise ValueError(describe(nesting))
        if text.strip().startswith("{"):
            try:
                claims = json.loads(text)
            except json.JSONDecodeError as error:
                message = f"This is not valid JSON: {error.msg} (line {error.lineno})."
                raise ValueError(message) from None
            if not isinstance(claims, dict):
                raise ValueError("Write a JSON object, or one name = value per line.")
            return claims
        claims = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            name, equals, value = line.partition("=")
            if not equals:
                raise ValueError(f"Line {number}: write name = value.")
            claims[name.strip()] = parse_claim_value(value.strip())
        return claims

    def show(self, data: dict[str, Any]) -> str:
        return "\n".join(f"{name} = {show_claim_value(value)}" for name, value in data.items())


def blank_to_none(value: str | None) -> str | None:
    """Blank space in the key field means no new key, as an empty field does. A key itself
    is kept exactly as pasted: a secret's spaces may be part of it."""
    return value if value and value.strip() else None


class SecretField(TextAreaField):
    """Write-only: a key is never sent back to the browser."""

    def _value(self) -> str:
        return ""


class ProjectForm(FlaskForm):
    name = StringField("Name", filters=[strip_or_none])
    slug = StringField(
        "Slug",
        filters=[strip_or_none],
        description="Part of the token URL: /auth/authorize?project=<slug>.",
    )
    session_server = StringField(
        "Session server",
        filters=[session_server_host],
        description="The Digital Person server from the Soul Machines console: a host or a URL.",
    )
    orchestration_url = StringField(
        "Orchestration URL",
        filters=[strip_or_none],
        description="Optional: wss://host:port of your orchestration server.",
    )
    issuer = StringField(
        "Issuer",
        filters=[strip_or_none],
        description="The key name Soul Machines assigned, e.g. sm-abcdef123456789.",
    )
    signing_key = SecretField("Signing key", filters=[blank_to_none])
    algorithm = SelectField(
        "Algorithm",
        choices=ALGORITHMS,  # type: ignore[arg-type]  # plain values; the stubs predate WTForms 3.2
        default="HS256",
    )
    token_lifetime = IntegerField(
        "Token lifetime (seconds)",
        [InputRequired(message="Enter a number of seconds.")],
        default=1800,
        description="60 to 86,400; the vendor's template uses 1,800.",
    )
    environment = SelectField(
        "Environment",
        choices=ENVIRONMENTS,  # type: ignore[arg-type]  # plain values; the stubs predate WTForms 3.2
        default="development",  # a new project is tried out before it goes live
    )
    control_via_browser = BooleanField("Control via browser")
    control_cookie_header = StringField(
        "Control cookie header",
        filters=[strip_or_none],
        description="Optional: sent as the Cookie header to the orchestration server.",
    )
    allowed_origins = OriginsField(
        "Allowed origins",
        default=list,  # type: ignore[arg-type]  # the field holds a list, not text
        description="Sites that may fetch tokens in a browser: one scheme://host[:port] a line.",
    )
    custom_claims = ClaimsField(
        "Custom claims",
        default=dict,  # type: ignore[arg-type]  # the field holds a mapping, not text
        description="One name = value per line, or a JSON object.",
    )
    is_default = BooleanField("Default project")
    enabled = BooleanField("Enabled", default=True)
    oidc_issuer = StringField(
        "Identity provider",
        filters=[strip_or_none],
        description="Optional: the issuer URL of the website's OpenID Connect provider, "
        "e.g. https://example.eu.auth0.com/. Its keys are fetched when you save.",
    )
    oidc_audiences = LinesField(
        "Audiences",
        default=list,  # type: ignore[arg-type]  # the field holds a list, not text
        description="One a line: the client ID or API identifier its tokens are issued for.",
    )
    oidc_locale_claim = StringField(
        "Locale claim",
        filters=[strip_or_none],
        default="locale",
        description="The claim holding the visitor's locale; else their browser's language.",
    )
    oidc_required_claim = StringField(
        "Required claim",
        filters=[strip_or_none],
        description="Optional: a claim every token must carry, e.g. groups or scope.",
    )
    oidc_required_value = StringField(
        "Required value", filters=[strip_or_none], description="The value it must hold."
    )
    oidc_max_age = IntegerField(
        "Maximum token age (seconds)",
        default=3600,
        description="Older tokens are refused, even when not expired.",
    )
    oidc_leeway = IntegerField(
        "Clock leeway (seconds)",
        default=60,
        description="Allowed clock difference for exp, nbf and iat: 0 to 300.",
    )
    version = HiddenField()
    submit = SubmitField("Save project")

    # Marked as required on the page (the rules themselves are the services'); a stored
    # project keeps its key when the field is left empty.
    REQUIRED = ("name", "slug", "session_server", "issuer", "token_lifetime")

    def __init__(self, *args: Any, project: Project | None = None, **kwargs: Any) -> None:
        super().__init__(*args, obj=project, **kwargs)
        self.project = project or Project()
        self.warnings: dict[str, list[str]] = {}
        for name in (*self.REQUIRED, *(() if project else ("signing_key",))):
            self[name].flags.required = True
        if project is not None:
            self.signing_key.description = (
                f"Current key: {project.signing_key_fingerprint}. Leave empty to keep it."
            )

    @property
    def has_field_errors(self) -> bool:
        return any(field.errors for field in self)

    def opened_version(self) -> int | None:
        """The version the admin opened: only what the browser sent back counts."""
        sent = (self.version.raw_data or [""])[0]
        # ASCII digits only: "²".isdigit() is true, and int() refuses it.
        return int(sent) if re.fullmatch(r"[0-9]{1,18}", sent) else None

    def values(self) -> dict[str, Any]:
        """The project's settings from the form: an allow-list, never every posted field."""
        return {field: self[field].data for field in Project.SETTINGS}

    def validate(self, extra_validators: Any = None) -> bool:
        """Parse the fields, then show every rule the values break beside its field."""
        parsed = super().validate(extra_validators)
        errors, warnings = check_project(
            self.project, self.values(), new_key=self.signing_key.data or None
        )
        self.show_problems(errors)
        # A warning (a short key) is shown on this submit too, even when another field fails.
        for warning in warnings:
            self.warnings.setdefault(warning.field, []).append(describe(warning))
        return parsed and not errors

    def show_problems(self, problems: Iterable[Problem]) -> None:
        """Each problem beside its field; a field that could not be parsed keeps only that
        explanation, since the rules judged an empty value."""
        unparsed = {name for name, field in self._fields.items() if field.errors}
        for problem in problems:
            field = self._fields.get(problem.field)
            if field is None:
                self.form_errors.append(describe(problem))
            elif problem.field not in unparsed:
                field.errors = [*field.errors, describe(problem)]


class InspectForm(FlaskForm):
    token = TextAreaField(
        "Token", [DataRequired(message="Paste a token.")], filters=[strip_or_none]
    )
    project = SelectField("Check the signature against", choices=[], validate_choice=False)
    submit = SubmitField("Inspect")
