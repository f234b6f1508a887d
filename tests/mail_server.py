"""A real SMTP server (aiosmtpd) on a free loopback port, in the test process, with plain
SMTP, STARTTLS or implicit TLS, and a self-signed certificate made on the spot."""

import datetime
import email
import email.policy
import gc
import ipaddress
import logging
import queue
import re
import socket
import warnings
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

WAIT_FOR_MAIL_SECONDS = 15
# aiosmtpd narrates every connection at INFO; the suite's output has no use for it.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA: (certificate, key) PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


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
