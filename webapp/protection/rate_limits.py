"""Brute-force limits: sign-in per account and per client address, sign-up and setup per
address, tokens per user, reset mail per address and per e-mail asked for, second-factor
codes per account. Each limit is a setting (see README); the counters live in
`RATELIMIT_STORAGE_URI`, so instances sharing a Redis share them."""

import functools
import hashlib
import math
import time
from collections.abc import Callable

import limits
from flask import Flask, current_app, request, session
from flask.typing import ResponseReturnValue
from flask_limiter import ExemptionScope, RateLimitExceeded, RouteLimit
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import RateLimitItem
from limits.errors import StorageError
from werkzeug.exceptions import ServiceUnavailable, TooManyRequests

from webapp.errors import handle_http_error
from webapp.extensions import limiter
from webapp.protection.token_counts import TokenCounts
from webapp.rules.emails import InvalidEmail, normalise_email

TOO_MANY = "Too many attempts. Wait a little, then try again."
TOO_MANY_TOKENS = "Too many token requests. Wait a little, then try again."


def setting(name: str) -> Callable[[], str]:
    """The limit is read per request, so each app's configuration applies."""
    return lambda: current_app.config[name]


def hashed_form_email() -> str:
    """The form's email, normalised and hashed: a short key, and no address in the store."""
    return hashed_email(request.form.get("email", ""))


def hashed_email(email: str) -> str:
    try:
        email = normalise_email(email)
    except InvalidEmail:
        email = email.strip().lower()  # no such account; still one counter per spelling
    return hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()


def account_key() -> str:
    """The account being signed in to."""
    return "account:" + hashed_form_email()


def reset_email_key() -> str:
    """The address a reset mail is asked for, so nobody's inbox can be flooded."""
    return "reset-email:" + hashed_form_email()


# The session key webapp.auth.two_factor keeps between the password and the code.
TWO_FACTOR_PENDING = "two_factor_pending"


def two_factor_account_key() -> str:
    """The account half-way through signing in; every session trying it shares the count."""
    pending = session.get(TWO_FACTOR_PENDING)
    if isinstance(pending, dict) and pending.get("user"):
        return "two-factor:" + str(pending["user"])
    return "address:" + (get_remote_address() or "-")


def user_key() -> str:
    if current_user.is_authenticated:
        return "user:" + current_user.public_id
    return "address:" + (get_remote_address() or "-")


def per_address(name: str, methods: list[str] | None = None) -> RouteLimit:
    return limiter.limit(setting(name), methods=methods, error_message=TOO_MANY)


# Shared by name with the current-password checks (count_password_check): one count per
# account, whichever door the guesses come through.
SIGN_IN_ACCOUNT_SCOPE = "sign-in-per-account"
sign_in_per_account = limiter.shared_limit(
    setting("RATELIMIT_SIGN_IN_PER_ACCOUNT"),
    SIGN_IN_ACCOUNT_SCOPE,
    key_func=account_key,
    methods=["POST"],
    error_message=TOO_MANY,
)
sign_in_per_address = per_address("RATELIMIT_SIGN_IN_PER_ADDRESS", ["POST"])
register_per_address = per_address("RATELIMIT_REGISTER_PER_ADDRESS", ["POST"])
# Every method: the code in the link is what a guesser would try.
setup_per_address = per_address("RATELIMIT_SETUP_PER_ADDRESS")
reset_per_address = per_address("RATELIMIT_RESET_PER_ADDRESS", ["POST"])
reset_per_email = limiter.limit(
    setting("RATELIMIT_RESET_PER_EMAIL"),
    key_func=reset_email_key,
    methods=["POST"],
    error_message=TOO_MANY,
)
# Every code tried counts, right or wrong, like passwords at sign-in.
two_factor_per_account = limiter.limit(
    setting("RATELIMIT_TWO_FACTOR_PER_ACCOUNT"),
    key_func=two_factor_account_key,
    methods=["POST"],
    error_message=TOO_MANY,
)


