"""One master key, one derived key per purpose.

``CAMPAIGN_BOT_SECRET_KEY`` (or the file ``CAMPAIGN_BOT_SECRET_KEY_FILE`` names) holds one or more master keys,
comma-separated, the first current (each a Fernet key: 32 random bytes, url-safe base64; `campaign-bot secrets
new-key`). Nothing uses a master key directly: each purpose gets its own key, derived with HKDF-SHA256 (RFC 5869;
the input is already uniformly random, so no salt is needed and ``info`` separates the purposes):

- ``fernet``: encrypts supporters' tokens and OAuth client secrets (bot/supporters/crypto.py);
- ``session-cookie``: signs the web app's session cookie (bot/web/app.py).

So a leaked cookie-signing key decrypts nothing, and the reverse. Rotating: put a new master key first and keep
the old one after it; both purposes then accept what the old key made (tokens decrypt, cookies verify) while
producing with the new one; `campaign-bot secrets rotate` re-encrypts the tokens; then drop the old key.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping

from bot.errors import ConfigError

KEY_ENV = "CAMPAIGN_BOT_SECRET_KEY"
FERNET = "fernet"
SESSION_COOKIE = "session-cookie"


class SecretKeyError(ConfigError):
    """The key is missing, malformed, or does not decrypt what is stored. One line, no secret in it."""


def raw_keys(environ: Mapping[str, str] | None = None) -> list[str]:
    """The master keys as written (first current); empty when neither variable is set."""
    env = os.environ if environ is None else environ
    raw = env.get(KEY_ENV, "")
    if not raw.strip() and env.get(f"{KEY_ENV}_FILE"):
        path = env[f"{KEY_ENV}_FILE"]
        try:
            with open(path, encoding="utf-8") as handle:
                raw = handle.read()
        except OSError as exc:
            raise SecretKeyError(f"cannot read ${KEY_ENV}_FILE ({path}): {exc.strerror}") from None
    return [k.strip() for k in raw.split(",") if k.strip()]


def master_bytes(key: str, position: int = 1, total: int = 1) -> bytes:
    try:
        value = base64.urlsafe_b64decode(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        value = b""
    if len(value) != 32:
        raise SecretKeyError(f"${KEY_ENV}: key {position} of {total} is not a Fernet key (32 url-safe "
                             "base64-encoded bytes; make one with `campaign-bot secrets new-key`)")
    return value


def derive(master: bytes, purpose: str) -> bytes:
    """32 bytes for ``purpose`` (a new HKDF object each time: derive() may be called once)."""
    from cryptography.hazmat.primitives import hashes  # loaded only when a key is set
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"campaign-bot/{purpose}/v1".encode()).derive(master)


def derived(keys: list[str], purpose: str) -> list[bytes]:
    """The purpose's key from each master key, in the same order (first current)."""
    return [derive(master_bytes(k, i, len(keys)), purpose) for i, k in enumerate(keys, 1)]
