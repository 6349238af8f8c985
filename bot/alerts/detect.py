"""What needs a person, read from the database (the source of truth): one ``Alert`` per event and subject.

Detection may run in several processes at once (the worker and the web app): the queue's unique key on
(event, subject) keeps each alert once. Events older than LOOKBACK are not alerted, so that turning alerts on
for an old database does not send its whole history.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, func, select

from bot.campaigns.deadlines import stored_deadline
from bot.config.alerts import AlertSettings, Event
from bot.outbox.tables import ACCOUNTS, CAMPAIGNS, DELIVERIES, WORKERS, human, left_to_a_worker, stamp
from bot.reach.tables import TargetResponseRow
from bot.states import Action, Audit, CampaignState, ErrorKind, Status
from bot.store.models import AuditRow

LOOKBACK = timedelta(days=3)
NEAR = timedelta(days=1)
AUDIT: Table = AuditRow.__table__  # type: ignore[assignment]

RESPONSES: Table = TargetResponseRow.__table__  # type: ignore[assignment]

_FAILED_BECAUSE = {
    ErrorKind.PERMANENT: "the network refused it",
    ErrorKind.AUTH_REVOKED: "the network refused the account's credentials",
    ErrorKind.MISCONFIGURED: "the account is not set up correctly",
    ErrorKind.TRANSIENT: "the network kept failing until the last attempt",
    ErrorKind.RATE_LIMITED: "the network's rate limit held it too long",
    ErrorKind.BUDGET: "the account's posting budget was used up",
    ErrorKind.UNSUPPORTED: "the network does not support it",
}


@dataclass(frozen=True)
class Alert:
    event: Event
    subject: str
    message: str
    """One plain sentence or two. Never a value from a network's error (it may quote a refused token)."""
    link: str | None = None
    campaign_id: str | None = None
    account_id: str | None = None


def link(settings: AlertSettings, path: str) -> str | None:
    """The web app's page for an alert, or None when the app's address is unknown: a bare path such as
    ``/campaigns/x`` in an e-mail or a chat message leads nowhere (``NO_ADDRESS`` says so once at start)."""
    return f"{settings.base_url}{path}" if settings.base_url else None


def _titles(conn: Connection) -> dict[str, str]:
    return {cid: title for cid, title in conn.execute(select(CAMPAIGNS.c.id, CAMPAIGNS.c.title))}


def detect(conn: Connection, now: datetime, settings: AlertSettings) -> list[Alert]:
    titles = _titles(conn)
    found: list[Alert] = []
    for detector in (_deliveries, _accounts, _worker, _deadlines, _audit, _responses):
        found.extend(detector(conn, now, settings, titles))
    return found


def _named(titles: dict[str, str], cid: str | None) -> str:
    return f"“{titles.get(cid or '', cid)}” ({cid})" if cid else "(no campaign)"


def _deliveries(conn: Connection, now: datetime, s: AlertSettings, titles: dict[str, str]) -> Iterator[Alert]:
    d = DELIVERIES.c
    rows = conn.execute(select(d.id, d.campaign_id, d.account_id, d.network, d.status, d.error_kind, d.action)
                        .where(d.status.in_([Status.FAILED, Status.UNKNOWN]), d.updated_at >= now - LOOKBACK,
                               ~left_to_a_worker(now))  # a worker reads it back: a person's if that fails
                        .order_by(d.id))
    for r in rows:
        what = "boost" if r.action == Action.BOOST else "post"
        where = f"for campaign {_named(titles, r.campaign_id)} on account {r.account_id} ({r.network})"
        if r.status == Status.FAILED:
            because = _FAILED_BECAUSE.get(r.error_kind, "it could not be sent")
            yield Alert(Event.DELIVERY_FAILED, f"delivery:{r.id}",
                        f"A {what} {where} failed: {because}. It will not be retried; delivery {r.id} is in "
                        "`campaign-bot history --status failed`.",
                        link(s, f"/campaigns/{r.campaign_id}"), r.campaign_id, r.account_id)
        else:
            yield Alert(Event.DELIVERY_UNKNOWN, f"delivery:{r.id}",
                        f"Nobody knows whether a {what} {where} went out (the connection broke while sending). "
                        f"Check the account, then settle delivery {r.id} on the dashboard; it is not sent again "
                        "by itself, to avoid a duplicate.",
                        link(s, "/#attention"), r.campaign_id, r.account_id)


