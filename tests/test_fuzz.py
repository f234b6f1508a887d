"""Property-based abuse: every form and the token endpoint get generated hostile input (NUL,
CR/LF, lone surrogates sent as the bytes a client would send, very long and very deep values,
huge and foreign numbers, invalid UTF-8 in query strings, wrong JSON types). Whatever comes in,
no answer is a 5xx, refused input changes nothing stored, and no secret is ever shown.

Derandomized, with no example database, so CI tries the same 1,500 inputs (over 2,500
requests) every run."""

import base64
import hashlib
import json
import urllib.parse

import pytest
from cryptography.fernet import Fernet
from helpers import ABUSE, PASSWORD
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_admin_projects import form_data

from webapp.extensions import db
from webapp.models import Project, User
from webapp.services.setup_codes import new_code

SIGNING_KEY = "fuzz-signing-key-" + "5e" * 12
FERNET_KEY = Fernet.generate_key().decode()
SECRET_KEY = "fuzz-secret-key-" + "7c" * 16
SECRETS = (SIGNING_KEY, FERNET_KEY, SECRET_KEY, PASSWORD)

SPECIAL = [
    "\x00",
    "a\x00b",
    "\r\n",
    "x\r\nSet-Cookie: a=b",
    "\ud800",
    "a\udfffb",
    "²",
    "١٢٣",
    "9" * 5000,
    "99999999999999999999",
    "-1",
    "0",
    "",
    " ",
    "\u202eevil",
    "<script>x</script>",
    "' OR 1=1 --",
    "%00",
    "../..",
    "localhost.",
    "wss://user:secret@x.example",
    "ws://2130706433",
    "wss://[::ffff:127.0.0.1]",
    "ws://0.0.0.0",
    "wss://-bad-.example",
    "wss://x.example:0",
    "NaN",
    "Infinity",
    '{"a": NaN}',
    "[]",
    "{}",
    "null",
    "true",
    '{"x": "\\ud800"}',
    '{"\\ud800": 1}',
    '{"x": "\\u0000"}',
    "a = \\ud800",
    "sm-x = 1",
    "exp = 1",
    "ok/evil",
    "ok b",
    "ok-",
    "shop",
    "en",
    "en_US",
    "zz-ZZ",
    "user@example.com",
    "ADMIN@EXAMPLE.COM",
]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
HOSTILE = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(max_size=40),
    st.text(st.characters(categories=["Cs", "Cc", "Zs", "Mn"]), max_size=8),
    st.integers(1, 1300).map(lambda depth: '{"a": ' + "[" * depth + "]" * depth + "}"),
    st.integers(1, 1300).map(lambda depth: "[" * depth),
    st.integers(1_000, 100_000).map(lambda size: "x" * size),
    st.integers(-(10**30), 10**30).map(str),
    JSON_VALUES.map(lambda value: json.dumps(value)),
)
RAW_QUERY = st.one_of(
    st.binary(max_size=30).map(urllib.parse.quote_from_bytes),
    HOSTILE.map(lambda text: urllib.parse.quote(text.encode("utf-8", "surrogatepass"))),
)
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


def segment(text: str) -> str:
    """A JWT segment of any text, lone surrogates included."""
    raw = text.encode("utf-8", "surrogatepass")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def body(fields: dict) -> bytes:
    """What a client sends: text as UTF-8, lone surrogates as the invalid bytes they become."""
    return urllib.parse.urlencode(
        [(name, str(value).encode("utf-8", "surrogatepass")) for name, value in fields.items()]
    ).encode()


