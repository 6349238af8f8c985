"""Record keys for Bluesky records: TIDs that are the same on every attempt of one delivery.

No atproto import here: bot/networks/bluesky.py (the adapter) and tests use these.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def delivery_tid(delivery_id: int, scheduled_at: datetime | None, idempotency_key: str = "") -> str:
    """A valid TID (the record key posts use) that is the same on every attempt of one delivery.

    53 bits of microseconds and 10 bits of clock id; the delivery id is folded into both, so two deliveries
    of one account due at the same instant still get different keys. The idempotency key (unique across
    databases, see bot.store.models.InstallationRow) moves the key within its second and clock id, so that
    delivery 1 of another database due at the same instant does not find this one's record; the legacy key
    ``campaign-bot-<id>`` keeps the key it always had.
    """
    base = scheduled_at or datetime(2024, 1, 1, tzinfo=UTC)
    micros = int(base.timestamp() * 1_000_000) + delivery_id // 1024
    clock = delivery_id % 1024
    if idempotency_key and idempotency_key != f"campaign-bot-{delivery_id}":
        salt = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:8], "big")
        micros += salt % 1_000_000
        clock = (clock + (salt >> 20)) % 1024
    return _tid(((micros & ((1 << 53) - 1)) << 10) | clock)


def repost_rkey(subject_uri: str) -> str:
    """The rkey of a supporter's repost of ``subject_uri``: the post's own TID (else one derived from it)."""
    rkey = subject_uri.rstrip("/").rsplit("/", 1)[-1]
    if _TID_RE.match(rkey):
        return rkey
    return _tid(int.from_bytes(hashlib.sha256(subject_uri.encode()).digest()[:8], "big") >> 1)


def _tid(value: int) -> str:
    out = []
    for _ in range(13):
        out.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))
