"""Per-account state kept in the database: a Bluesky session, a Mastodon instance's limits, work a Threads post
left half done (its container), the disabled flag.

Adapters get a ``DbAccountStore`` for their account (networks.base.AccountStore): it opens a short session
per call, so an adapter never holds one for long, and it knows nothing of the App.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.store.models import AccountStateRow


class _HasDatabase(Protocol):
    """What enable() needs of the application (bot.bootstrap.App has both)."""

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def clock(self) -> Clock: ...


def _row(session: Session, account_id: str) -> AccountStateRow:
    row = session.get(AccountStateRow, account_id)
    if row is None:
        row = AccountStateRow(account_id=account_id, disabled=False)
        session.add(row)
    return row


def update_in(db: Session, account_id: str, now: datetime, /, **values: object) -> None:
    """Set fields of an account's state inside the caller's transaction (``db``: the ORM session)."""
    row = _row(db, account_id)
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = now


class DbAccountStore:
    """One account's adapter state (``session``, ``limits``, ``progress``) in the account_state table."""

    FIELDS = ("session", "limits", "progress")

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, account_id: str) -> None:
        self.sessions, self.clock, self.account_id = sessions, clock, account_id

    def load(self, field: str) -> dict[str, Any] | None:
        self._check(field)
        with self.sessions() as session:
            row = session.get(AccountStateRow, self.account_id)
            value: dict[str, Any] | None = getattr(row, field) if row is not None else None
            return value

    def save(self, field: str, value: dict[str, Any] | None) -> None:
        self._check(field)
        with self.sessions.begin() as session:
            update_in(session, self.account_id, self.clock.now(), **{field: value})

    def _check(self, field: str) -> None:
        if field not in self.FIELDS:  # the row has other columns; an adapter must not write those
            raise ValueError(f"unknown account state field {field!r} (known: {', '.join(self.FIELDS)})")


def enable(app: _HasDatabase, account_id: str) -> bool:
    """Clear the disabled flag after a person fixed the credentials."""
    with app.sessions.begin() as session:
        row = session.get(AccountStateRow, account_id)
        if row is None or not row.disabled:
            return False
        row.disabled, row.disabled_reason, row.disabled_at = False, None, None
        row.updated_at = app.clock.now()
        return True
