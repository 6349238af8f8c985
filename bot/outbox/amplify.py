"""Supporters' boosts: the outbox writes them, like every delivery row.

``plan_waves`` runs as its own step after the dispatch tick (never on the record-outcome path). It finds the
organisation's posts on Mastodon and Bluesky that were published and have no wave yet, and for each one, in
one transaction: marks the wave planned (amplify_waves, keyed by the delivery id), and plans one boost per
connected supporter of that network who chose the campaign, in ONE set-based ``INSERT ... SELECT`` over
the supporters table. Each boost is due at a random time within the window. Its plan_key
``boost:<delivery id>:supporter:<id>`` is unique, so a second planner, a restart or a kill -9 mid-wave
never plans a boost twice, and the claim's lease never sends one twice.

A boost row copies the organisation post's campaign, kind and language; its text names what to boost
(Mastodon: the status URL; Bluesky: ``at://... CID``). Its kind makes a close cancel planned boosts of calls
to action, as it does the organisation's own; what was boosted stays boosted unless an unboost is planned.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from bot.networks.registry import Capability, kinds_that
from bot.outbox.staff import wake_workers
from bot.outbox.tables import ACCOUNTS, CAMPAIGNS, DELIVERIES, being_read_back
from bot.states import Action, CampaignState, ErrorKind, Kind, Status, SupporterState
from bot.store.models import UTCDateTime
from bot.store.supporters import SUPPORTER_CAMPAIGNS, SUPPORTERS, WAVES

D, S, SC, W = DELIVERIES.c, SUPPORTERS.c, SUPPORTER_CAMPAIGNS.c, WAVES.c
BOOSTABLE = kinds_that(Capability.BOOST)
"""The networks whose adapters can boost (today Mastodon and Bluesky; X's rules forbid it)."""
PREFIX = "supporter:"
LOOKBACK = timedelta(days=1)
"""Posts published longer ago than this get no wave (a worker that was down a day does not boost old news)."""


def _target(row: Any) -> str | None:
    """What a supporter boosts: the status URL (Mastodon), the post's URI and CID (Bluesky)."""
    if row.network == "mastodon":
        return str(row.remote_url) if row.remote_url else None
    ref = row.remote_ref or {}
    return f"{ref['uri']} {ref['cid']}" if ref.get("uri") and ref.get("cid") else None


def unplanned_posts(conn: Connection, now: datetime, limit: int = 50) -> list[Any]:
    """The organisation's published posts with no wave yet (oldest first): no call to action of a closed
    campaign (its boosts would never be sent), only its closing message."""
    since = now - LOOKBACK
    open_or_closing = or_(D.kind == Kind.CLOSING, ~exists().where(CAMPAIGNS.c.id == D.campaign_id,
                                                                 CAMPAIGNS.c.state == CampaignState.CLOSED))
    stmt = (select(D.id, D.campaign_id, D.network, D.kind, D.language, D.remote_url, D.remote_ref, D.sent_at)
            .where(D.status == Status.SENT, D.action == Action.POST, D.network.in_(BOOSTABLE), open_or_closing,
                   D.due_at >= since - LOOKBACK, D.sent_at >= since, ~D.account_id.startswith(PREFIX),
                   ~exists().where(W.delivery_id == D.id))
            .order_by(D.sent_at).limit(limit))
    return list(conn.execute(stmt))


def _insert(conn: Connection, table: Any) -> Any:
    """INSERT that may skip conflicting rows, and still counts what it inserted (psycopg answers -1 without
    preserve_rowcount)."""
    make = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return make(table).execution_options(preserve_rowcount=True)


def _due(conn: Connection, window_seconds: int) -> ColumnElement[Any]:
    """``:now`` plus a random whole number of seconds in [0, window], per row, in the database's dialect."""
    if conn.dialect.name == "postgresql":
        pg_offset = func.floor(func.random() * (window_seconds + 1))
        return cast(bindparam("now", type_=UTCDateTime()), postgresql.TIMESTAMP(timezone=True)) + \
            func.make_interval(0, 0, 0, 0, 0, 0, pg_offset)
    offset: ColumnElement[Any] = func.abs(func.random() % (window_seconds + 1)) if window_seconds else literal(0)
    # SQLite keeps UTC datetimes as naive text; datetime() answers in the same sortable form.
    return func.strftime("%Y-%m-%d %H:%M:%f", bindparam("now_text", type_=String()),
                         "+" + cast(offset, String()) + " seconds")


def plan_wave(conn: Connection, post: Any, now: datetime, window_seconds: int) -> int | None:
    """Plan one post's wave; None when another planner did it first. The caller owns the transaction."""
    target = _target(post)
    marked = conn.execute(_insert(conn, WAVES).values(delivery_id=post.id, campaign_id=post.campaign_id,
                                                      planned_at=now)
                          .on_conflict_do_nothing(index_elements=["delivery_id"]))
    if not marked.rowcount:
        return None
    if target is None:  # published without a URL to point at: nothing to boost
        return 0
    chose = or_(S.all_campaigns.is_(True),
                exists().where(SC.supporter_id == S.id, SC.campaign_id == post.campaign_id))
    account = literal(PREFIX) + cast(S.id, String())
    source = select(
        (literal(f"boost:{post.id}:") + account).label("plan_key"), literal(post.campaign_id).label("c"),
        account.label("a"), S.network, literal(post.kind).label("k"), literal(str(Action.BOOST)).label("x"),
        literal(post.language).label("l"), literal(target).label("t"), literal([], JSON()).label("m"),
        false().label("r"), _due(conn, window_seconds).label("due"), literal(str(Status.PLANNED)).label("s"),
        literal(0, Integer()).label("n"), bindparam("now2", type_=UTCDateTime()).label("ca"),
        bindparam("now3", type_=UTCDateTime()).label("ua"),
    ).where(S.state == SupporterState.CONNECTED, S.network == post.network, chose)
    columns = ["plan_key", "campaign_id", "account_id", "network", "kind", "action", "language", "text", "media",
               "reply_in_thread", "due_at", "status", "attempts", "created_at", "updated_at"]
    stmt = (_insert(conn, DELIVERIES).from_select(columns, source)
            .on_conflict_do_nothing(index_elements=["plan_key"]))
    naive = now.astimezone(UTC).replace(tzinfo=None)
    res = conn.execute(stmt, {"now": now, "now_text": naive.isoformat(sep=" "), "now2": now, "now3": now})
    return res.rowcount or 0


def plan_waves(conn: Connection, now: datetime, window_seconds: int, limit: int = 50) -> int:
    """Plan the waves of up to ``limit`` posts in this transaction; returns the boosts planned."""
    planned = 0
    for post in unplanned_posts(conn, now, limit):
        planned += plan_wave(conn, post, now, window_seconds) or 0
    if planned:
        wake_workers(conn)
    return planned


def plan_unboosts(conn: Connection, account_id: str, now: datetime, campaign_id: str | None = None) -> int:
    """A supporter asked to undo their boosts (of one campaign, or all): one unboost per boost that went out, or
    may have (unknown, or in doubt: taking back what is not there is nothing), and is not undone yet, due now;
    in one INSERT ... SELECT. Planned boosts not sent yet are cancelled instead."""
    B = DELIVERIES.alias("b")
    undone = select(D.id).where(D.plan_key == literal("unboost:") + cast(B.c.id, String())).exists()
    maybe_out = or_(B.c.status.in_((Status.SENT, Status.UNKNOWN)),
                    and_(B.c.status == Status.PLANNED, B.c.error_kind == ErrorKind.IN_DOUBT))
    where = [B.c.account_id == account_id, B.c.action == Action.BOOST, maybe_out, ~undone]
    if campaign_id is not None:
        where.append(B.c.campaign_id == campaign_id)
    source = select(
        (literal("unboost:") + cast(B.c.id, String())).label("plan_key"), B.c.campaign_id, B.c.account_id,
        B.c.network, B.c.kind, literal(str(Action.UNBOOST)).label("x"), B.c.language, B.c.text,
        literal([], JSON()).label("m"), false().label("r"), bindparam("now", type_=UTCDateTime()).label("due"),
        literal(str(Status.PLANNED)).label("s"), literal(0, Integer()).label("n"),
        bindparam("now2", type_=UTCDateTime()).label("ca"), bindparam("now3", type_=UTCDateTime()).label("ua"),
    ).where(and_(*where))
    columns = ["plan_key", "campaign_id", "account_id", "network", "kind", "action", "language", "text", "media",
               "reply_in_thread", "due_at", "status", "attempts", "created_at", "updated_at"]
    stmt = _insert(conn, DELIVERIES).from_select(columns, source).on_conflict_do_nothing(index_elements=["plan_key"])
    res = conn.execute(stmt, {"now": now, "now2": now, "now3": now})
    pending = update(DELIVERIES).where(D.account_id == account_id, D.action == Action.BOOST,
                                       D.status == Status.PLANNED)
    if campaign_id is not None:
        pending = pending.where(D.campaign_id == campaign_id)
    conn.execute(pending.values(status=Status.CANCELLED, error="the supporter undid their boosts",
                                error_kind=ErrorKind.CANCELLED_BY_HAND, updated_at=now))
    if res.rowcount:
        wake_workers(conn)
    return res.rowcount or 0


def cancel_boosts(conn: Connection, account_id: str, now: datetime, reason: str) -> int:
    """A supporter disconnected (or their grant was revoked): their planned boosts and unboosts are cancelled
    now. What is in flight is left to its worker, which finds no credentials and records it failed. One whose
    earlier attempt's answer was lost (in doubt, or waiting to be read back) may be on their account, which
    nobody can read any more: cancelled too, saying so (not read in vain for a day, then left to a person)."""
    doubt = or_(D.error_kind == ErrorKind.IN_DOUBT, D.status == Status.UNKNOWN)
    res = conn.execute(update(DELIVERIES)
                       .where(D.account_id == account_id, D.action.in_((Action.BOOST, Action.UNBOOST)),
                              or_(D.status == Status.PLANNED, being_read_back()))
                       .values(status=Status.CANCELLED, error_kind=ErrorKind.AUTH_REVOKED, not_before=None,
                               updated_at=now,
                               error=case((doubt, literal(f"{reason} (an earlier attempt's answer was lost: it may "
                                                          "be on their account)")), else_=literal(reason))))
    return res.rowcount or 0


def refused_accounts(conn: Connection, prefix: str) -> list[tuple[str, str]]:
    """Accounts with ids starting with ``prefix`` the dispatcher disabled (their credentials were refused)."""
    a = ACCOUNTS.c
    rows = conn.execute(select(a.account_id, a.disabled_reason)
                        .where(a.disabled.is_(True), a.account_id.startswith(prefix)))
    return [(str(r.account_id), str(r.disabled_reason or "credentials refused")) for r in rows]
