"""Recording what happened to a claimed delivery, guarded by its lease: a worker that lost its lease never
overwrites what another decided. One statement for the delivery; one more only when the account changes."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, and_, bindparam, case, exists, insert, literal, or_, select, update

from bot.networks.base import Published, ThreadRef
from bot.outbox import workers
from bot.outbox.claim import Claimed, campaign_allows, stopped
from bot.outbox.policy import Decision, Hold
from bot.outbox.tables import (
    ACCOUNTS,
    CAMPAIGNS,
    CONTROL,
    DELIVERIES,
    in_doubt,
    keep_doubt,
    of_the_last_close,
    outlives_close,
)
from bot.states import Action, CampaignState, ErrorKind, Kind, Status
from bot.store.models import UTCDateTime
from bot.store.raw import Raw

log = logging.getLogger(__name__)
D, C = DELIVERIES.c, CAMPAIGNS.c


def last_published(conn: Connection, campaign_id: str, account_id: str, language: str,
                   exclude: int | None = None) -> Any:
    """The account's last published post of the campaign in that language, whichever its kind: what a closing
    message or an update replies under (the dispatcher, and the previews that show it)."""
    stmt = (select(D.id, D.kind, D.remote_id, D.remote_url, D.remote_ref, D.thread_root, D.sent_at)
            .where(D.campaign_id == campaign_id, D.account_id == account_id, D.language == language,
                   D.status == Status.SENT, D.remote_id.is_not(None))
            .order_by(D.sent_at.desc(), D.id.desc()).limit(1))
    if exclude is not None:
        stmt = stmt.where(D.id != exclude)
    return conn.execute(stmt).first()


def thread_parent(conn: Connection, c: Claimed) -> ThreadRef | None:
    """Where a reply goes: under the account's last published post of the campaign in that language."""
    return parent_of(conn, c.campaign_id, c.account_id, c.language, c.id)


def parent_of(conn: Connection, campaign_id: str, account_id: str, language: str,
              delivery_id: int) -> ThreadRef | None:
    """`thread_parent` of a delivery by its fields (a read-back records the parent its send replied under)."""
    parent = last_published(conn, campaign_id, account_id, language, exclude=delivery_id)
    if parent is None:
        return None
    root = parent.thread_root or {"id": parent.remote_id, "ref": parent.remote_ref or {}}
    return ThreadRef(remote_id=parent.remote_id, ref=parent.remote_ref or {}, root_id=root["id"],
                     root_ref=root.get("ref") or {})


def _lost(delivery_id: int, what: str) -> bool:
    log.warning("delivery %s: lease lost before recording %s; left to whoever holds it now", delivery_id, what)
    return False


def _sent_statement(reply: bool) -> Any:
    """Built once; executed with bound values (the hot path)."""
    values: dict[str, Any] = dict(
        status=Status.SENT, sent_at=bindparam("b_now", type_=UTCDateTime()), remote_id=bindparam("b_remote_id"),
        remote_url=bindparam("b_url"), remote_ref=bindparam("b_ref", type_=JSON()), error=None, error_kind=None,
        lease_expires_at=None, updated_at=bindparam("b_now", type_=UTCDateTime()))
    if reply:
        values.update(in_reply_to=bindparam("b_reply"), thread_root=bindparam("b_root", type_=JSON()))
    return (update(DELIVERIES)
            .where(D.id == bindparam("b_id"), or_(D.status == Status.SENDING, D.status == Status.UNKNOWN),
                   D.lease_owner == bindparam("b_owner"))
            .values(**values))


_SENT, _SENT_REPLY = Raw(_sent_statement(False)), Raw(_sent_statement(True))


def record_sent(conn: Connection, owner: str, delivery_id: int, published: Published, now: datetime,
                reply: ThreadRef | None = None) -> bool:
    """Sent, with where it went (and what it replied to). Also settles an `unknown` this worker flagged."""
    params: dict[str, Any] = {"b_id": delivery_id, "b_owner": owner, "b_now": now, "b_remote_id": published.remote_id,
                              "b_url": published.url, "b_ref": published.ref or None}
    if reply is not None:
        params.update(b_reply=reply.remote_id, b_root={"id": reply.root_id, "ref": reply.root_ref})
    changed, _ = (_SENT_REPLY if reply is not None else _SENT).execute(conn, params)
    return changed == 1 or _lost(delivery_id, Status.SENT)


