"""Refuses requests carrying what no field may hold: a NUL character, in the path, the query
string or a form. PostgreSQL cannot store NUL in text, and no name, slug, URL, e-mail or token
contains one, so the whole request gets a 400 with the reason, before any view reads it.

Invalid UTF-8 in a query string or form needs no guard here: Werkzeug decodes it with
replacement characters, which the fields' own rules then judge."""

from flask import Flask, abort, request
from werkzeug.datastructures import MultiDict

NUL = "\x00"
REASON = "The request contains a NUL character, which no field accepts."


def holds_nul(values: MultiDict[str, str]) -> bool:
    return any(NUL in key or NUL in value for key, value in values.items(multi=True))


def refuse_nul() -> None:
    # `request.form` is empty for other kinds of body, and parses a form only once.
    if NUL in request.path or holds_nul(request.args) or holds_nul(request.form):
        abort(400, REASON)


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul)
