"""The token endpoint's common case, answered before Flask builds a request: a signed-in
visitor asks for a token (GET, or POST without a body) and gets one.

It is a WSGI layer between the proxy fix and Flask, because a launch day is thousands of
these requests a second and Flask's request machinery (routing, the request and session
objects, every extension's hooks) costs more than the token itself (bench/RESULTS.md).

It decides nothing by itself. The session cookie is read by Flask's own session serializer,
the visitor is judged by `webapp.login.signs_in`, the visitor and project come from the same
`TokenReads` as the view's, the limit is counted by `count_token_request`, and the answer is
made by `answers.token_issued`, `security.protect` and `request_log.record`. Whenever the
answer would be anything but a token (no session, a remember-me cookie only, a stale or
disabled account, an unknown project, one that cannot sign, a limit reached, a NUL, a body,
a Host outside TRUSTED_HOSTS, a database or limit storage away), it steps aside and Flask
answers the request as though this layer were not there. tests/test_token_fast_path.py
holds both answers side by side.
"""

import logging
import time
from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from flask import Flask, Response, g
from itsdangerous import BadSignature
from limits.errors import StorageError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import SecurityError, TooManyRequests
from werkzeug.sansio.http import parse_cookie
from werkzeug.wsgi import get_host

from webapp.api.answers import TOKEN_PATH, token_issued
from webapp.api.token_request import HAND_OVER, TOKEN_ENDPOINT, HandOver, token_reads
from webapp.extensions import login_manager
from webapp.login import signs_in
from webapp.observability import request_log
from webapp.protection.rate_limits import count_token_request
from webapp.protection.security import protect

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

# A query string with any of these is left to Werkzeug's own decoding, and to its checks.
ESCAPES = frozenset("%+\x00")


class NotPlain(Exception):
    """A request this layer does not read as plainly as Flask would: Flask reads it."""


class TokenFastPath:
    def __init__(self, app: Flask, flask_wsgi_app: "WSGIApplication"):
        self.app = app
        self.flask = flask_wsgi_app

    def __call__(
        self, environ: "WSGIEnvironment", start_response: "StartResponse"
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        try:
            request = self.token_request(environ)
        except Exception:  # what Flask reads more leniently (odd cookie bytes, say)
            request = None
        if request is not None:
            with self.app.app_context():
                response = self.answer_or_hand_over(environ, started, *request)
            if response is not None:
                return response(environ, start_response)
        return self.flask(environ, start_response)

    def token_request(self, environ: "WSGIEnvironment") -> tuple[str, str | None] | None:
        """(login id, requested slug) when this is a signed-in token request with nothing
        unusual about it; None hands it to Flask."""
        if environ["REQUEST_METHOD"] not in ("GET", "POST") or not bodiless(environ):
            return None
        try:
            slug = requested_slug(environ["PATH_INFO"], environ.get("QUERY_STRING", ""))
        except NotPlain:
            return None
        try:
            get_host(environ, self.app.config["TRUSTED_HOSTS"])
        except SecurityError:
            return None
        session = self.session(environ.get("HTTP_COOKIE"))
        if session is None or not self.signed_in_by_session_alone(session):
            return None
        return session["_user_id"], slug

    def session(self, cookie_header: str | None) -> dict[str, Any] | None:
        """The session as Flask's session interface would read it, or None."""
        if not cookie_header:
            return None
        value = parse_cookie(cookie_header).get(self.cookie_name)  # as Flask's request does
        if not value:
            return None
        try:
            data = self.serializer.loads(value, max_age=self.max_age)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None

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
    ) -> Response | None:
        """The token answer, made in an app context; None hands the request to Flask, with
        what was done (HandOver) so that Flask repeats none of it."""
        g.request_id = request_log.request_id(environ.get("HTTP_X_REQUEST_ID"))
        handed = environ[HAND_OVER] = HandOver()
        try:
            return self.answer(environ, started, login_id, slug, handed)
        except Exception:
            log.exception("the token fast path failed; Flask answers instead")
            # Flask's log lines for this request then carry the same id.
            environ.setdefault("HTTP_X_REQUEST_ID", g.request_id)
            return None

    def answer(
        self,
        environ: "WSGIEnvironment",
        started: float,
        login_id: str,
        slug: str | None,
        handed: HandOver,
    ) -> Response | None:
        try:
            read = token_reads().read(login_id, slug)
        except SQLAlchemyError as error:
            handed.read_error = error  # Flask answers: a 503 with its log line
            return None
        project, visitor = read.project, read.visitor
        if project is None or project.issuer is None or not signs_in(visitor, login_id):
            return None
        assert visitor is not None  # for mypy: signs_in said so
        try:
            count_token_request(self.app, "user:" + visitor.public_id)
        except (StorageError, TooManyRequests) as error:
            handed.count_error = error  # Flask answers: a 503, or the 429
            return None
        handed.counted = True
        response = token_issued(
            project,
            visitor,
            environ.get("HTTP_ORIGIN"),
            nbf_leeway=self.app.config["TOKEN_NBF_LEEWAY"],
        )
        secure = environ["wsgi.url_scheme"] == "https"
        protect(response, static=False, secure=secure)
        response.vary.add("Cookie")  # as Flask's session interface adds for a session it read
        path = environ["PATH_INFO"]
        remote_addr = environ.get("REMOTE_ADDR")
        method = environ["REQUEST_METHOD"]
        return request_log.record(response, started, method, path, TOKEN_ENDPOINT, remote_addr)

    # Made once, where Flask makes them per request: SECRET_KEY, its fallbacks and the cookie
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
