"""The dispatcher: claims due deliveries with a lease, posts them, and records the outcome.

Every step is a short transaction; the network is called outside any transaction. The outcome is written
only while this worker still holds the lease, so a worker that lost its lease can never overwrite what
another decided. Every classified network error is handled here, once.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot import account_state, budgets, recovery
from bot.clock import as_utc
from bot.deliveries import (
    CALL_TO_ACTION,
    CANCELLED,
    CLOSING,
    FAILED,
    MISSED,
    PLANNED,
    SENDING,
    SENT,
    UNKNOWN,
)
from bot.networks.base import (
    AuthRevoked,
    Media,
    OutcomeUnknown,
    PermanentError,
    Post,
    Published,
    RateLimited,
    ThreadRef,
    TransientError,
)
from bot.store.locks import account_key, advisory_connection
from bot.store.models import AccountStateRow, CampaignRow, ControlRow, DeliveryRow

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)
BATCH = 20
DELIVERIES: Table = DeliveryRow.__table__  # type: ignore[assignment]  # hot-path writes: the ORM bulk path costs CPU
UNKNOWN_COOLDOWN = 60  # seconds an account waits after an unknown outcome on a network without idempotency
HELD = "held"  # send() outcome: back to planned because the account cannot post for now


@dataclass(frozen=True)
class Claimed:
    id: int
    campaign_id: str
    account_id: str
    kind: str
    language: str
    text: str
    media: list[dict[str, str]]
    reply_in_thread: bool
    attempts: int
    due_at: datetime


def _runnable(now: datetime):  # type: ignore[no-untyped-def]
    """Rows that may be sent now: planned, due, not deferred, of an active campaign (closing: a closed one)."""
    return and_(
        DeliveryRow.status == PLANNED,
        DeliveryRow.due_at <= now,
        or_(DeliveryRow.not_before.is_(None), DeliveryRow.not_before <= now),
        or_(
            and_(CampaignRow.state == "active", DeliveryRow.kind != CLOSING),
            and_(CampaignRow.state == "closed", DeliveryRow.kind == CLOSING),
        ),
    )


class Dispatcher:
    def __init__(self, app: App, stopping: threading.Event | None = None) -> None:
        self.app = app
        self.stopping = stopping or threading.Event()
        self.settings = app.config.bot
        self._rng = random.Random()
        self._local = threading.local()

    def _sessions(self) -> sessionmaker[Session]:
        """Inside run_account on PostgreSQL: sessions on the connection that holds the account's lock."""
        return getattr(self._local, "sessions", None) or self.app.sessions

    # -- queries -----------------------------------------------------------------------------------------

    def paused_all(self, session: Session) -> bool:
        row = session.get(ControlRow, 1)
        return bool(row and row.paused_all)

    def _blocked_accounts(self, session: Session, now: datetime) -> set[str]:
        stmt = select(AccountStateRow.account_id).where(
            or_(AccountStateRow.disabled.is_(True), AccountStateRow.rate_limited_until > now))
        return set(session.scalars(stmt))

    def due_accounts(self) -> list[str]:
        now = self.app.clock.now()
        with self._sessions()() as session:
            if self.paused_all(session):
                return []
            stmt = (select(DeliveryRow.account_id).join(CampaignRow, CampaignRow.id == DeliveryRow.campaign_id)
                    .where(_runnable(now)).distinct())
            accounts = set(session.scalars(stmt)) - self._blocked_accounts(session, now)
        return sorted(accounts)

    def next_due_at(self) -> datetime | None:
        """The next time a planned delivery comes due or its deferral ends, strictly after now (what is due
        already is the regular tick's business). Two index range scans; the daemon asks after every tick."""
        now = self.app.clock.now()
        with self._sessions()() as session:
            due = session.scalar(select(func.min(DeliveryRow.due_at))
                                 .where(DeliveryRow.status == PLANNED, DeliveryRow.due_at > now))
            deferred = session.scalar(select(func.min(DeliveryRow.not_before))
                                      .where(DeliveryRow.status == PLANNED, DeliveryRow.not_before > now))
        times = [as_utc(t) for t in (due, deferred) if t is not None]
        return min(times) if times else None

    # -- claim ---------------------------------------------------------------------------------------------

    def claim_next(self, account_id: str) -> Claimed | None:
        batch = self.claim_batch(account_id, 1)
        return batch[0] if batch else None

    def claim_batch(self, account_id: str, limit: int) -> list[Claimed]:
        """Claim up to ``limit`` due deliveries of one account, oldest first, in one short transaction.

        Rows past their grace window are marked missed on the way (never sent in a stale burst)."""
        now = self.app.clock.now()
        lease_until = now + timedelta(seconds=self.settings.lease_seconds)
        with self._sessions().begin() as session:
            if self.paused_all(session) or account_id in self._blocked_accounts(session, now):
                return []
            allowance, hold = self._budget(session, account_id, now)
            if hold is not None:
                self._defer_account(session, account_id, now, hold)
                return []
            if allowance is not None:
                limit = min(limit, allowance)
            d = DeliveryRow
            rows = session.execute(
                select(d.id, d.campaign_id, d.kind, d.language, d.text, d.media, d.reply_in_thread, d.attempts,
                       d.due_at, d.not_before, CampaignRow.grace_seconds)
                .join(CampaignRow, CampaignRow.id == d.campaign_id)
                .where(d.account_id == account_id, _runnable(now))
                .order_by(d.due_at, d.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=d)
            ).all()
            claimed, stale = [], []
            for r in rows:
                due = as_utc(r.due_at)
                if (r.kind != CLOSING and r.attempts == 0 and r.not_before is None
                        and due < now - timedelta(seconds=r.grace_seconds)):
                    stale.append(r)
                else:
                    claimed.append(Claimed(r.id, r.campaign_id, account_id, r.kind, r.language, r.text,
                                           list(r.media or []), r.reply_in_thread, r.attempts + 1, due))
            for r in stale:
                late, grace = now - as_utc(r.due_at), timedelta(seconds=r.grace_seconds)
                session.execute(update(DELIVERIES).where(d.id == r.id, d.status == PLANNED)
                                .values(status=MISSED, updated_at=now, error_kind="missed",
                                        error=f"not sent: {_human(late)} late, past the campaign's grace window "
                                              f"of {_human(grace)}")
                                .execution_options(synchronize_session=False))
                log.warning("delivery %s (%s, %s) missed: %s late", r.id, r.campaign_id, account_id, late)
            if claimed:
                # The rows are locked (PostgreSQL) or the database is ours alone (SQLite): every one is claimed.
                res = session.execute(
                    update(DELIVERIES)
                    .where(d.id.in_([c.id for c in claimed]), d.status == PLANNED)
                    .values(status=SENDING, lease_owner=self.app.owner, lease_expires_at=lease_until,
                            attempts=DELIVERIES.c.attempts + 1, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                if res.rowcount != len(claimed):  # type: ignore[attr-defined]
                    raise RuntimeError(f"claimed {res.rowcount} of {len(claimed)} rows")  # type: ignore[attr-defined]
            if stale and not claimed:
                return self._claim_after_stale(session, account_id, limit)
        return claimed

    def _claim_after_stale(self, session: Session, account_id: str, limit: int) -> list[Claimed]:
        """A batch held only stale rows: commit marking them, then look again (outside this transaction)."""
        session.commit()
        return self.claim_batch(account_id, limit)

    def release(self, claimed: list[Claimed], why: str) -> None:
        """Give back claimed rows that were not sent (stopping, or the account became unable to post)."""
        if not claimed:
            return
        with self._sessions().begin() as session:
            session.execute(update(DELIVERIES)
                            .where(DeliveryRow.id.in_([c.id for c in claimed]), DeliveryRow.status == SENDING,
                                   DeliveryRow.lease_owner == self.app.owner)
                            .values(status=PLANNED, lease_owner=None, lease_expires_at=None, error=f"waiting: {why}",
                                    attempts=DELIVERIES.c.attempts - 1, updated_at=self.app.clock.now())
                            .execution_options(synchronize_session=False))
        log.info("released %d claimed deliveries: %s", len(claimed), why)

    # -- rate budgets -------------------------------------------------------------------------------------

    def _budget(self, session: Session, account_id: str, now: datetime) -> tuple[int | None, datetime | None]:
        settings = self.app.config.accounts.get(account_id)
        if settings is None or self.app.config.console_fallback:  # nothing is published: no budget to keep
            return None, None
        return budgets.remaining(session, account_id, budgets.budget_for(settings), now)

    def _defer_account(self, session: Session, account_id: str, now: datetime, until: datetime) -> None:
        budgets.defer(session, account_id, now, until)
        log.info("account %s over its rate budget: posts deferred until %s", account_id, until)

    # -- guarded writes ------------------------------------------------------------------------------------

    def _guarded(self, session: Session, delivery_id: int, *, allow_unknown: bool = False, **values: object) -> bool:
        statuses = (SENDING, UNKNOWN) if allow_unknown else (SENDING,)
        values.setdefault("updated_at", self.app.clock.now())
        res = session.execute(
            update(DELIVERIES)
            .where(DeliveryRow.id == delivery_id, DeliveryRow.status.in_(statuses),
                   DeliveryRow.lease_owner == self.app.owner)
            .values(**values)
        )
        ok = res.rowcount == 1  # type: ignore[attr-defined]
        if not ok:
            log.warning("delivery %s: lease lost before recording %s; left to whoever holds it now",
                        delivery_id, values.get("status"))
        return ok

    def _release(self, session: Session, c: Claimed, not_before: datetime | None, error: str, kind: str,
                 refund: bool) -> None:
        """Back to planned, to be retried later (refund: the attempt did not count)."""
        self._guarded(session, c.id, status=PLANNED, lease_owner=None, lease_expires_at=None, not_before=not_before,
                      error=error, error_kind=kind,
                      attempts=DELIVERIES.c.attempts - 1 if refund else DELIVERIES.c.attempts)

    # -- before sending ------------------------------------------------------------------------------------

    def prepare(self, c: Claimed) -> Post | None:
        """Recheck under the lease (a close may have landed since the claim) and find the thread to reply in."""
        now = self.app.clock.now()
        with self._sessions().begin() as session:
            # One round trip: the campaign's state and the emergency stop (not the whole campaign row).
            paused_all = select(ControlRow.paused_all).where(ControlRow.id == 1).scalar_subquery()
            found = session.execute(select(CampaignRow.state, paused_all)
                                    .where(CampaignRow.id == c.campaign_id)).first()
            state, stopped = (found[0], bool(found[1])) if found else ("closed", False)
            if stopped:
                self._release(session, c, None, "held by the emergency stop", "held", refund=True)
                return None
            if c.kind != CLOSING and state == "closed":
                self._guarded(session, c.id, status=CANCELLED, error_kind="cancelled",
                              error="campaign closed after this was claimed; not sent")
                return None
            if c.kind != CLOSING and state == "paused":
                self._release(session, c, None, "campaign paused", "held", refund=True)
                return None
            reply: ThreadRef | None = None
            if c.reply_in_thread:
                parent = session.scalars(
                    select(DeliveryRow)
                    .where(DeliveryRow.campaign_id == c.campaign_id, DeliveryRow.account_id == c.account_id,
                           DeliveryRow.language == c.language, DeliveryRow.kind == CALL_TO_ACTION,
                           DeliveryRow.status == SENT, DeliveryRow.remote_id.is_not(None))
                    .order_by(DeliveryRow.sent_at.desc(), DeliveryRow.id.desc())
                    .limit(1)
                ).first()
                if parent is not None and parent.remote_id:
                    root = parent.thread_root or {"id": parent.remote_id, "ref": parent.remote_ref or {}}
                    reply = ThreadRef(remote_id=parent.remote_id, ref=parent.remote_ref or {},
                                      root_id=root["id"], root_ref=root.get("ref") or {})
                    self._guarded(session, c.id, in_reply_to=parent.remote_id,
                                  thread_root={"id": reply.root_id, "ref": reply.root_ref}, updated_at=now)
        return Post(
            delivery_id=c.id,
            idempotency_key=f"campaign-bot-{c.id}",
            text=c.text,
            language=c.language,
            in_reply_to=reply,
            media=tuple(Media(path=Path(m["path"]), alt=m["alt"]) for m in c.media),
            scheduled_at=c.due_at,
        )

    # -- send and record -----------------------------------------------------------------------------------

    def _backoff(self, attempts: int) -> timedelta:
        base = self.settings.retry_base_seconds * 2 ** max(0, attempts - 1)
        return timedelta(seconds=min(self.settings.retry_max_seconds, base) * (0.5 + self._rng.random() / 2))

    def send(self, c: Claimed, post: Post) -> str:
        """Publish and record the outcome; returns the delivery's new status."""
        net = self.app.network(c.account_id)
        length, limit = net.length(post.text), net.limit()
        if length > limit:
            self._outcome(c, lambda s: self._guarded(s, c.id, status=FAILED, error_kind="permanent",
                                                     error=f"{length} characters, over the account's limit of {limit}"))
            return FAILED
        try:
            published = net.publish(post)
        except RateLimited as exc:
            until = exc.until or self.app.clock.now() + timedelta(seconds=60)
            reason = f"rate limited until {until.isoformat(timespec='seconds')}: {exc}"

            def rate_limited(s: Session) -> None:
                self._set_account(s, c.account_id, rate_limited_until=until)
                self._release(s, c, until, reason, "rate_limited", refund=True)

            self._outcome(c, rate_limited)
            log.warning("account %s rate limited until %s", c.account_id, until)
            return HELD
        except TransientError as exc:
            return self._transient(c, str(exc))
        except PermanentError as exc:
            reason = str(exc)
            self._outcome(c, lambda s: self._guarded(s, c.id, status=FAILED, error=reason, error_kind="permanent"))
            log.error("delivery %s failed permanently: %s", c.id, exc)
            return FAILED
        except AuthRevoked as exc:
            reason = str(exc)

            def revoked(s: Session) -> None:
                self._set_account(s, c.account_id, disabled=True, disabled_reason=reason,
                                  disabled_at=self.app.clock.now())
                self._release(s, c, None, f"account disabled: {reason}", "auth_revoked", refund=True)

            self._outcome(c, revoked)
            log.error("account %s disabled, its credentials were refused: %s", c.account_id, exc)
            return HELD
        except OutcomeUnknown as exc:
            if net.idempotent:
                return self._transient(c, f"outcome unknown, retrying safely: {exc}")
            return self._unknown(c, post, str(exc))
        except Exception as exc:  # an adapter bug: classify conservatively, keep the traceback for programmers
            log.exception("delivery %s: unexpected error from the %s adapter", c.id, net.kind)
            if net.idempotent:
                return self._transient(c, f"unexpected error: {exc!r}")
            return self._unknown(c, post, f"unexpected error: {exc!r}")
        self._record_sent(c.id, published)
        return SENT

    def _outcome(self, c: Claimed, write: Callable[[Session], object]) -> None:
        def transaction() -> None:
            with self._sessions().begin() as session:
                write(session)

        self._retry_db(transaction, f"record the outcome of delivery {c.id}")

    def _record_sent(self, delivery_id: int, published: Published) -> None:
        sent_at = self.app.clock.now()

        def write() -> None:
            with self._sessions().begin() as session:
                self._guarded(session, delivery_id, allow_unknown=True, status=SENT, sent_at=sent_at,
                              remote_id=published.remote_id, remote_url=published.url,
                              remote_ref=published.ref or None, error=None, error_kind=None, lease_expires_at=None)

        self._retry_db(write, f"record delivery {delivery_id} as sent ({published.remote_id})")

    def _retry_db(self, write: Callable[[], None], what: str) -> None:
        """After a network call, keep trying to write its outcome through a database outage for as long as the
        lease lasts, so a short outage never turns a sent post into a resend or an unknown."""
        deadline = time.monotonic() + self.settings.lease_seconds * 0.8
        delay = 0.5
        while True:
            try:
                write()
                return
            except OperationalError as exc:
                # The connection holding the account's lock died with the outage (and the lock with it):
                # go on with fresh connections from the pool, which reconnect when the database is back.
                self._local.sessions = None
                if time.monotonic() > deadline:
                    log.error("could not %s: database unavailable (%s); the lease will expire", what, exc.orig)
                    raise
                log.warning("could not %s yet: database unavailable; retrying in %.1fs", what, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5)

    def _transient(self, c: Claimed, error: str) -> str:
        if c.attempts >= self.settings.max_attempts:
            self._outcome(c, lambda s: self._guarded(s, c.id, status=FAILED, error_kind="transient",
                                                     error=f"gave up after {c.attempts} attempts: {error}"))
            log.error("delivery %s failed after %d attempts: %s", c.id, c.attempts, error)
            return FAILED
        retry_at = self.app.clock.now() + self._backoff(c.attempts)
        self._outcome(c, lambda s: self._release(s, c, retry_at, error, "transient", refund=False))
        log.warning("delivery %s: %s; retry at %s", c.id, error, retry_at.isoformat(timespec="seconds"))
        return PLANNED

    def _unknown(self, c: Claimed, post: Post, error: str) -> str:
        """Never retried blindly on a network with no idempotency: settle it by reading, or flag a person."""
        found = self._settle(c.account_id, post)
        if found is not None:
            self._record_sent(c.id, found)
            return SENT
        cooldown = self.app.clock.now() + timedelta(seconds=UNKNOWN_COOLDOWN)

        def flag(s: Session) -> None:
            self._guarded(s, c.id, status=UNKNOWN, error_kind="outcome_unknown",
                          error=f"{error}; the post may or may not exist: check the account, then "
                                f"`campaign-bot resolve {c.id} --sent URL` or `--not-sent`")
            # While the network misbehaves, one more try a minute, not a burst of posts in the same doubt.
            self._set_account(s, c.account_id, rate_limited_until=cooldown)

        self._outcome(c, flag)
        log.error("delivery %s: outcome unknown, flagged for a person: %s", c.id, error)
        return UNKNOWN

    def _settle(self, account_id: str, post: Post) -> Published | None:
        return recovery.settle(self.app, account_id, post)

    def _set_account(self, session: Session, account_id: str, **values: object) -> None:
        account_state.update_in(session, account_id, self.app.clock.now(), **values)

    # -- lease expiry --------------------------------------------------------------------------------------

    def expire_leases(self) -> int:
        return recovery.expire_leases(self.app, self._sessions())

    # -- loops ---------------------------------------------------------------------------------------------

    def run_account(self, account_id: str, limit: int | None = None) -> int:
        """Send what is due for one account, in order, until nothing is due (or we are told to stop).

        With several workers on PostgreSQL, an advisory lock gives each account to one worker at a time."""
        with advisory_connection(self.app.engine, account_key(account_id)) as (mine, conn):
            if not mine:
                return 0
            self._local.sessions = sessionmaker(bind=conn, expire_on_commit=False) if conn is not None else None
            try:
                return self._run_account(account_id, limit)
            finally:
                self._local.sessions = None

    def _run_account(self, account_id: str, limit: int | None) -> int:
        done = 0
        while not self.stopping.is_set() and (limit is None or done < limit):
            batch = self.claim_batch(account_id, min(BATCH, limit - done) if limit else BATCH)
            if not batch:
                break
            for i, claimed in enumerate(batch):
                if self.stopping.is_set():
                    self.release(batch[i:], "stopping")
                    return done
                post = self.prepare(claimed)
                status = self.send(claimed, post) if post is not None else None
                done += 1
                if status in (HELD, UNKNOWN):  # the account cannot (or should not) post now: the rest waits
                    self.release(batch[i + 1:], "the account cannot post now")
                    return done
        return done

    def run_once(self) -> int:
        """One full pass, sequentially: what tests call instead of waiting for the daemon."""
        self.expire_leases()
        return sum(self.run_account(a) for a in self.due_accounts())


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
