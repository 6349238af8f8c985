"""Encryption at rest for supporters' tokens and Mastodon apps' client secrets.

The key comes from the environment, never from a file in the repository or the database:
``CAMPAIGN_BOT_SECRET_KEY`` holds one or more Fernet keys separated by commas. The first key encrypts; every
key decrypts (cryptography's MultiFernet), so a key rotates in three steps: put the new key first and keep
the old one after it, run ``campaign-bot secrets rotate`` (re-encrypts every stored secret with the first
key), then drop the old key. A new key: ``python -c "from cryptography.fernet import Fernet;
print(Fernet.generate_key().decode())"``.

Nothing here logs or puts a secret (or the key) in an error message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.errors import ConfigError

KEY_ENV = "CAMPAIGN_BOT_SECRET_KEY"


class SecretKeyError(ConfigError):
    """The key is missing, malformed, or does not decrypt what is stored. One line, no secret in it."""


class Cipher:
    """Encrypts with the first key, decrypts with any."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretKeyError(f"${KEY_ENV} is empty: set it to a Fernet key (see `campaign-bot secrets --help`)")
        fernets = []
        for position, key in enumerate(keys, 1):
            try:
                fernets.append(Fernet(key.encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                raise SecretKeyError(
                    f"${KEY_ENV}: key {position} of {len(keys)} is not a Fernet key (32 url-safe base64-encoded "
                    "bytes; make one with `campaign-bot secrets new-key`)") from None
        self._multi = MultiFernet(fernets)
        self.key_count = len(fernets)

    def encrypt(self, value: str) -> str:
        return self._multi.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._multi.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretKeyError(
                f"a stored secret cannot be decrypted with any key in ${KEY_ENV}: was the key it was encrypted "
                "with removed? Put it back (after the first key) and run `campaign-bot secrets rotate`") from None

    def rotate(self, token: str) -> str:
        """The same secret, encrypted with the first key."""
        try:
            return self._multi.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise SecretKeyError(
                f"a stored secret cannot be decrypted with any key in ${KEY_ENV}: nothing was rotated") from None


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def cipher_from_env(environ: Mapping[str, str] | None = None) -> Cipher | None:
    """The cipher from ``$CAMPAIGN_BOT_SECRET_KEY`` (or the file named by ``$CAMPAIGN_BOT_SECRET_KEY_FILE``);
    None when neither is set. Raises SecretKeyError for a malformed key."""
    env = os.environ if environ is None else environ
    raw = env.get(KEY_ENV, "")
    if not raw.strip() and env.get(f"{KEY_ENV}_FILE"):
        path = env[f"{KEY_ENV}_FILE"]
        try:
            with open(path, encoding="utf-8") as handle:
                raw = handle.read()
        except OSError as exc:
            raise SecretKeyError(f"cannot read ${KEY_ENV}_FILE ({path}): {exc.strerror}") from None
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        return None
    return Cipher(keys)


def require_cipher(environ: Mapping[str, str] | None = None) -> Cipher:
    cipher = cipher_from_env(environ)
    if cipher is None:
        raise SecretKeyError(f"${KEY_ENV} is not set: supporters' tokens are encrypted with it (make a key with "
                             "`campaign-bot secrets new-key` and keep it outside the repository)")
    return cipher
