"""Per-account state kept in the database: a Bluesky session, a Mastodon instance's limits.

Adapters reach it through these functions so they never hold a session of their own for long.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.store.models import AccountStateRow

if TYPE_CHECKING:
    from bot.app import App


def _row(session: Any, account_id: str) -> AccountStateRow:
    row = session.get(AccountStateRow, account_id)
    if row is None:
        row = AccountStateRow(account_id=account_id, disabled=False)
        session.add(row)
    return row


def update_in(db: Any, account_id: str, now: datetime, /, **values: object) -> None:
    """Set fields of an account's state inside the caller's transaction (``db``: the ORM session)."""
    row = _row(db, account_id)
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = now


def load(app: App | None, account_id: str, field: str) -> dict[str, Any] | None:
    if app is None:
        return None
    with app.sessions() as session:
        row = session.get(AccountStateRow, account_id)
        return getattr(row, field) if row is not None else None


def save(app: App | None, account_id: str, field: str, value: dict[str, Any] | None) -> None:
    if app is None:
        return
    with app.sessions.begin() as session:
        update_in(session, account_id, app.clock.now(), **{field: value})


def enable(app: App, account_id: str) -> bool:
    """Clear the disabled flag after a person fixed the credentials."""
    with app.sessions.begin() as session:
        row = session.get(AccountStateRow, account_id)
        if row is None or not row.disabled:
            return False
        row.disabled, row.disabled_reason, row.disabled_at = False, None, None
        row.updated_at = app.clock.now()
        return True
