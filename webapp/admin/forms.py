"""Admin forms. Field formats are parsed here; SPEC.md's rules are checked by
`webapp.rules.claims.project_problems`, the same function the token endpoint uses."""

import json
from types import SimpleNamespace
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
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from webapp.extensions import db
from webapp.models import Project
from webapp.rules.claims import ENVIRONMENTS, project_problems
from webapp.rules.encryption import SecretUnreadable
from webapp.rules.signing import ALGORITHMS, key_problems

SLUG = r"[a-z0-9]+(-[a-z0-9]+)*"
SLUG_TAKEN = "Another project already has this slug."


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


class ClaimsField(TextInputField):
    """One `name = value` per line, or a JSON object."""

    def parse(self, text: str) -> dict[str, Any]:
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


class SecretField(TextAreaField):
    """Write-only: a key is never sent back to the browser."""

    def _value(self) -> str:
        return ""


class ProjectForm(FlaskForm):
    name = StringField("Name", [DataRequired(), Length(max=120)])
    slug = StringField(
        "Slug",
        [
            DataRequired(),
            Length(max=64),
            Regexp(
                SLUG,
                message="Use lower-case letters, digits and single hyphens, e.g. shop-assistant.",
            ),
        ],
        description="Part of the token URL: /auth/authorize?project=<slug>.",
    )
    session_server = StringField(
        "Session server",
        [DataRequired()],
        filters=[session_server_host],
        description="The Digital Person server from the Soul Machines console: a host or a URL.",
    )
    orchestration_url = StringField(
        "Orchestration URL",
        [Optional()],
        filters=[strip_or_none],
        description="Optional: wss://host:port of your orchestration server.",
    )
    issuer = StringField(
        "Issuer",
        [DataRequired(), Length(max=255)],
        filters=[strip_or_none],
        description="The key name Soul Machines assigned, e.g. sm-abcdef123456789.",
    )
    signing_key = SecretField("Signing key")
    algorithm = SelectField("Algorithm", choices=ALGORITHMS, default="HS256")
    token_lifetime = IntegerField(
        "Token lifetime (seconds)",
        [InputRequired(message="Enter a number of seconds.")],
        default=1800,
        description="60 to 86,400; the vendor's template uses 1,800.",
    )
    environment = SelectField("Environment", choices=ENVIRONMENTS, default="production")
    control_via_browser = BooleanField("Control via browser")
    control_cookie_header = StringField(
        "Control cookie header",
        filters=[strip_or_none],
        description="Optional: sent as the Cookie header to the orchestration server.",
    )
    allowed_origins = OriginsField(
        "Allowed origins",
        default=list,
        description="Sites that may fetch tokens in a browser: one scheme://host[:port] a line.",
    )
    custom_claims = ClaimsField(
        "Custom claims", default=dict, description="One name = value per line, or a JSON object."
    )
    is_default = BooleanField("Default project")
    enabled = BooleanField("Enabled", default=True)
    version = HiddenField()
    submit = SubmitField("Save project")

    def __init__(self, *args, project: Project | None = None, **kwargs):
        super().__init__(*args, obj=project, **kwargs)
        self.project = project
        self.key_warnings: list[str] = []
        if project is None:
            self.signing_key.validators = [DataRequired(message="Enter the signing key.")]
        else:
            self.signing_key.description = (
                f"Current key: {project.signing_key_fingerprint}. Leave empty to keep it."
            )

    @property
    def has_field_errors(self) -> bool:
        return any(field.errors for field in self)

    def opened_version(self) -> int | None:
        """The version the admin opened: only what the browser sent back counts."""
        sent = (self.version.raw_data or [""])[0]
        return int(sent) if sent.isdigit() else None

    def values(self) -> dict[str, Any]:
        """The project's settings from the form: an allow-list, never every posted field."""
        return {field: self[field].data for field in Project.SETTINGS}

    def validate_slug(self, field: StringField) -> None:
        if field.data == "new":
            raise ValidationError(
                "“new” is taken by the page that creates projects; choose another."
            )
        taken = db.session.scalar(db.select(Project.id).filter_by(slug=field.data))
        if taken is not None and (self.project is None or taken != self.project.id):
            raise ValidationError(SLUG_TAKEN)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field, messages in project_problems(SimpleNamespace(**self.values())).items():
            if not self[field].errors:  # one explanation per field is enough
                self[field].errors = [*self[field].errors, *messages]
                valid = False
        return self.check_key() and valid

    def check_key(self) -> bool:
        key = self.signing_key.data
        if not key and self.project is not None:
            try:
                key = self.project.decrypt_signing_key()
            except SecretUnreadable:
                self.signing_key.errors = ["The stored key cannot be decrypted: enter it again."]
                return False
        if not key:
            return False
        errors, self.key_warnings = key_problems(key, self.algorithm.data)
        if errors:
            self.signing_key.errors = [*self.signing_key.errors, *errors]
        return not errors


class InspectForm(FlaskForm):
    token = TextAreaField(
        "Token", [DataRequired(message="Paste a token.")], filters=[strip_or_none]
    )
    project = SelectField("Check the signature against", choices=[], validate_choice=False)
    submit = SubmitField("Inspect")
