"""Encryption at rest for supporters' tokens and Mastodon apps' client secrets.

The key comes from the environment, never from a file in the repository or the database:
``CAMPAIGN_BOT_SECRET_KEY`` holds one or more master keys separated by commas, and the Fernet key used here is
derived from each for this purpose alone (bot/config/keys.py). The first key encrypts; every key decrypts
(cryptography's MultiFernet), so a key rotates in three steps: put the new key first and keep the old one
after it, run ``campaign-bot secrets rotate`` (re-encrypts every stored secret with the first key), then drop
the old key. Secrets encrypted before keys were derived (with a master key itself) still decrypt, and `secrets
rotate` moves them to the derived key. A new key: ``campaign-bot secrets new-key``.

Nothing here logs or puts a secret (or the key) in an error message.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping

from bot.config.keys import FERNET, KEY_ENV, SecretKeyError, derived, master_bytes, raw_keys

__all__ = ["KEY_ENV", "Cipher", "SecretKeyError", "cipher_from_env", "new_key", "require_cipher"]


class Cipher:
    """Encrypts with the first key's derived Fernet key, decrypts with any key's (or, for secrets stored before
    keys were derived, with a master key itself)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretKeyError(f"${KEY_ENV} is empty: set it to a Fernet key (see `campaign-bot secrets --help`)")
        from cryptography.fernet import Fernet, MultiFernet  # loaded only when a key is set

        legacy = [Fernet(base64.urlsafe_b64encode(master_bytes(k, i, len(keys)))) for i, k in enumerate(keys, 1)]
        current = [Fernet(base64.urlsafe_b64encode(k)) for k in derived(keys, FERNET)]
        self._multi = MultiFernet(current + legacy)
        self.key_count = len(keys)

    def encrypt(self, value: str) -> str:
        return self._multi.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._multi.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretKeyError(
                f"a stored secret cannot be decrypted with any key in ${KEY_ENV}: was the key it was encrypted "
                "with removed? Put it back (after the first key) and run `campaign-bot secrets rotate`") from None

    def rotate(self, token: str) -> str:
        """The same secret, encrypted with the first key."""
        from cryptography.fernet import InvalidToken

        try:
            return self._multi.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise SecretKeyError(
                f"a stored secret cannot be decrypted with any key in ${KEY_ENV}: nothing was rotated") from None


def new_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


def cipher_from_env(environ: Mapping[str, str] | None = None) -> Cipher | None:
    """The cipher from ``$CAMPAIGN_BOT_SECRET_KEY`` (or the file named by ``$CAMPAIGN_BOT_SECRET_KEY_FILE``);
    None when neither is set. Raises SecretKeyError for a malformed key."""
    keys = raw_keys(environ)
    if not keys:
        return None
    found = _CIPHERS.get(tuple(keys))  # each secret read asks: deriving the keys again cost more than decrypting
    if found is None:
        found = Cipher(keys)
        with _CIPHERS_LOCK:
            if len(_CIPHERS) >= 8:  # keys change rarely (a rotation): the old ones need not be kept
                _CIPHERS.clear()
            _CIPHERS[tuple(keys)] = found
    return found


_CIPHERS: dict[tuple[str, ...], Cipher] = {}
"""By the keys as read from the environment (read again at every call: a changed key takes effect at once)."""
_CIPHERS_LOCK = threading.Lock()


def require_cipher(environ: Mapping[str, str] | None = None) -> Cipher:
    cipher = cipher_from_env(environ)
    if cipher is None:
        raise SecretKeyError(f"${KEY_ENV} is not set: supporters' tokens are encrypted with it (make a key with "
                             "`campaign-bot secrets new-key` and keep it outside the repository)")
    return cipher