def record(conn: Connection, owner: str, c: Claimed, decision: Decision, now: datetime,
           published: Published | None = None, reply: ThreadRef | None = None, reason: str = "") -> bool:
    """Record a decision of the policy; ``reason`` is the network's own words (for the account's state)."""
    if decision.status == Status.SENT:
        assert published is not None
        ok = record_sent(conn, owner, c.id, published, now, reply)
    elif decision.status == Status.PLANNED:
        ok = _back_to_planned(conn, owner, c, decision, now)
    else:
        values: dict[str, Any] = dict(status=decision.status, error=decision.error, error_kind=decision.error_kind,
                                      not_before=now if decision.read_back else None)
        if decision.status == Status.FAILED:  # given up; but an earlier attempt may have gone out: a person checks
            doubt = (f"{decision.error}; an earlier attempt may have gone out: check the account, then "
                     f"`campaign-bot resolve {c.id} --sent URL` or `--not-sent`")
            # Not read back by the worker: where the account cannot tell, recovery would plan it again (safe
            # with the same key), and the same refusal would come back, without end.
            values = {k: case((in_doubt(), literal(v_doubt)), else_=literal(v)) for k, v, v_doubt in (
                ("status", str(decision.status), str(Status.UNKNOWN)),
                ("error", decision.error, doubt),
                ("error_kind", None if decision.error_kind is None else str(decision.error_kind),
                 str(ErrorKind.OUTCOME_UNKNOWN)))} | {"not_before": None}
        res = conn.execute(update(DELIVERIES)
                           .where(D.id == c.id, D.status == Status.SENDING, D.lease_owner == owner)
                           .values(updated_at=now, **values))
        ok = res.rowcount == 1 or _lost(c.id, decision.status)
    if decision.hold is not None:
        hold_account(conn, c.account_id, now, decision.hold, decision.hold_until, reason or decision.error or "")
    return ok


def _back_to_planned(conn: Connection, owner: str, c: Claimed, decision: Decision, now: datetime) -> bool:
    """To be tried again later; but a call to action whose campaign closed while it was in flight (or a closing
    message whose campaign was reopened, or closed again, meanwhile: the last close brings its own) is never
    planned again: `cancelled` when it surely did not go out, `unknown` when it may have, by this attempt or an
    earlier one (the worker reads the account back: bot/worker/recovery.py). One that may have gone out while
    nothing of it may be sent now (its campaign paused, the emergency stop) is read back too, not left in doubt
    until someone resumes (as the pause and the stop do for what is in doubt when they are set). A row in doubt
    stays in doubt whatever this attempt answered (`keep_doubt`)."""
    state = select(C.state).where(C.id == D.campaign_id).scalar_subquery()
    last_close = exists(select(C.id).where(C.id == D.campaign_id, C.state == literal(str(CampaignState.CLOSED)),
                                           of_the_last_close()))
    closed = or_(and_(~outlives_close(), state == literal(str(CampaignState.CLOSED))),
                 and_(D.kind == literal(str(Kind.CLOSING)), D.action == literal(str(Action.POST)), ~last_close))
    maybe = or_(literal(decision.maybe_sent), in_doubt())
    unknown, cancelled = and_(closed, maybe), closed
    paused = and_(~outlives_close(), state == literal(str(CampaignState.PAUSED)))
    held = and_(maybe, or_(stopped(), paused))  # it may not be sent now
    waits = decision.error
    if decision.error_kind != ErrorKind.IN_DOUBT:
        waits = (f"{decision.error} (an earlier attempt may have gone out: it is sent again with the same key, and "
                 "a close reads it back first)")
    res = conn.execute(
        update(DELIVERIES)
        .where(D.id == c.id, D.status == Status.SENDING, D.lease_owner == owner)
        .values(status=case((unknown, literal(str(Status.UNKNOWN))), (cancelled, literal(str(Status.CANCELLED))),
                            (held, literal(str(Status.UNKNOWN))), else_=literal(str(Status.PLANNED))),
                error=case((unknown, literal(f"campaign closed while this was in flight; it may or may not have been "
                                             f"posted ({decision.error}): reading the account back")),
                           (cancelled, literal(f"campaign closed while this was in flight; not sent "
                                               f"({decision.error})")),
                           (held, literal(f"paused or stopped while this was in flight; it may or may not have been "
                                          f"posted ({decision.error}): reading the account back")),
                           (in_doubt(), literal(waits)), else_=literal(decision.error)),
                error_kind=case((or_(unknown, held), literal(str(ErrorKind.OUTCOME_UNKNOWN))),
                                (cancelled, literal(str(ErrorKind.CLOSED))), else_=keep_doubt(decision.error_kind)),
                not_before=case((or_(unknown, held), literal(now, UTCDateTime())),
                                (cancelled, literal(None, UTCDateTime())),
                                else_=literal(decision.not_before, UTCDateTime())),
                lease_expires_at=None,
                lease_owner=case((or_(closed, held), D.lease_owner), else_=None),
                attempts=D.attempts - 1 if decision.refund else D.attempts, updated_at=now))
    return res.rowcount == 1 or _lost(c.id, Status.PLANNED)


