"""Host names and addresses: one rule for the session server and the orchestration URL, and
what counts as this machine."""

import ipaddress
import re

# RFC 1123 host names, lower-case; the session server and the orchestration URL share the rule.
HOST_LABELS = re.compile(r"(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*")
# A last label browsers read as a number makes the whole host an IPv4 address (`2130706433`).
NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
PORT = re.compile(r"[0-9]{1,5}")


def split_host_port(netloc: str) -> tuple[str, int | None] | None:
    """(host, port) of `host`, `host:port`, `[v6]` or `[v6]:port`; None if it is none of them."""
    host, port = netloc, None
    if netloc.startswith("["):
        host, bracket, rest = netloc.partition("]")
        host += bracket
        if rest:
            if not rest.startswith(":"):
                return None
            port = rest[1:]
    elif ":" in netloc:
        host, port = netloc.rsplit(":", 1)
    if port is None:
        return host, None
    if not PORT.fullmatch(port) or not 1 <= int(port) <= 65_535:
        return None
    return host, int(port)


def is_host(host: str) -> bool:
    """A lower-case DNS name, an IPv4 address, or a bracketed IPv6 address. A name whose last
    label is a number is an IPv4 address to a browser, so it must be a valid dotted one."""
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    if not HOST_LABELS.fullmatch(host):
        return False
    if NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
    return True


def is_host_and_port(text: object) -> bool:
    parts = split_host_port(text) if isinstance(text, str) else None
    return parts is not None and is_host(parts[0])


def is_loopback(host: str) -> bool:
    """Reaches this machine: localhost and its sub-domains (RFC 6761), loopback addresses in
    any spelling, and the unspecified address, which connects locally."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified
