"""The target answered: mentions by a target's account become target_responses rows; everyone else's are
counted (reach_accounts.others_answers), never stored.

A mention is a target's when its author is the handle, on that network, of a target of any campaign
(targets.toml, as the campaigns in the database hold them). It belongs to the campaign of the post it
replies to or quotes; a plain mention belongs to the latest campaign naming that target that the account
published for.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from bot.networks.reading import Mention, handle_key
from bot.outbox.tables import CAMPAIGNS, DELIVERIES
from bot.reach.tables import RESPONSES
from bot.states import Status

D = DELIVERIES.c


def target_handles(conn: Connection, network: str) -> dict[str, set[str]]:
    """Campaign id -> the handle keys of its targets on ``network``."""
    out: dict[str, set[str]] = {}
    for cid, definition in conn.execute(select(CAMPAIGNS.c.id, CAMPAIGNS.c.definition)):
        targets: dict[str, Any] = (definition or {}).get("targets") or {}
        out[cid] = {handle_key(str(t[network])) for t in targets.values() if isinstance(t, dict) and t.get(network)}
    return out


def _campaign_for(conn: Connection, account_id: str, mention: Mention, key: str,
                  handles: dict[str, set[str]]) -> tuple[str | None, int | None]:
    if mention.subject:
        row = conn.execute(select(D.id, D.campaign_id).where(D.account_id == account_id,
                                                              D.remote_id == mention.subject)).first()
        if row is not None:
            return row.campaign_id, row.id
    latest = conn.execute(select(D.campaign_id, func.max(D.sent_at).label("last"))
                          .where(D.account_id == account_id, D.status == Status.SENT)
                          .group_by(D.campaign_id)).all()
    naming = [r for r in latest if key in handles.get(r.campaign_id, set())]
    if not naming:
        return None, None
    return max(naming, key=lambda r: r.last).campaign_id, None


def record(conn: Connection, account_id: str, network: str, mentions: Iterable[Mention],
           now: datetime) -> tuple[int, int]:
    """Store the targets' answers (each once: network and remote id are unique); returns (stored, others)."""
    mentions = list(mentions)
    if not mentions:  # nothing to attribute: the campaigns' targets are not read
        return 0, 0
    handles = target_handles(conn, network)
    every_target = set().union(*handles.values()) if handles else set()
    stored = others = 0
    for mention in mentions:
        key = handle_key(mention.author)
        campaign, delivery = _campaign_for(conn, account_id, mention, key, handles) if key in every_target \
            else (None, None)
        if campaign is None:
            others += 1
            continue
        try:
            with conn.begin_nested():
                conn.execute(RESPONSES.insert().values(
                    campaign_id=campaign, network=network, account_id=account_id, delivery_id=delivery,
                    author=mention.author, kind=mention.kind, text=mention.text, url=mention.url,
                    remote_id=mention.remote_id, received_at=mention.created_at or now))
            stored += 1
        except IntegrityError:  # read before (another process, or a cursor that did not move)
            continue
    return stored, others
