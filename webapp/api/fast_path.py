"""The token endpoint's common case, answered before Flask builds a request: a signed-in
visitor asks for a token (GET, or POST without a body) and gets one.

It is a WSGI layer between the proxy fix and Flask, because a launch day is thousands of
these requests a second and Flask's request machinery (routing, the request and session
objects, every extension's hooks, a Response object) costs more than the token itself
(bench/RESULTS.md). Where it can, it skips work Flask would repeat per request: a session
cookie it has verified is not verified again until it expires, no app context is pushed
unless the database is read, and the answer is written as a header list, not a Response.

It decides nothing by itself. The session cookie is read by Flask's own session serializer,
the visitor is judged by `webapp.login.signs_in`, the visitor and project come from the same
`TokenReads` as the view's, the limit is counted by `count_token_request`, the body is
`answers.issued_body`, the headers `cors_headers` and `security.protective_headers`, and the
line `request_log.record`. Whenever the answer would be anything but a token (no session, a
remember-me cookie only, a stale or disabled account, an unknown project, one that cannot
sign, a limit reached, a NUL, a body, a Host outside TRUSTED_HOSTS, a database or limit
storage away), it steps aside and Flask answers the request as though this layer were not
there. tests/test_token_fast_path.py holds both answers side by side.
"""

import json
import logging
import time
from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from flask import Flask
from itsdangerous import BadSignature
from limits.errors import StorageError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import SecurityError, TooManyRequests
from werkzeug.sansio.http import parse_cookie
from werkzeug.wsgi import get_host

from webapp.api.answers import TOKEN_PATH, issued_body
from webapp.api.cors import cors_headers
from webapp.api.token_request import HAND_OVER, TOKEN_ENDPOINT, HandOver
from webapp.extensions import login_manager
from webapp.login import longest_sign_in, signs_in
from webapp.observability import events, request_log
from webapp.observability.metrics import metrics_of
from webapp.protection.rate_limits import count_token_request
from webapp.protection.security import protective_headers
from webapp.services.token_reads import TokenReads

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

# A query string with any of these is left to Werkzeug's own decoding, and to its checks.
ESCAPES = frozenset("%+\x00")
# Verified session cookies kept per worker; all of them are dropped when it is full.
MAX_SESSIONS = 10_000

Answer = tuple[str, list[tuple[str, str]], bytes]
# Flask's compact JSON, made once rather than per answer.
BODY_ENCODER = json.JSONEncoder(separators=(",", ":"))


class NotPlain(Exception):
    """A request this layer does not read as plainly as Flask would: Flask reads it."""


