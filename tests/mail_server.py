"""A real SMTP server (aiosmtpd) on a free loopback port, in the test process, with plain
SMTP, STARTTLS or implicit TLS (with a certificate from tests/certificates.py)."""

import email
import email.policy
import gc
import logging
import queue
import re
import warnings
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from servers import free_port

WAIT_FOR_MAIL_SECONDS = 15
# aiosmtpd narrates every connection at INFO; the suite's output has no use for it.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass
class Inbox:
    """Every message the server received, in order."""

    received: queue.Queue = field(default_factory=queue.Queue)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802  (aiosmtpd's name)
        self.received.put(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def next_message(self) -> EmailMessage:
        """Wait (boundedly) for the next message; the app sends after it answers."""
        return self.received.get(timeout=WAIT_FOR_MAIL_SECONDS)

    def is_empty(self) -> bool:
        return self.received.empty()


def start_server(inbox: Inbox, **tls) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **tls)
    controller.start()
    return controller


def stop_server(controller: Controller) -> None:
    """Stop the server, and collect the connections aiosmtpd's stopped loop leaves unclosed
    (its own start-up probe among them) here, rather than warn in a later test."""
    controller.stop()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def text_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def reset_link(message: EmailMessage) -> str:
    match = re.search(r"\S+/reset-password/\S+", text_part(message))
    assert match, text_part(message)
    return match.group(0)
