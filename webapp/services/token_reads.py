"""What the token path reads, and how long it may keep it.

A token request needs two facts from the database: is the signed-in user still signed in
(active, same session version), and what is the requested project now. Both come from ONE
statement on a plain autocommit connection (no ORM session, no pool pre-ping): the user's
state and the project's stamp, its (id, version, created_at); the project's settings and key
are read by a second statement only when that stamp is new to this worker. That read is
reused for at most `REUSE_SECONDS`: so a project change, a disabled user or project,
a sign-out or a password change is in force on every instance within that time, and a busy
visitor costs at most one statement a second per worker.

A project is made ready to sign (rules checked, key decrypted and loaded) once per stored
version: `ProjectIssuer`s are kept by project id and stamped with (version, created_at), since
SQLite hands a deleted row's id to the next one, and a recreated project starts at version 1.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from webapp.models import Project, User
from webapp.models.reachability import database_unreachable
from webapp.rules.identity_providers import TrustedProvider, trusted_provider
from webapp.secret_box import secret_box
from webapp.services.tokens import IssuedToken, ProjectCannotSign, ProjectIssuer, project_issuer

REUSE_SECONDS = 1.0
# Bounds that keep a worker's memory flat whatever the number of visitors and projects; the
# reads are kept for an outage (TOKEN_STALE_IF_ERROR), the oldest dropped first.
MAX_READS = 50_000
MAX_ISSUERS = 20_000

USER_COLUMNS = ("public_id", "session_version", "is_active", "locale")
STAMP_COLUMNS = ("id", "version", "created_at")
# What signing needs of a project: its stamp, the settings tokens carry, and the key. Its
# name and its flags (the statement selects only an enabled project) are left out.
NOT_SIGNING = frozenset({"name", "is_default", "enabled"})
PROJECT_COLUMNS = (
    "id",
    "version",
    "created_at",
    *(setting for setting in Project.SETTINGS if setting not in NOT_SIGNING),
    "signing_key_encrypted",
)


@dataclass(frozen=True)
class TokenVisitor:
    """The signed-in user as the token path knows them: enough to sign and to log, and
    what Flask-Login asks of a user."""

    public_id: str
    session_version: int
    is_active: bool
    locale: str
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.public_id}:{self.session_version}"


@dataclass(frozen=True)
class TokenProject:
    """An enabled project as stored at `stamp`, ready to sign or knowing why it cannot."""

    stamp: tuple[int, datetime]
    slug: str
    session_server: str
    allowed_origins: Any  # as stored; the rules refuse a project whose value is no list
    issuer: ProjectIssuer | None
    cannot_sign: str | None  # why not, for the log
    provider: TrustedProvider | None = None  # whose bearer tokens it accepts (api/bearer.py)

    def issue(self, visitor: TokenVisitor | User, *, nbf_leeway: int) -> IssuedToken:
        """Raises ProjectCannotSign when the stored project breaks a rule or its key is
        unusable; nothing is signed then."""
        if self.issuer is None:
            # A new exception each time: raising one instance again and again would grow
            # its traceback without end.
            raise ProjectCannotSign(self.cannot_sign)
        return self.issuer.issue(visitor.public_id, visitor.locale, nbf_leeway=nbf_leeway)


@dataclass(frozen=True)
class TokenRead:
    visitor: TokenVisitor | None
    project: TokenProject | None
    read_at: float  # time.monotonic() when it was read
    generation: int  # TokenReads' generation then
    stale: bool = False  # served because the database could not be reached


def token_statement(by_slug: bool) -> sa.Select[Any]:
    """The user (by public id) and the enabled project (by slug, or the default one), each
    NULL when there is none, in one row."""
    users, projects = User.__table__, Project.__table__
    one = sa.select(sa.literal(1).label("one")).subquery("one")
    named = projects.c.slug == sa.bindparam("slug") if by_slug else projects.c.is_default.is_(True)
    joined = one.outerjoin(users, users.c.public_id == sa.bindparam("public_id")).outerjoin(
        projects, sa.and_(named, projects.c.enabled.is_(True))
    )
    columns = [users.c[name].label(f"user_{name}") for name in USER_COLUMNS]
    columns += [projects.c[name] for name in STAMP_COLUMNS]
    return sa.select(*columns).select_from(joined)


STATEMENTS = {True: token_statement(by_slug=True), False: token_statement(by_slug=False)}
# A project's row, when its stamp is new to this worker: every column is parsed only then.
PROJECT_STATEMENT = sa.select(*(Project.__table__.c[name] for name in PROJECT_COLUMNS)).where(
    Project.__table__.c.id == sa.bindparam("id")
)


class TokenReads:
    """One per app: its read engine, its reused reads and its project issuers.

    A read is reused for REUSE_SECONDS. After that it is read again, but it is kept: when
    the database cannot be reached, a read at most `stale_if_error` seconds old is served
    instead (marked `stale`), because while the database is away nobody can change a user
    or a project either, so the last state read is the newest anyone could have written.
    Once a read has failed so, visitors with such a read are served from it without trying
    the database for REUSE_SECONDS: a database that hangs makes one request wait per
    second, not every request."""

    def __init__(
        self,
        make_engine: Callable[[], sa.Engine],
        clock: Callable[[], float],
        stale_if_error: float = 0,
    ):
        self._make_engine = make_engine
        self._engine: sa.Engine | None = None
        self._lock = threading.Lock()
        self._keeping = threading.Lock()  # evicting iterates the reads: one writer at a time
        self._clock = clock
        self._stale_if_error = stale_if_error
        self._reads: dict[tuple[str | None, str | None], TokenRead] = {}
        self._issuers: dict[int, TokenProject] = {}
        self._generation = 0  # one more at each write of this process: its reads are old
        self._unreachable_until = 0.0

    def reused(self, login_id: str | None, slug: str | None) -> TokenRead | None:
        """The read for `login_id` and `slug` if it is young enough to reuse, else None:
        `read` without a statement, which needs no app context."""
        read = self._reads.get((login_id, slug))
        if read is not None and self.fresh(read, self._clock()):
            return read
        return None

    def read(self, login_id: str | None, slug: str | None) -> TokenRead:
        """The visitor (None when nobody is, or no longer, signed in as `login_id`) and the
        project, as read at most REUSE_SECONDS ago, or, with the database away, at most
        `stale_if_error` seconds ago."""
        key = (login_id, slug)
        now = self._clock()
        kept = self._reads.get(key)
        if kept is not None and self.fresh(kept, now):
            return kept
        servable = kept if kept is not None and now - kept.read_at <= self._stale_if_error else None
        if servable is not None and now < self._unreachable_until:
            return replace(servable, stale=True)
        try:
            row = self.fetch(login_id, slug)
        except sa.exc.SQLAlchemyError as error:
            if servable is None or not database_unreachable(error):
                raise
            # Tried again a second later at the soonest: one waits, not every request.
            self._unreachable_until = self._clock() + REUSE_SECONDS
            return replace(servable, stale=True)
        read = TokenRead(visitor(row, login_id), self.project(row), now, self._generation)
        with self._keeping:
            # Re-inserted last, so the reads least recently made are the first to go.
            if self._reads.pop(key, None) is None and len(self._reads) >= MAX_READS:
                del self._reads[next(iter(self._reads))]
            self._reads[key] = read
        self._unreachable_until = 0.0
        return read

    def fresh(self, read: TokenRead, now: float) -> bool:
        return read.generation == self._generation and now < read.read_at + REUSE_SECONDS

    def forget_reads(self) -> None:
        """This process wrote to the database: its own next requests read again (what it
        read stays, for an outage)."""
        self._generation += 1

    def fetch(self, login_id: str | None, slug: str | None) -> sa.Row[Any]:
        public_id = login_id.partition(":")[0] if login_id else None
        [row] = self.execute(STATEMENTS[bool(slug)], {"public_id": public_id, "slug": slug})
        return row

    def execute(self, statement: sa.Select[Any], parameters: dict[str, Any]) -> list[sa.Row[Any]]:
        engine = self.engine()
        for attempt in (1, 2):
            try:
                with engine.connect() as connection:
                    return list(connection.execute(statement, parameters))
            except sa.exc.DBAPIError as error:
                # A connection the database dropped (a restart, a failover) is invalidated
                # by SQLAlchemy; one retry gets a fresh one. Anything else is a real error.
                if attempt == 2 or not error.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    def project(self, stamped: sa.Row[Any]) -> TokenProject | None:
        """The project whose stamp the row holds: kept, or read and made ready to sign."""
        if stamped.id is None:
            return None
        cached = self._issuers.get(stamped.id)
        if cached is not None and cached.stamp == (stamped.version, stamped.created_at):
            return cached
        rows = self.execute(PROJECT_STATEMENT, {"id": stamped.id})
        if not rows:  # deleted since the first statement
            return None
        row = rows[0]
        issuer, cannot_sign = None, None
        try:
            issuer = project_issuer(
                row.slug, row, lambda: secret_box.decrypt(row.signing_key_encrypted)
            )
        except ProjectCannotSign as error:
            cannot_sign = str(error)
        loaded = TokenProject(
            (row.version, row.created_at),
            row.slug,
            row.session_server,
            row.allowed_origins,
            issuer,
            cannot_sign,
            trusted_provider(row),
        )
        if len(self._issuers) >= MAX_ISSUERS:
            self._issuers.clear()
        self._issuers[row.id] = loaded
        return loaded

    def engine(self) -> sa.Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._make_engine()
        return self._engine

    def dispose(self) -> None:
        """Close the read engine's connections; the next read makes a new engine."""
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()


def visitor(row: sa.Row[Any], login_id: str | None) -> TokenVisitor | None:
    """The user the row holds, if `login_id` still signs them in (see webapp.login)."""
    if login_id is None or row.user_public_id is None:
        return None
    return TokenVisitor(
        public_id=row.user_public_id,
        session_version=row.user_session_version,
        is_active=row.user_is_active,
        locale=row.user_locale,
    )


def read_engine(engine: sa.Engine, options: dict[str, Any]) -> sa.Engine:
    """An engine of its own for the token reads, on the app's database: autocommit (no BEGIN
    and ROLLBACK round trips) and no pre-ping (a dropped connection is retried instead)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return engine  # an in-memory database is only visible through its own engine
    options = {name: value for name, value in options.items() if name != "pool_pre_ping"}
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", **options)


def monotonic() -> float:
    return time.monotonic()
