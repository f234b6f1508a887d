import hashlib

import pytest
from cryptography.fernet import Fernet

from webapp.extensions import db
from webapp.models import Project
from webapp.rules import encryption
from webapp.rules.encryption import SecretUnreadable


def keys(*fernet_keys: str):
    return encryption.load_keys(",".join(fernet_keys))


OLD, NEW, OTHER = (Fernet.generate_key().decode() for _ in range(3))


def test_round_trip():
    box = keys(NEW)
    stored = encryption.encrypt(box, "sécret key")
    assert "sécret" not in stored
    assert encryption.decrypt(box, stored) == "sécret key"


def test_old_key_still_decrypts_after_a_new_key_is_put_first():
    stored = encryption.encrypt(keys(OLD), "the vendor's key")
    assert encryption.decrypt(keys(NEW, OLD), stored) == "the vendor's key"


def test_rotate_moves_a_value_to_the_first_key():
    stored = encryption.encrypt(keys(OLD), "the vendor's key")
    rotated = encryption.rotate(keys(NEW, OLD), stored)
    assert encryption.decrypt(keys(NEW), rotated) == "the vendor's key"
    with pytest.raises(SecretUnreadable):
        encryption.decrypt(keys(OLD), rotated)


def test_wrong_key_is_a_clear_error():
    stored = encryption.encrypt(keys(OLD), "the vendor's key")
    with pytest.raises(SecretUnreadable, match="cannot be decrypted with any key"):
        encryption.decrypt(keys(OTHER), stored)
    with pytest.raises(SecretUnreadable):
        encryption.rotate(keys(OTHER), stored)


def test_garbage_is_a_clear_error():
    with pytest.raises(SecretUnreadable):
        encryption.decrypt(keys(NEW), "not a fernet token")


def test_fingerprint_is_first_8_hex_of_sha256():
    assert encryption.fingerprint("clé") == hashlib.sha256("clé".encode()).hexdigest()[:8]
    assert len(encryption.fingerprint("x")) == 8


@pytest.mark.parametrize("configured", ["", " , ", "short", f"{NEW},oops"])
def test_bad_key_lists_are_refused(configured):
    with pytest.raises(encryption.EncryptionKeyError):
        encryption.load_keys(configured)


def test_project_keeps_its_signing_key_encrypted(app, make_project):
    project = make_project(key="the vendor's shared secret")
    with app.app_context():
        stored = db.session.get(Project, project.id)
        assert "shared secret" not in stored.signing_key_encrypted
        assert stored.decrypt_signing_key() == "the vendor's shared secret"
        assert stored.signing_key_fingerprint == encryption.fingerprint(
            "the vendor's shared secret"
        )


def test_project_key_unreadable_under_other_keys(make_app, make_project):
    project = make_project()
    stranger = make_app(SECRETS_ENCRYPTION_KEYS=OTHER)
    with stranger.app_context(), pytest.raises(SecretUnreadable):
        db.session.get(Project, project.id).decrypt_signing_key()
