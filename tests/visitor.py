"""A browser's part of a conversation with a real server: cookies kept, forms filled in from
the page (CSRF token and all), redirects not followed, so a test sees every answer.

Unlike a browser it sends every cookie it holds to whichever server it talks to, so a session
begun through the proxy can be shown to an instance directly: that is the point of signed
cookies. It remembers each raw Set-Cookie header for tests of their attributes.
"""

import http.client
import json
import ssl
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie

TIMEOUT = 30  # seconds for one answer; a loaded machine is slow, a hung server is not


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    text: str

    def json(self):
        return json.loads(self.text)


@dataclass
class Visitor:
    base_url: str
    ssl_context: ssl.SSLContext | None = None
    cookies: dict[str, str] = field(default_factory=dict)
    set_cookie_headers: list[str] = field(default_factory=list)

    def at(self, base_url: str) -> "Visitor":
        """The same visitor, cookies and all, talking to another server."""
        return Visitor(base_url, self.ssl_context, self.cookies, self.set_cookie_headers)

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, **headers: str
    ) -> Answer:
        url = urllib.parse.urlsplit(self.base_url)
        if url.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                url.hostname, url.port, timeout=TIMEOUT, context=self.ssl_context
            )
        else:
            connection = http.client.HTTPConnection(url.hostname, url.port, timeout=TIMEOUT)
        sent = {name.replace("_", "-"): value for name, value in headers.items()}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            answer = Answer(response.status, response.headers, response.read().decode())
        finally:
            connection.close()
        self.keep_cookies(answer.headers.get_all("Set-Cookie") or [])
        return answer

    def keep_cookies(self, headers: list[str]) -> None:
        for header in headers:
            self.set_cookie_headers.append(header)
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def get(self, path: str, **headers: str) -> Answer:
        return self.request("GET", path, **headers)

    def submit(self, path: str, changes: dict[str, str]) -> Answer:
        """Open the page at `path` and post its form back with `changes`, as a browser does."""
        page = self.get(path)
        assert page.status == 200, (page.status, page.text[:500])
        fields = form_fields(page.text)
        fields.update(changes)
        # Flask-WTF checks that an HTTPS form was posted from a page of the same site.
        return self.request("POST", path, fields, Referer=self.base_url + path)

    def sign_in(self, email: str, password: str) -> Answer:
        return self.submit("/login", {"email": email, "password": password})


class FormReader(HTMLParser):
    """The values a browser would post for the page's first form that posts back to the page
    (the sign-out button in the menu posts elsewhere)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.in_form = self.done = False
        self.textarea: str | None = None
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        posts_back = attributes.get("method", "").lower() == "post" and not attributes.get("action")
        if tag == "form" and not self.done and posts_back:
            self.in_form = True
        if not self.in_form or "name" not in attributes and tag != "option":
            return
        name = attributes.get("name", "")
        if tag == "input":
            kind = attributes.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in attributes:
                    self.fields[name] = attributes.get("value", "on")
            elif kind != "submit":
                self.fields[name] = attributes.get("value", "")
        elif tag == "textarea":
            self.textarea = name
            self.fields[name] = ""
        elif tag == "select":
            self.select = name
        elif tag == "option" and self.select is not None:
            # The selected option, or else the first.
            chosen = "selected" in attributes or self.select not in self.fields
            if chosen:
                self.fields[self.select] = attributes.get("value", "")

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.fields[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self.textarea is not None:
            # HTML drops the newline that may follow <textarea> (WTForms writes one).
            value = self.fields[self.textarea]
            self.fields[self.textarea] = value.removeprefix("\r\n").removeprefix("\n")
            self.textarea = None
        elif tag == "select":
            self.select = None
        elif tag == "form" and self.in_form:
            self.in_form, self.done = False, True


def form_fields(html: str) -> dict[str, str]:
    reader = FormReader()
    reader.feed(html)
    assert reader.done, "no form in the page posts back to it"
    return reader.fields
