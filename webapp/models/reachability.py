"""Whether a database error says the database is away, rather than that a query is wrong."""

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLite's primary result codes for a database that is busy or cannot be opened or written.
SQLITE_UNAVAILABLE = {5: "BUSY", 6: "LOCKED", 10: "IOERR", 13: "FULL", 14: "CANTOPEN"}


def database_unreachable(error: Exception) -> bool:
    """SQLite reports "no such column" as an OperationalError too, and that is a bug."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, OperationalError):
        return False
    if error.connection_invalidated:
        return True
    cause = error.orig
    sqlite_code = getattr(cause, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return sqlite_code & 0xFF in SQLITE_UNAVAILABLE
    # psycopg: no SQLSTATE when it could not connect or lost the connection; class 08 is
    # "connection exception", 57P01-57P03 a server shutting down or starting up.
    sqlstate = getattr(cause, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in {"57P01", "57P02", "57P03"}
