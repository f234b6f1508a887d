"""Outgoing mail over SMTP (plain, STARTTLS or SSL), sent off the request thread.

Sending after the answer keeps "Forgot your password?" as quick for an unknown address as for
a known one, and a slow or broken mail server never holds up a page.
"""

import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from logging import Logger
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


def deliver_logging_failures(
    settings: SmtpSettings, message: EmailMessage, context: ssl.SSLContext, logger: Logger
) -> None:
    try:
        deliver(settings, message, context)
    except (smtplib.SMTPException, OSError) as error:
        # The recipient is not logged: the log must not say who has an account.
        logger.error("mail %r could not be sent: %r", message["Subject"], error)


def readable(message: EmailMessage) -> str:
    """Headers and the plain-text part as a person reads them (no quoted-printable)."""
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    headers = "".join(f"{name}: {message[name]}\n" for name in ("From", "To", "Subject"))
    return f"{headers}\n{text}"


def send_later(message: EmailMessage) -> None:
    """Send in a background thread; without MAIL_SERVER (development only: production
    offers no mail then), write the whole message to the log instead."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not mail_configured():
        app.logger.warning(
            "MAIL_SERVER is not set, so this mail is logged, not sent:\n%s", readable(message)
        )
        return
    # Made per message, so the system's CAs (and SSL_CERT_FILE) are read as they are now.
    context = ssl.create_default_context()
    thread = threading.Thread(
        target=deliver_logging_failures,
        args=(SmtpSettings.from_config(app.config), message, context, app.logger),
        name="send-mail",
    )
    thread.start()
