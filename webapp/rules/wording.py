"""How the rules' problems read to an admin, on a form or on the command line."""

from webapp.rules.problems import Problem

# By (field, code); a code alone applies to any field that has no wording of its own.
MESSAGES = {
    ("slug", "pattern"): "Use lower-case letters, digits and single hyphens, e.g. shop-assistant.",
    ("slug", "reserved"): "“{slug}” is taken by the page that creates projects; choose another.",
    ("slug", "taken"): "Another project already has this slug.",
    ("is_default", "taken"): "Another project was made the default at the same moment. Save again.",
    ("session_server", "host"): (
        "Enter the Digital Person server's host, e.g. dh.soulmachines.cloud."
    ),
    ("issuer", "required"): "Enter the key name Soul Machines assigned, e.g. sm-abcdef123456789.",
    ("algorithm", "choice"): "Choose one of {choices}.",
    ("environment", "choice"): "Choose development or production.",
    ("token_lifetime", "range"): "Choose between {lowest:,} and {highest:,} seconds.",
    ("orchestration_url", "url"): (
        "Enter a WebSocket URL such as wss://orchestration.example.com:8080."
    ),
    ("orchestration_url", "plain_ws"): (
        "Use wss://; plain ws:// is only for a localhost orchestration server."
    ),
    ("orchestration_url", "localhost"): (
        "A localhost orchestration server is only reachable with Control via browser, "
        "which only development projects allow."
    ),
    ("control_via_browser", "development_only"): (
        "Control via browser is only allowed in development projects."
    ),
    ("control_via_browser", "needs_orchestration"): (
        "Control via browser needs an orchestration URL."
    ),
    ("control_cookie_header", "cookie"): (
        "Enter one line of cookies in plain ASCII with no control characters, "
        "e.g. AWSALB=abc; AWSALBCORS=abc."
    ),
    ("allowed_origins", "type"): "Allowed origins must be a list of origins.",
    ("allowed_origins", "origin"): (
        "“{origin}” is not an origin: write scheme://host[:port], with no path and no wildcard."
    ),
    ("custom_claims", "type"): "Custom claims must be pairs of a name and a value.",
    ("custom_claims", "name_missing"): "A custom claim needs a name.",
    ("custom_claims", "vendor_prefix"): (
        "“{name}”: custom claim names may not begin with “sm-”; Soul Machines reserves them."
    ),
    ("custom_claims", "reserved"): (
        "“{name}” is set by the issuer itself and cannot be a custom claim."
    ),
    ("custom_claims", "name_text"): (
        "A custom claim's name must be one line of at most {longest:,} characters, with no "
        "control characters and nothing UTF-8 cannot encode (such as a lone surrogate)."
    ),
    ("custom_claims", "depth"): (
        "“{name}” nests lists and objects more than {deepest} levels deep; a token must not."
    ),
    ("custom_claims", "nesting"): (
        "Custom claims may nest lists and objects at most {deepest} levels deep."
    ),
    ("custom_claims", "unencodable"): (
        "“{name}” holds text a token cannot carry: a NUL character, or a lone surrogate "
        "that UTF-8 cannot encode."
    ),
    ("custom_claims", "size"): "Custom claims may take at most {largest:,} bytes as JSON.",
    ("custom_claims", "value"): (
        "“{name}” needs a JSON value: text, a finite number, true, false, a list or an object."
    ),
    (
        "signing_key",
        "required",
    ): "Enter the signing key. It is the one Soul Machines shared with you.",
    ("signing_key", "unreadable"): "The stored key cannot be decrypted: enter it again.",
    ("signing_key", "not_a_secret"): (
        "{algorithm} signs with a shared secret, not a public or private key."
    ),
    ("signing_key", "short"): (
        "This key is {size} bytes; {algorithm} keys should be at least {wanted} bytes."
    ),
    ("signing_key", "pem"): (
        "{algorithm} needs an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)."
    ),
    ("signing_key", "rsa"): "RS256 needs an RSA private key.",
    ("signing_key", "rsa_size"): "RS256 needs an RSA key of at least {bits} bits.",
    ("signing_key", "ec"): "ES256 needs an elliptic-curve key on P-256 (prime256v1).",
    ("signing_key", "algorithm"): "Unknown algorithm {algorithm}.",
    ("version", "stale"): (
        "This project was changed by someone else since you opened it. Your input is kept "
        "below; open the project again to see their changes before you save."
    ),
    ("oidc_issuer", "url"): (
        "Enter the provider's issuer URL, e.g. https://example.eu.auth0.com/: https://, or "
        "http:// only for a provider on this machine."
    ),
    ("oidc_issuer", "unreachable"): (
        "The provider's discovery document or keys cannot be fetched: {error}"
    ),
    ("oidc_issuer", "discovery_shape"): (
        "The provider's /.well-known/openid-configuration is not a discovery document."
    ),
    ("oidc_issuer", "issuer_mismatch"): (
        "The provider's discovery document names the issuer “{found}”: enter exactly that."
    ),
    ("oidc_issuer", "jwks_uri"): (
        "The provider's discovery document names no https:// jwks_uri for its keys."
    ),
    ("oidc_issuer", "no_keys"): (
        "The provider publishes no public signing key for RS256, PS256, ES256 or EdDSA."
    ),
    ("oidc_audiences", "type"): "Audiences must be a list of at most {most} audiences.",
    ("oidc_audiences", "audience"): (
        "Each audience is one word of at most {longest} characters, e.g. the client ID."
    ),
    ("oidc_audiences", "required"): (
        "Enter at least one audience: the client ID (or API identifier) the provider's "
        "tokens are issued for."
    ),
    ("oidc_required_value", "value"): "Enter one word of at most {longest} characters.",
    ("oidc_required_value", "pair"): "Enter both a required claim and its value, or neither.",
    "claim_name": "Enter a claim name such as locale or groups.",
    "range": "Choose between {lowest:,} and {highest:,} seconds.",
    # Problems only an imported file can have.
    ("slug", "duplicate"): "The file has this slug more than once.",
    ("is_default", "several"): "The file makes more than one project the default.",
    ("project", "object"): "Each project must be a JSON object of settings.",
    ("version", "gone"): (
        "“{slug}” was not deleted: someone else deleted or changed it at the same moment. "
        "Look at the list again."
    ),
    "required": "This field is required.",
    "text": "Enter one line of text of at most {longest:,} characters.",
    "boolean": "Choose true or false.",
    "unknown": "“{field}” is not a project setting.",
    # Account problems carry the rule's own sentence.
    "invalid": "{message}",
    "weak": "{message}",
}


def describe(problem: Problem) -> str:
    template = MESSAGES.get((problem.field, problem.code)) or MESSAGES.get(problem.code)
    if template is None:
        return str(problem)
    return template.format(field=problem.field, **problem.params)