class TokenFastPath:
    def __init__(self, app: Flask, flask_wsgi_app: "WSGIApplication"):
        self.app = app
        self.flask = flask_wsgi_app
        # Cookie header -> (login id, the time its signature was made).
        self.sessions: dict[str, tuple[str, int]] = {}

    def __call__(
        self, environ: "WSGIEnvironment", start_response: "StartResponse"
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        try:
            request = self.token_request(environ)
        except Exception:  # what Flask reads more leniently (odd cookie bytes, say)
            request = None
        if request is not None:
            answer = self.answer_or_hand_over(environ, started, *request)
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]
        return self.flask(environ, start_response)

    def token_request(self, environ: "WSGIEnvironment") -> tuple[str, str | None] | None:
        """(login id, requested slug) when this is a signed-in token request with nothing
        unusual about it; None hands it to Flask."""
        if environ["REQUEST_METHOD"] not in ("GET", "POST") or not bodiless(environ):
            return None
        if "HTTP_AUTHORIZATION" in environ:  # a bearer token: the view judges it alone
            return None
        try:
            slug = requested_slug(environ["PATH_INFO"], environ.get("QUERY_STRING", ""))
        except NotPlain:
            return None
        if self.trusted_hosts:
            try:
                get_host(environ, self.trusted_hosts)
            except SecurityError:
                return None
        login_id = self.login_id(environ.get("HTTP_COOKIE"))
        return None if login_id is None else (login_id, slug)

    def login_id(self, cookie_header: str | None) -> str | None:
        """Who the session cookie signs in, when it does so by itself; None otherwise.
        A cookie verified once is kept with its signing time, so its next request skips
        the signature, base64, zlib and JSON, and it still expires exactly when Flask's
        serializer would refuse it."""
        if not cookie_header:
            return None
        known = self.sessions.get(cookie_header)
        if known is not None:
            login_id, signed_at = known
            if int(time.time()) - signed_at <= self.max_age:
                return login_id
        session, signed_at = self.session(cookie_header)
        if session is None or not self.signed_in_by_session_alone(session):
            return None
        if len(self.sessions) >= MAX_SESSIONS:
            self.sessions.clear()
        login_id = session["_user_id"]
        self.sessions[cookie_header] = (login_id, signed_at)
        return login_id

    def session(self, cookie_header: str) -> tuple[dict[str, Any] | None, int]:
        """The session as Flask's session interface would read it, and when it was signed."""
        value = parse_cookie(cookie_header).get(self.cookie_name)  # as Flask's request does
        if not value:
            return None, 0
        try:
            data, signed_at = self.serializer.loads(
                value, max_age=self.max_age, return_timestamp=True
            )
        except BadSignature:
            return None, 0
        return (data if isinstance(data, dict) else None), int(signed_at.timestamp())

    def signed_in_by_session_alone(self, session: dict[str, Any]) -> bool:
        """Signed in by the session itself, with nothing Flask or Flask-Login would change
        in the cookie on the way out."""
        config = self.app.config
        return (
            isinstance(session.get("_user_id"), str)
            and "_remember" not in session
            and not (session.get("_permanent") and config["SESSION_REFRESH_EACH_REQUEST"])
            and not config.get("SESSION_PROTECTION", login_manager.session_protection)
            and not config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST")
        )

    def answer_or_hand_over(
        self, environ: "WSGIEnvironment", started: float, login_id: str, slug: str | None
    ) -> Answer | None:
        """The token answer; None hands the request to Flask, with what was done
        (HandOver) so that Flask repeats none of it."""
        request_id = request_log.request_id(environ.get("HTTP_X_REQUEST_ID"))
        handed = environ[HAND_OVER] = HandOver()
        try:
            return self.answer(environ, started, request_id, login_id, slug, handed)
        except Exception:
            log.exception(
                "the token fast path failed; Flask answers instead",
                extra={"request_id": request_id},
            )
            # Flask's log lines for this request then carry the same id.
            environ.setdefault("HTTP_X_REQUEST_ID", request_id)
            return None

    def answer(
        self,
        environ: "WSGIEnvironment",
        started: float,
        request_id: str,
        login_id: str,
        slug: str | None,
        handed: HandOver,
    ) -> Answer | None:
        try:
            read = self.reads.reused(login_id, slug)
            if read is None:  # a statement, and perhaps a project to load: in an app context
                with self.app.app_context():
                    read = self.reads.read(login_id, slug)
        except SQLAlchemyError as error:
            handed.read_error = error  # Flask answers: a 503 with its log line
            return None
        project, visitor = read.project, read.visitor
        signed_in = signs_in(visitor, login_id, self.longest_sign_in)
        if project is None or project.issuer is None or not signed_in:
            return None
        assert visitor is not None  # for mypy: signs_in said so
        try:
            count_token_request(self.app, "user:" + visitor.public_id)
        except (StorageError, TooManyRequests) as error:
            handed.count_error = error  # Flask answers: a 503, or the 429
            return None
        handed.counted = True
        body, claims = issued_body(project, visitor, nbf_leeway=self.nbf_leeway)
        events.count_issued(self.metrics, project.slug, stale=read.stale)
        payload = (BODY_ENCODER.encode(body) + "\n").encode()  # as jsonify writes it
        headers = cors_headers(environ.get("HTTP_ORIGIN"), project.allowed_origins)
        headers["Vary"] += ", Cookie"  # as Flask's session interface adds for a session it read
        secure = environ["wsgi.url_scheme"] == "https"
        answer = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            *headers.items(),
            *self.protective_headers[secure],
            (request_log.REQUEST_ID_HEADER, request_id),
        ]
        request_log.record(
            self.metrics,
            request_id,
            started,
            environ["REQUEST_METHOD"],
            environ["PATH_INFO"],
            200,
            TOKEN_ENDPOINT,
            environ.get("REMOTE_ADDR"),
            events.issued_event(project.slug, visitor.public_id, claims, stale=read.stale),
        )
        return "200 OK", answer, payload

    # Made once, where Flask makes them per request: SECRET_KEY, its fallbacks and the other
    # settings are read when the first token request comes, not changed afterwards.
    @cached_property
    def serializer(self) -> Any:
        """Flask's own cookie serializer."""
        return self.app.session_interface.get_signing_serializer(self.app)  # type: ignore[attr-defined]

    @cached_property
    def cookie_name(self) -> str:
        return self.app.session_interface.get_cookie_name(self.app)

    @cached_property
    def max_age(self) -> int:
        return int(self.app.permanent_session_lifetime.total_seconds())

    @cached_property
    def longest_sign_in(self) -> float:
        return longest_sign_in(self.app)

    @cached_property
    def trusted_hosts(self) -> list[str] | None:
        return self.app.config["TRUSTED_HOSTS"]

    @cached_property
    def nbf_leeway(self) -> int:
        return int(self.app.config["TOKEN_NBF_LEEWAY"])

    @cached_property
    def reads(self) -> TokenReads:
        reads: TokenReads = self.app.extensions["token_reads"]
        return reads

    @cached_property
    def metrics(self) -> Any:
        return metrics_of(self.app)

    @cached_property
    def protective_headers(self) -> dict[bool, list[tuple[str, str]]]:
        """By whether the request came over HTTPS."""
        max_age = self.app.config["HSTS_MAX_AGE"]
        return {
            secure: protective_headers(static=False, secure=secure, hsts_max_age=max_age)
            for secure in (False, True)
        }


def bodiless(environ: "WSGIEnvironment") -> bool:
    """Surely without a body: `Content-Length: 0`, or HTTP/1 with neither a length nor chunks
    (HTTP/2 may stream a body without either; Flask reads and limits it)."""
    length = environ.get("CONTENT_LENGTH")
    if length:
        return bool(length == "0")
    return not environ.get("HTTP_TRANSFER_ENCODING") and str(
        environ.get("SERVER_PROTOCOL", "")
    ).startswith("HTTP/1")


def requested_slug(path: str, query: str) -> str | None:
    """The slug the token path names, by path or by `?project=` as the view reads it (None:
    the default project); NotPlain for another path, or one with escapes."""
    if not (path.isascii() and query.isascii()) or not ESCAPES.isdisjoint(query):
        raise NotPlain
    if path == TOKEN_PATH:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name == "project":
                return value or None
        return None
    slug = path.removeprefix(TOKEN_PATH + "/")
    if slug == path or not slug or "/" in slug or "\x00" in slug:
        raise NotPlain
    return slug


def init_app(app: Flask) -> None:
    """Wrap Flask's WSGI app; the proxy fix, when configured, goes around this layer."""
    app.wsgi_app = TokenFastPath(app, app.wsgi_app)  # type: ignore[method-assign]
