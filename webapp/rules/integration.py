"""What a product website's developer pastes: the token URL, an API key the vendor's Web SDK
accepts, and the three ways to connect with the SDK, filled in for one project."""

import base64
import json

SNIPPET_DOCUMENTED = """\
// The SDK's documented custom-token-server flow. The fetch sends the visitor's sign-in
// cookie to the token issuer; the website's origin must be in the project's allowed origins.
const res = await fetch({token_url}, {{ credentials: "include" }});
const body = await res.json();
if (!res.ok) {{
  throw new Error(body.error); // 401: the visitor is not signed in to the issuer
}}
const scene = new Scene({{ videoElement: document.querySelector("video") }});
await scene.connect({{ tokenServer: {{ uri: body.url, token: body.jwt }} }});
"""

SNIPPET_BEARER = """\
// The website's own sign-in: the visitor's ID token (or JWT access token) from its identity
// provider's SDK, e.g. Auth0's getIdTokenClaims().__raw, oidc-client-ts's user.id_token or
// MSAL's idToken. No cookie is involved, so this works from any allowed origin on any site.
const idToken = await getIdTokenFromYourProvider();
const res = await fetch({token_url}, {{
  headers: {{ Authorization: `Bearer ${{idToken}}` }},
}});
const body = await res.json();
if (!res.ok) {{
  throw new Error(body.error); // 401: the token was refused, and the error says why
}}
const scene = new Scene({{ videoElement: document.querySelector("video") }});
await scene.connect({{ tokenServer: {{ uri: body.url, token: body.jwt }} }});
"""

SNIPPET_API_KEY = """\
// The SDK's API-key flow: the SDK fetches the token itself, with same-origin cookies only,
// so this works on the token issuer's own origin. The key holds the token URL in path form.
const scene = new Scene({{
  apiKey: {api_key},
  videoElement: document.querySelector("video"),
}});
await scene.connect();
"""


def token_url(public_url: str, slug: str) -> str:
    """The path form: the SDK appends `?sessionId=` to it when it resumes a session."""
    return f"{public_url.rstrip('/')}/auth/authorize/{slug}"


def sdk_api_key(auth_server: str) -> str:
    """The SDK reads only `authServer` from the base64 JSON of its `apiKey`, and GETs it."""
    return base64.b64encode(json.dumps({"authServer": auth_server}).encode()).decode()


def documented_flow_snippet(url: str) -> str:
    return SNIPPET_DOCUMENTED.format(token_url=json.dumps(url))


def api_key_snippet(url: str) -> str:
    return SNIPPET_API_KEY.format(api_key=json.dumps(sdk_api_key(url)))


def bearer_snippet(url: str) -> str:
    return SNIPPET_BEARER.format(token_url=json.dumps(url))
