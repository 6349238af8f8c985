"""When a post is due a reading, and how much each account may read.

Readings follow a decaying schedule after publication (10 min, 1 h, 6 h, 1 day, 3 days), then one a day
while the campaign is open. Reads have their own budget per account (requests per window, counted in
reach_accounts), sized to leave the network's limits to posting: a read never spends what a post needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Integer, and_, bindparam, case, func, or_, select

from bot.clock import as_utc
from bot.outbox.tables import CAMPAIGNS, DELIVERIES
from bot.reach.tables import READERS, SNAPSHOTS
from bot.states import Action, CampaignState, Status
from bot.store.models import UTCDateTime
from bot.store.raw import Raw

D, C, S = DELIVERIES.c, CAMPAIGNS.c, SNAPSHOTS.c
STEPS = (timedelta(minutes=10), timedelta(hours=1), timedelta(hours=6), timedelta(days=1), timedelta(days=3))
DAILY = timedelta(days=1)

READ_BUDGETS: dict[str, tuple[int, int]] = {
    # network: (requests, per seconds). Mastodon allows 300 requests per 5 minutes per account, posting
    # included: reads take a fifth. Bluesky's AppView allows thousands; X's reads are few and paid.
    "mastodon": (60, 300),
    "bluesky": (300, 300),
    "x": (5, 900),
    # Threads allows 4,800 calls a day per impression (at least 10); Facebook Pages 4,800 a day per engaged
    # user: the mentions every 30 s and a few counts fit well inside.
    "threads": (300, 3600),
    "facebook": (300, 3600),
}
BATCH: dict[str, int] = {"mastodon": 20, "bluesky": 25, "x": 100, "threads": 1, "facebook": 50}
"""Posts per counts request (Mastodon's statuses index, Bluesky's getPosts, X's tweets lookup, Threads'
insights of one post, Facebook's multiple-id read)."""


@dataclass(frozen=True)
class DuePost:
    delivery_id: int
    campaign_id: str
    account_id: str
    network: str
    remote_id: str


def next_reading(sent_at: datetime, last: datetime | None, campaign_open: bool) -> datetime | None:
    """When a post published at ``sent_at`` and last read at ``last`` is next due a reading (None: never)."""
    for step in STEPS:
        if last is None or last < sent_at + step:
            return sent_at + step
    if not campaign_open or last is None:
        return None
    return max(last, sent_at + STEPS[-1]) + DAILY


def published(conn: Connection, campaign: str | None = None) -> Sequence[Any]:
    """The organisation's published posts (sent, action post) with their last reading."""
    last = (select(S.delivery_id, func.max(S.collected_at).label("last"))
            .group_by(S.delivery_id).subquery())
    query = (select(D.id, D.campaign_id, D.account_id, D.network, D.remote_id, D.sent_at, C.state, last.c.last)
             .join(CAMPAIGNS, C.id == D.campaign_id)
             .outerjoin(last, last.c.delivery_id == D.id)
             .where(D.status == Status.SENT, D.action == Action.POST, D.remote_id.is_not(None),
                    D.sent_at.is_not(None))
             .order_by(D.sent_at, D.id))
    if campaign is not None:
        query = query.where(D.campaign_id == campaign)
    return conn.execute(query).all()


def due_posts(conn: Connection, now: datetime, *, campaign: str | None = None, force: bool = False) -> list[DuePost]:
    """Posts due a reading now (``force``: every published post, for `report --refresh`)."""
    return readings(conn, now, campaign=campaign, force=force)[0]


def readings(conn: Connection, now: datetime, *, campaign: str | None = None,
             force: bool = False) -> tuple[list[DuePost], datetime]:
    """The posts due a reading now, and a time before which no post is due one: the soonest reading of the
    others, and at the latest the first reading of a post published from now on (the daemon's passes read
    nothing before then)."""
    due, soonest = [], now + STEPS[0]
    for row in published(conn, campaign):
        last = as_utc(row.last) if row.last is not None else None
        when = next_reading(as_utc(row.sent_at), last, row.state != CampaignState.CLOSED)
        if force or (when is not None and when <= now):
            due.append(DuePost(row.id, row.campaign_id, row.account_id, row.network, row.remote_id))
        elif when is not None:
            soonest = min(soonest, when)
    return due, soonest


def _take_reads_statement(dialect: str) -> Raw:
    """The reservation as one upsert: a new account's row created, a past window renewed, or the reads added to
    the current one; no row comes back when they do not fit (then `reserve` grants fewer). PostgreSQL and
    SQLite share the syntax (INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING); each its own construct."""
    from sqlalchemy.dialects import postgresql, sqlite

    r = READERS.c
    reads, now = bindparam("b_reads", type_=Integer()), bindparam("b_now", type_=UTCDateTime())
    past = or_(r.window_start.is_(None), r.window_start <= bindparam("b_since", type_=UTCDateTime()))
    used = func.coalesce(r.reads_used, 0)
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(READERS)
    return Raw(insert.values(account_id=bindparam("b_account"), window_start=now, reads_used=reads, others_answers=0,
                             updated_at=now)
               .on_conflict_do_update(index_elements=[r.account_id],
                                      set_={"reads_used": case((past, reads), else_=used + reads),
                                            "window_start": case((past, now), else_=r.window_start),
                                            "updated_at": now},
                                      where=or_(past, used + reads <= bindparam("b_limit", type_=Integer())))
               .returning(r.cursor, r.last_error, r.retry_at))


_TAKE_READS = {dialect: _take_reads_statement(dialect) for dialect in ("postgresql", "sqlite")}


def take_reads(conn: Connection, account_id: str, network: str, wanted: int, now: datetime) -> Any:
    """`reserve` in one statement when the ``wanted`` reads fit the account's budget (as they do on almost
    every pass, its first and the first of each window included): its reading state (cursor, last_error,
    retry_at), or None when they do not (then `reserve` grants fewer). Run raw (bot/store/raw.py): through
    SQLAlchemy's execution it cost about 1 ms of CPU, eight times the statement's own; `reserve`'s transaction
    (a row to create or a window to renew: once per account and window, 5 minutes on Mastodon) cost 2-3 ms."""
    limit, per = READ_BUDGETS.get(network, (0, 1))
    statement = _TAKE_READS.get(conn.dialect.name)
    if statement is None or wanted > limit:
        return None
    return statement.execute(conn, {"b_account": account_id, "b_since": now - timedelta(seconds=per),
                                    "b_reads": wanted, "b_limit": limit, "b_now": now})[1]


def reserve(conn: Connection, account_id: str, network: str, wanted: int, now: datetime) -> tuple[int, Any]:
    """Take up to ``wanted`` reads from the account's read budget (before the network is asked): how many it may
    make, and its reading state (created on first use) as it was before."""
    limit, per = READ_BUDGETS.get(network, (0, 1))
    locked = select(READERS).where(READERS.c.account_id == account_id).with_for_update()
    row = conn.execute(locked).first()
    if row is None:
        conn.execute(READERS.insert().values(account_id=account_id, reads_used=0, others_answers=0, updated_at=now))
        row = conn.execute(locked).one()
    start, used = row.window_start, row.reads_used or 0
    if start is None or as_utc(start) <= now - timedelta(seconds=per):
        start, used = now, 0
    granted = max(0, min(wanted, limit - used))
    conn.execute(READERS.update().where(READERS.c.account_id == account_id)
                 .values(window_start=start, reads_used=used + granted, updated_at=now))
    return granted, row


def reader(conn: Connection, account_id: str, now: datetime) -> Any:
    """The account's reading state, created on first use."""
    row = conn.execute(select(READERS).where(READERS.c.account_id == account_id)).first()
    if row is None:
        conn.execute(READERS.insert().values(account_id=account_id, reads_used=0, others_answers=0, updated_at=now))
        row = conn.execute(select(READERS).where(READERS.c.account_id == account_id)).one()
    return row


def update_reader(conn: Connection, account_id: str, now: datetime, **values: Any) -> None:
    """Set fields of the account's reading state (one statement when the row is there, as after a reserve)."""
    change = READERS.update().where(READERS.c.account_id == account_id).values(updated_at=now, **values)
    if not conn.execute(change).rowcount:
        reader(conn, account_id, now)
        conn.execute(change)


def latest_posts(conn: Connection, accounts: Iterable[str]) -> dict[str, datetime]:
    """Each of these accounts' latest published post (an account that just published is read at once again),
    on the partial index of (account_id, sent_at): these accounts' entries only, not the whole history's (a
    wave's 100,000 supporters' boosts), in one statement."""
    wanted = sorted(set(accounts))
    latest: dict[str, datetime] = {}
    for start in range(0, len(wanted), LOOKUPS):  # bounded IN lists (SQLite's variables)
        rows = conn.execute(_LATEST, {"accounts": wanted[start:start + LOOKUPS]})
        latest.update((r.account_id, as_utc(r.latest)) for r in rows if r.latest is not None)
    return latest


_LATEST = (select(D.account_id, func.max(D.sent_at).label("latest"))
           .where(D.account_id.in_(bindparam("accounts", expanding=True)), D.sent_at.is_not(None))
           .group_by(D.account_id))
LOOKUPS = 500
"""Accounts asked for in one statement by `latest_posts`."""


def answered_accounts(conn: Connection, now: datetime, days: int = 7) -> list[tuple[str, str]]:
    """(account, network) whose notifications are read: they published for a campaign that is open or closed
    less than ``days`` ago (an answer often comes after the close)."""
    recent = and_(C.state == CampaignState.CLOSED, C.state_changed_at >= now - timedelta(days=days))
    rows = conn.execute(select(D.account_id, D.network).distinct().join(CAMPAIGNS, C.id == D.campaign_id)
                        .where(D.status == Status.SENT, D.action == Action.POST,
                               (C.state != CampaignState.CLOSED) | recent))
    return sorted((r.account_id, r.network) for r in rows)
