"""Refuses requests carrying what no field may hold: a NUL character, in the path, the query
string or a form. PostgreSQL cannot store NUL in text, and no name, slug, URL, e-mail or token
contains one, so the whole request gets a 400 with the reason, before any view reads it.

JSON bodies are refused too (415) wherever a form is read: Flask-WTF would take a JSON body for
a form's data, where a list, a number or nested values break its fields. The token endpoint
reads no body at all, so a website that POSTs JSON to it still gets its token.

Invalid UTF-8 in a query string or form needs no guard here: Werkzeug decodes it with
replacement characters, which the fields' own rules then judge."""

from flask import Flask, abort, request
from werkzeug.datastructures import MultiDict

NUL = "\x00"
REASON = "The request contains a NUL character, which no field accepts."
NO_JSON = "Send forms as application/x-www-form-urlencoded; no page here reads JSON."


def holds_nul(values: MultiDict[str, str]) -> bool:
    return any(NUL in key or NUL in value for key, value in values.items(multi=True))


def refuse_hostile_input() -> None:
    if request.is_json and request.blueprint != "api":
        abort(415, NO_JSON)
    # `request.form` is empty for other kinds of body, and parses a form only once.
    if NUL in request.path or holds_nul(request.args) or holds_nul(request.form):
        abort(400, REASON)


def init_app(app: Flask) -> None:
    app.before_request(refuse_hostile_input)