class Fuzzer:
    """One app, with an anonymous, an end user's and an admin's client; each try checks the
    answer and what is stored."""

    def __init__(self, app, make_user, make_project, caplog):
        self.app = app
        self.caplog = caplog
        self.seen: list[str] = []
        self.user = make_user("user@example.com")
        self.admin = make_user("admin@example.com", is_admin=True)
        self.target = make_user("target@example.com")
        self.project = make_project("shop", key=SIGNING_KEY, allowed_origins=["https://a.example"])
        self.user_client, self.admin_client = app.test_client(), app.test_client()
        for client, user in ((self.user_client, self.user), (self.admin_client, self.admin)):
            response = client.post("/login", data={"email": user.email, "password": PASSWORD})
            assert response.status_code == 302

    def stored(self) -> str:
        """A digest of every row that input could change."""
        with self.app.app_context():
            users = db.session.execute(
                db.select(
                    User.id,
                    User.email,
                    User.locale,
                    User.is_admin,
                    User.is_active,
                    User.password_hash,
                    User.session_version,
                ).order_by(User.id)
            ).all()
            projects = db.session.execute(
                db.select(Project.id, Project.version).order_by(Project.id)
            ).all()
            audit = db.session.scalar(db.text("SELECT count(*) FROM audit_events"))
        return hashlib.sha256(repr((users, projects, audit)).encode()).hexdigest()

    def version(self) -> int:
        with self.app.app_context():
            return db.session.scalar(db.select(Project.version).filter_by(slug="shop")) or 1

    def send(
        self,
        client,
        method: str,
        url: str,
        fields: dict | None = None,
        *,
        as_json=None,
        headers=None,
    ):
        before = self.stored() if method == "POST" else None
        if as_json is not None:
            response = client.open(
                url,
                method=method,
                data=json.dumps(as_json),
                headers=headers,
                content_type="application/json",
            )
        elif fields is not None:
            response = client.open(
                url,
                method=method,
                data=body(fields),
                headers=headers,
                content_type="application/x-www-form-urlencoded",
            )
        else:
            response = client.open(url, method=method, headers=headers)
        text = response.get_data(as_text=True)
        ABUSE.add(cases=1, server_errors=int(response.status_code >= 500))
        assert response.status_code < 500, (url, text[:2000])
        self.seen.append(text)
        self.seen.append(repr(response.headers))
        if before is not None and response.status_code != 302:
            assert self.stored() == before, f"refused input changed what is stored: {url}"
        return response

    def secrets_found(self) -> int:
        shown = "\n".join([*self.seen, self.caplog.text])
        return sum(secret in shown for secret in SECRETS)


@pytest.fixture
def fuzzer(make_app, make_user, make_project, caplog):
    app = make_app(
        WTF_CSRF_ENABLED=False,
        SECRET_KEY=SECRET_KEY,
        SECRETS_ENCRYPTION_KEYS=FERNET_KEY,
        RATELIMIT_ENABLED=False,
    )
    # The fixtures make rows through the `app` fixture's own key; this app must read them.
    fuzzer = Fuzzer(app, make_user, make_project, caplog)
    with app.app_context():
        project = db.session.scalar(db.select(Project).filter_by(slug="shop"))
        project.set_signing_key(SIGNING_KEY)
        db.session.commit()
    yield fuzzer
    found = fuzzer.secrets_found()
    ABUSE.add(secrets_found=found)
    assert found == 0, "a secret was shown in a response or a log"


@settings(FUZZ, max_examples=400)
@given(
    form=st.sampled_from(["/register", "/login", "/setup"]),
    email=HOSTILE,
    password=HOSTILE,
    locale=HOSTILE,
    extra=HOSTILE,
    as_json=st.none() | JSON_VALUES,
)
def test_fuzz_account_forms(fuzzer, form, email, password, locale, extra, as_json):
    url = form
    if form == "/setup":
        url = f"/setup?code={new_code(fuzzer.app.instance_path)}"
    fields = {"email": email, "password": password, "locale": locale, "remember": extra}
    # A fresh visitor each time: an account this makes must not sign the next try in.
    fuzzer.send(fuzzer.app.test_client(), "POST", url, fields, as_json=as_json)


