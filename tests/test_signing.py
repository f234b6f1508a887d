import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from webapp.rules.signing import UnusableKey, sign
from webapp.rules.signing import key_problems as key_problems_as_data
from webapp.rules.wording import describe


def key_problems(key: str, algorithm: str) -> tuple[list[str], list[str]]:
    """(errors, warnings) as an admin reads them."""
    errors, warnings = key_problems_as_data(key, algorithm)
    return [describe(e) for e in errors], [describe(w) for w in warnings]


def pem(private) -> str:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_short_hmac_key_is_a_warning_not_an_error():
    errors, warnings = key_problems("short", "HS256")
    assert errors == []
    assert warnings == ["This key is 5 bytes; HS256 keys should be at least 32 bytes."]


def test_short_hmac_key_still_signs_without_noise():
    token = sign({"iss": "x"}, "short", "HS256")  # warnings are errors in this suite
    with pytest.warns(jwt.InsecureKeyLengthWarning):  # the verifier does complain
        assert jwt.decode(token, "short", algorithms=["HS256"]) == {"iss": "x"}


def test_long_enough_hmac_key_is_fine():
    assert key_problems("x" * 64, "HS512") == ([], [])
    assert key_problems("x" * 63, "HS512")[1]


def test_pem_for_hmac_is_an_error(signing_keys):
    errors, _ = key_problems(signing_keys["RS256"][0], "HS256")
    assert errors == ["HS256 signs with a shared secret, not a public or private key."]


def test_small_rsa_key_is_refused():
    small = pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    assert key_problems(small, "RS256")[0] == ["RS256 needs an RSA key of at least 2048 bits."]


def test_ec_key_must_be_p256(signing_keys):
    other_curve = pem(ec.generate_private_key(ec.SECP384R1()))
    assert "P-256" in key_problems(other_curve, "ES256")[0][0]
    assert "RSA" in key_problems(signing_keys["ES256"][0], "RS256")[0][0]
    assert key_problems(signing_keys["ES256"][0], "ES256") == ([], [])


def test_garbage_pem_is_refused():
    assert "PEM private key" in key_problems("-----BEGIN PRIVATE KEY-----\nxx", "ES256")[0][0]
    with pytest.raises(UnusableKey):
        sign({"iss": "x"}, "not a pem", "RS256")


def test_empty_key_never_signs():
    with pytest.raises(UnusableKey):
        sign({"iss": "x"}, "", "HS256")