def _accounts(conn: Connection, now: datetime, s: AlertSettings, titles: dict[str, str]) -> Iterator[Alert]:
    a = ACCOUNTS.c
    rows = conn.execute(select(a.account_id, a.disabled, a.disabled_at, a.misconfigured_reason, a.misconfigured_at)
                        .where((a.disabled.is_(True)) | (a.misconfigured_reason.is_not(None))).order_by(a.account_id))
    for r in rows:
        # The reasons are not quoted: a network's refusal may echo the token it refused.
        if r.disabled:
            yield Alert(Event.ACCOUNT_DISABLED, f"account:{r.account_id}:{_when(r.disabled_at)}",
                        f"Account {r.account_id} was disabled: the network refused its credentials. It posts "
                        "nothing until an admin fixes them and enables it (`campaign-bot accounts enable`).",
                        link(s, "/accounts"), None, r.account_id)
        if r.misconfigured_reason is not None:
            yield Alert(Event.ACCOUNT_MISCONFIGURED, f"account:{r.account_id}:{_when(r.misconfigured_at)}",
                        f"Account {r.account_id} is not set up correctly (a missing setting or secret): its posts "
                        "wait until the config is fixed. The accounts page says what is missing.",
                        link(s, "/accounts"), None, r.account_id)


def _when(value: datetime | None) -> str:
    return stamp(value) if value is not None else "-"


def _worker(conn: Connection, now: datetime, s: AlertSettings, titles: dict[str, str]) -> Iterator[Alert]:
    last = conn.scalar(select(func.max(WORKERS.c.heartbeat_at)))
    if last is None:
        return  # never started, or stopped cleanly (a clean stop unregisters): a person chose that
    if now - last > s.worker_down_after:
        # The subject is the last heartbeat: the same while it stays down, new once a worker beat and died again.
        yield Alert(Event.WORKER_DOWN, f"worker:{stamp(last)}",
                    f"No worker has sent a heartbeat for {human(now - last)} (last at {stamp(last)} UTC): nothing "
                    "is being posted. Start it again: `campaign-bot run`.",
                    link(s, "/"))


def _deadlines(conn: Connection, now: datetime, s: AlertSettings, titles: dict[str, str]) -> Iterator[Alert]:
    c = CAMPAIGNS.c
    for r in conn.execute(select(c.id, c.definition).where(c.state == CampaignState.ACTIVE).order_by(c.id)):
        definition: dict[str, Any] = r.definition or {}
        act_by = stored_deadline(definition, (definition.get("campaign") or {}).get("timezone"))
        if act_by is None:
            continue
        page = link(s, f"/campaigns/{r.id}")
        if act_by - NEAR <= now < act_by:
            yield Alert(Event.DEADLINE_NEAR, f"campaign:{r.id}:{stamp(act_by)}",
                        f"Campaign {_named(titles, r.id)} reaches its deadline in {human(act_by - now)} "
                        f"({stamp(act_by)} UTC): its calls to action stop then. Extend it, or plan the close.",
                        page, r.id)
        elif act_by <= now < act_by + LOOKBACK:
            yield Alert(Event.DEADLINE_PASSED, f"campaign:{r.id}:{stamp(act_by)}",
                        f"Campaign {_named(titles, r.id)} passed its deadline ({stamp(act_by)} UTC): its calls to "
                        "action have stopped, but it is still open. Close it, or extend the deadline.",
                        page, r.id)


def _audit(conn: Connection, now: datetime, s: AlertSettings, titles: dict[str, str]) -> Iterator[Alert]:
    a = AUDIT.c
    rows = conn.execute(select(a.id, a.actor, a.action, a.campaign_id, a.note, a.details)
                        .where(a.action.in_([Audit.PAUSE_ALL, Audit.CLOSE]), a.at >= now - LOOKBACK).order_by(a.id))
    for r in rows:
        if r.action == "pause_all":
            why = f": “{r.note}”" if r.note else ""
            yield Alert(Event.EMERGENCY_STOP, f"audit:{r.id}",
                        f"{r.actor} pressed the emergency stop{why}. No account posts anything until someone "
                        "lifts it.", link(s, "/#stop"))
        else:
            outcome = str((r.details or {}).get("outcome") or "closed").replace("_", " ")
            yield Alert(Event.CAMPAIGN_CLOSED, f"audit:{r.id}",
                        f"Campaign {_named(titles, r.campaign_id)} was closed by {r.actor} (outcome: {outcome}); "
                        "its pending calls to action were cancelled and the closing messages queued.",
                        link(s, f"/campaigns/{r.campaign_id}"), r.campaign_id)


def _responses(conn: Connection, now: datetime, s: AlertSettings, titles: dict[str, str]) -> Iterator[Alert]:
    t = RESPONSES.c
    rows = conn.execute(select(RESPONSES).where(t.received_at >= now - LOOKBACK).order_by(t.id))
    for r in rows:
        said = f": “{r.text[:280]}”" if r.text else ""
        where = f" {r.url}" if r.url else ""
        yield Alert(Event.TARGET_RESPONDED, f"response:{r.id}",
                    f"The target answered campaign {_named(titles, r.campaign_id)}: {r.author} sent a {r.kind} on "
                    f"{r.network}{said}.{where} It may be the moment to close or change the ask.",
                    link(s, f"/campaigns/{r.campaign_id}"), r.campaign_id, r.account_id)
