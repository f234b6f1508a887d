"""Outgoing mail over SMTP (plain, STARTTLS or SSL), sent off the request thread.

Sending after the answer keeps "Forgot your password?" as quick for an unknown address as for
a known one, and a slow or broken mail server never holds up a page.
"""

import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from flask import current_app


@dataclass(frozen=True)
class SmtpSettings:
    server: str
    port: int
    use_tls: bool
    use_ssl: bool
    username: str | None
    password: str | None
    timeout: float = 30.0

    @classmethod
    def from_config(cls, config: Any) -> "SmtpSettings":
        return cls(
            server=config["MAIL_SERVER"],
            port=config["MAIL_PORT"],
            use_tls=config["MAIL_USE_TLS"],
            use_ssl=config["MAIL_USE_SSL"],
            username=config["MAIL_USERNAME"],
            password=config["MAIL_PASSWORD"],
        )


def mail_configured() -> bool:
    return bool(current_app.config["MAIL_SERVER"])


def compose(to: str, subject: str, text: str, html: str) -> EmailMessage:
    """A plain-text message with an HTML alternative, from MAIL_DEFAULT_SENDER."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"] or "webapp@localhost"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def deliver(settings: SmtpSettings, message: EmailMessage, context: ssl.SSLContext) -> None:
    """Send one message now; raises smtplib.SMTPException or OSError when it cannot."""
    smtp_class = smtplib.SMTP_SSL if settings.use_ssl else smtplib.SMTP
    kwargs: dict[str, Any] = {"context": context} if settings.use_ssl else {}
    with smtp_class(settings.server, settings.port, timeout=settings.timeout, **kwargs) as smtp:
        if settings.use_tls:
            smtp.starttls(context=context)
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(message)


def readable(message: EmailMessage) -> str:
    """Headers and the plain-text part as a person reads them (no quoted-printable)."""
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    headers = "".join(f"{name}: {message[name]}\n" for name in ("From", "To", "Subject"))
    return f"{headers}\n{text}"


def send(message: EmailMessage) -> None:
    """Send now, logging a failure; without MAIL_SERVER (development only: production offers
    no mail then), write the whole message to the log instead."""
    if not mail_configured():
        current_app.logger.warning(
            "MAIL_SERVER is not set, so this mail is logged, not sent:\n%s", readable(message)
        )
        return
    # Made per message, so the system's CAs (and SSL_CERT_FILE) are read as they are now.
    context = ssl.create_default_context()
    try:
        deliver(SmtpSettings.from_config(current_app.config), message, context)
    except (smtplib.SMTPException, OSError) as error:
        # The recipient is not logged: the log must not say who has an account.
        current_app.logger.error("mail %r could not be sent: %r", message["Subject"], error)


def in_background(work: Callable[..., None], *args: Any) -> None:
    """Run `work(*args)` in the app's context on another thread, after which the request
    answers at once: whatever `work` looks up or sends takes none of the answer's time."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        with app.app_context():
            work(*args)

    threading.Thread(target=run, name="send-mail").start()
