"""Our own Flask extension: the application's MultiFernet for secrets at rest (signing keys,
second-factor secrets). Bound in `create_app`, used by the models."""

from cryptography.fernet import MultiFernet
from flask import Flask, current_app

from webapp.config import ConfigError
from webapp.rules import encryption


class SecretBox:
    """Encrypts and decrypts with the keys of the current application."""

    def init_app(self, app: Flask) -> None:
        try:
            fernet = encryption.load_keys(app.config["SECRETS_ENCRYPTION_KEYS"])
        except encryption.EncryptionKeyError as error:
            raise ConfigError(str(error)) from None
        app.extensions["secret_box"] = fernet

    @property
    def fernet(self) -> MultiFernet:
        return current_app.extensions["secret_box"]

    def encrypt(self, value: str) -> str:
        return encryption.encrypt(self.fernet, value)

    def decrypt(self, token: str) -> str:
        return encryption.decrypt(self.fernet, token)

    def rotate(self, token: str) -> str:
        return encryption.rotate(self.fernet, token)


secret_box = SecretBox()
