"""After a worker died mid-send: its leases expire, and what it was sending is resent where that is safe
(an idempotent network) or settled by reading the account, or flagged `unknown` for a person."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.deliveries import PLANNED, SENDING, SENT, UNKNOWN
from bot.networks.base import Post, Published
from bot.store.models import DeliveryRow

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


def settle(app: App, account_id: str, post: Post) -> Published | None:
    """Ask the network whether the post exists (where it can tell); None when it cannot say."""
    try:
        return app.network(account_id).find_published(post)
    except Exception:  # settling is best effort; the delivery stays flagged
        log.exception("account %s: could not read recent posts to settle an unknown outcome", account_id)
        return None


def expire_leases(app: App, sessions: sessionmaker[Session]) -> int:
    """Handle every delivery whose sending lease expired; returns how many there were."""
    now = app.clock.now()
    with sessions.begin() as session:
        rows = session.scalars(
            select(DeliveryRow).where(DeliveryRow.status == SENDING, DeliveryRow.lease_expires_at < now)
            .with_for_update(skip_locked=True)
        ).all()
        flagged = []
        for d in rows:
            values: dict[str, Any]
            if app.network(d.account_id).idempotent:
                values = dict(status=PLANNED, lease_owner=None, lease_expires_at=None, error_kind="lease_expired",
                              error="the worker sending this stopped mid-send; resending (safe on this network)")
            else:
                values = dict(status=UNKNOWN, error_kind="outcome_unknown",
                              error="the worker sending this stopped mid-send; the post may or may not exist: "
                                    f"check the account, then `campaign-bot resolve {d.id} --sent URL` or "
                                    "`--not-sent`")
                flagged.append(d)
            session.execute(update(DeliveryRow)
                            .where(DeliveryRow.id == d.id, DeliveryRow.status == SENDING,
                                   DeliveryRow.lease_expires_at < now)
                            .values(updated_at=now, **values)
                            .execution_options(synchronize_session=False))
            log.warning("delivery %s: lease expired (%s)", d.id, values["status"])
    for d in flagged:  # outside the transaction: this may read the network
        found = settle(app, d.account_id, Post(d.id, f"campaign-bot-{d.id}", d.text, d.language,
                                               scheduled_at=d.due_at))
        if found is not None:
            with sessions.begin() as session:
                session.execute(update(DeliveryRow)
                                .where(DeliveryRow.id == d.id, DeliveryRow.status == UNKNOWN)
                                .values(status=SENT, sent_at=now, remote_id=found.remote_id, remote_url=found.url,
                                        remote_ref=found.ref or None, error=None, error_kind=None, updated_at=now)
                                .execution_options(synchronize_session=False))
    return len(rows)