def count_token_request(app: Flask, who: str) -> None:
    """One token request by `who` (see `user_key`), counted against each limit of
    RATELIMIT_TOKEN_PER_USER in the same storage as every other limit; TooManyRequests with
    Retry-After when one is over. Counted here rather than by Flask-Limiter's decorator
    because the token endpoint's fast path (webapp.api.fast_path), which runs outside
    Flask's request, counts through this same function: one counter per user, whichever
    lane answers. A fixed window per limit, sent to a shared store in batches (TokenCounts)."""
    if not limiter.enabled:
        return
    keys = (app.config["RATELIMIT_KEY_PREFIX"], "token", who)
    counts: TokenCounts = app.extensions["token_counts"]
    for item in parse_limits(app.config["RATELIMIT_TOKEN_PER_USER"]):
        if not counts.hit(item, *keys):
            reset_at = limiter.limiter.get_window_stats(item, *keys).reset_time
            wait = min(item.get_expiry(), max(1, math.ceil(reset_at - time.time())))
            raise TooManyRequests(TOO_MANY_TOKENS, retry_after=wait)


def count_password_check(email: str) -> None:
    """A signed-in user's current-password check (change password, delete account, two-factor
    on or off) is a guess at the password: it counts against RATELIMIT_SIGN_IN_PER_ACCOUNT
    under the sign-in's own key, before the hash is computed. TooManyRequests when over."""
    if not limiter.enabled:
        return
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    keys = (prefix, "account:" + hashed_email(email), SIGN_IN_ACCOUNT_SCOPE)
    for item in parse_limits(current_app.config["RATELIMIT_SIGN_IN_PER_ACCOUNT"]):
        if not limiter.limiter.hit(item, *keys):
            reset_at = limiter.limiter.get_window_stats(item, *keys).reset_time
            wait = min(item.get_expiry(), max(1, math.ceil(reset_at - time.time())))
            raise TooManyRequests(TOO_MANY, retry_after=wait)


@functools.lru_cache(maxsize=16)
def parse_limits(text: str) -> list[RateLimitItem]:
    """`5 per minute;100 per day` is two limits, the shortest window first."""
    return sorted(limits.parse_many(text), key=lambda item: item.get_expiry())


# Flask-Limiter's own limits (application-wide, defaults, meta) stay off the token endpoint:
# count_token_request is its one limit, in both lanes.
TOKEN_ENDPOINT_EXEMPTION = ExemptionScope.APPLICATION | ExemptionScope.DEFAULT | ExemptionScope.META


def too_many_requests(error: RateLimitExceeded) -> ResponseReturnValue:
    """The usual error answer (JSON or a page), with Retry-After: when the window ends."""
    limit = limiter.current_limit
    wait = 60
    if limit:  # reset_at is a whole second late: keep within the window
        wait = min(limit.limit.get_expiry(), max(1, math.ceil(limit.reset_at - time.time())))
    error.retry_after = wait  # Werkzeug's TooManyRequests sends it as a header
    return handle_http_error(error)


def storage_unreachable(error: StorageError) -> ResponseReturnValue:
    """Fail closed, with a clear answer: no unlimited sign-ins while the counters are away."""
    current_app.logger.error("rate-limit storage failed: %r", error.storage_error)
    message = "This service cannot check its limits right now. Try again shortly."
    return handle_http_error(ServiceUnavailable(message))


def init_app(app: Flask) -> None:
    # Flask-Limiter keeps the first app's key prefix on its single instance; each app (the
    # test suite makes many) counts under its own.
    limiter._key_prefix = app.config["RATELIMIT_KEY_PREFIX"]
    limiter.init_app(app)
    app.extensions["token_counts"] = TokenCounts(limiter.storage)
    app.register_error_handler(RateLimitExceeded, too_many_requests)
    app.register_error_handler(StorageError, storage_unreachable)