@settings(FUZZ, max_examples=200)
@given(
    which=st.sampled_from(["locale", "password", "token-get", "token-post", "token-options"]),
    first=HOSTILE,
    second=HOSTILE,
    query=RAW_QUERY,
    origin=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)
def test_fuzz_account_page_and_token_endpoint(fuzzer, which, first, second, query, origin):
    client = fuzzer.user_client
    if which == "locale":
        fuzzer.send(client, "POST", "/account", {"locale-locale": first, "locale-submit": "y"})
    elif which == "password":
        fields = {
            "password-current_password": first,
            "password-new_password": second,
            "password-submit": "y",
        }
        fuzzer.send(client, "POST", "/account", fields)
    else:
        method = which.removeprefix("token-").upper()
        fuzzer.send(client, method, f"/auth/authorize?project={query}", headers={"Origin": origin})
        fuzzer.send(client, method, "/auth/authorize?project=shop", headers={"Origin": origin})


PROJECT_FIELDS = [
    "name",
    "slug",
    "session_server",
    "orchestration_url",
    "issuer",
    "signing_key",
    "algorithm",
    "token_lifetime",
    "environment",
    "control_via_browser",
    "control_cookie_header",
    "allowed_origins",
    "custom_claims",
    "is_default",
    "enabled",
    "version",
]


@settings(FUZZ, max_examples=500)
@given(
    edit=st.booleans(),
    hostile=st.dictionaries(st.sampled_from(PROJECT_FIELDS), HOSTILE, min_size=1, max_size=4),
    as_json=st.none() | st.none() | st.none() | JSON_VALUES,
)
def test_fuzz_admin_project_form(fuzzer, edit, hostile, as_json):
    fields = form_data(slug="shop" if edit else "fuzzed", signing_key="" if edit else SIGNING_KEY)
    fields["version"] = str(fuzzer.version())
    fields.update(hostile)
    url = "/admin/projects/shop" if edit else "/admin/projects/new"
    response = fuzzer.send(fuzzer.admin_client, "POST", url, fields, as_json=as_json)
    if response.status_code == 302:  # valid after all: put things back for the next try
        with fuzzer.app.app_context():
            for project in db.session.scalars(db.select(Project)):
                if project.id == fuzzer.project.id:
                    project.slug = "shop"
                else:
                    db.session.delete(project)
            db.session.commit()


@settings(FUZZ, max_examples=400)
@given(
    which=st.sampled_from(["users", "inspect", "search", "pages"]),
    first=HOSTILE,
    second=HOSTILE,
    query=RAW_QUERY,
    other=RAW_QUERY,
    payload=JSON_VALUES | HOSTILE,
)
def test_fuzz_admin_tools(fuzzer, which, first, second, query, other, payload):
    client = fuzzer.admin_client
    if which == "users":
        fuzzer.send(client, "POST", f"/admin/users/{query}/{other}", {})
        fuzzer.send(client, "POST", f"/admin/users/{fuzzer.target.public_id}/{query}", {})
    elif which == "inspect":
        claims = payload if isinstance(payload, str) else json.dumps(payload)
        made = ".".join(map(segment, ('{"alg": "HS256"}', claims, "sig")))
        for token in (first, made):
            fuzzer.send(client, "POST", "/admin/inspect", {"token": token, "project": second})
        fuzzer.send(client, "POST", "/admin/inspect", {"token": made, "project": "shop"})
    elif which == "search":
        for path in ("/admin/projects", "/admin/users"):
            fuzzer.send(client, "GET", f"{path}?q={query}&page={other}")
        fuzzer.send(client, "GET", f"/admin/audit?project={query}&admin={other}&before={query}")
    else:
        for path in ("/admin/projects/{}", "/admin/projects/{}/preview", "/projects/{}/token"):
            fuzzer.send(client, "GET", path.format(query))
        fuzzer.send(client, "POST", f"/admin/projects/{query}/preview", {})
        fuzzer.send(client, "GET", f"/admin/projects/{query}/delete")
