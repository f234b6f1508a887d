"""Our own Flask extension: the application's MultiFernet for secrets at rest (signing keys,
second-factor secrets). Bound in `create_app`, used by the models."""

from cryptography.fernet import Fernet, MultiFernet
from flask import Flask, current_app

from webapp.config import ConfigError
from webapp.rules import encryption


class SecretBox:
    """Encrypts and decrypts with the keys of the current application."""

    def init_app(self, app: Flask) -> None:
        try:
            fernets = encryption.parse_keys(app.config["SECRETS_ENCRYPTION_KEYS"])
        except encryption.EncryptionKeyError as error:
            raise ConfigError(str(error)) from None
        app.extensions["secret_box"] = (MultiFernet(fernets), fernets[0])

    @property
    def fernet(self) -> MultiFernet:
        return current_app.extensions["secret_box"][0]

    @property
    def first_key(self) -> Fernet:
        return current_app.extensions["secret_box"][1]

    def encrypt(self, value: str) -> str:
        return encryption.encrypt(self.fernet, value)

    def decrypt(self, token: str) -> str:
        return encryption.decrypt(self.fernet, token)

    def rotate(self, token: str) -> str:
        return encryption.rotate(self.fernet, token)

    def is_current(self, token: str) -> bool:
        """Encrypted under the first key already: a rotation would change nothing."""
        return encryption.is_current(self.first_key, token)


secret_box = SecretBox()