def recheck_doubt(conn: Connection, c: Claimed, now: datetime) -> bool:
    """After a send left its row planned in doubt (its answer lost, now or earlier), and that write committed:
    if its campaign's state or the emergency stop no longer lets it go (closed, paused, a closing's campaign
    reopened), it is read back now (`workers.flag_in_doubt`); True if so. The record read the state when its
    statement began; a close, pause or stop committing meanwhile could not see the row (in flight when it ran),
    and the row waited in doubt for ever. These reads lock the rows those actions lock first (FOR SHARE on
    PostgreSQL): one under way is waited for, and one that begins later sees the row and flags it itself.
    A connection in autocommit (the dispatcher's), so the row's write is committed before the wait."""
    state = conn.execute(select(C.state).where(C.id == c.campaign_id).with_for_update(read=True)).scalar()
    stopped_now = conn.execute(select(CONTROL.c.paused_all).where(CONTROL.c.id == 1)
                               .with_for_update(read=True)).scalar()
    allowed = conn.execute(select(campaign_allows()).select_from(DELIVERIES.join(CAMPAIGNS, C.id == D.campaign_id))
                           .where(D.id == c.id)).scalar()
    if allowed and not stopped_now:
        return False
    why = (f"its campaign is {state}" if not allowed else "the emergency stop is on")
    return workers.flag_in_doubt(conn, None, now, f"{why} and this post may have gone out (an earlier attempt's "
                                 "answer was lost): reading the account back", closings=None, ids=[c.id]) == 1


def set_account(conn: Connection, account_id: str, now: datetime, **values: Any) -> None:
    """Set fields of an account's state (the row is created on first use)."""
    res = conn.execute(update(ACCOUNTS).where(ACCOUNTS.c.account_id == account_id).values(updated_at=now, **values))
    if not res.rowcount:
        fresh = {"account_id": account_id, "disabled": False, "updated_at": now, **values}
        conn.execute(insert(ACCOUNTS).values(**fresh))


def hold_account(conn: Connection, account_id: str, now: datetime, hold: Hold, until: datetime | None,
                 reason: str) -> None:
    if hold is Hold.DISABLED:
        set_account(conn, account_id, now, disabled=True, disabled_reason=reason, disabled_at=now)
    elif hold is Hold.MISCONFIGURED:
        set_account(conn, account_id, now, misconfigured_reason=reason, misconfigured_at=now,
                    rate_limited_until=until)
    else:
        set_account(conn, account_id, now, rate_limited_until=until)


def clear_misconfigured(conn: Connection, account_id: str, now: datetime) -> bool:
    """A send succeeded: whatever credential was missing is there again."""
    a = ACCOUNTS.c
    res = conn.execute(update(ACCOUNTS).where(a.account_id == account_id, a.misconfigured_reason.is_not(None))
                       .values(misconfigured_reason=None, misconfigured_at=None, updated_at=now))
    return bool(res.rowcount)
