"""After a worker died mid-send, and after a close found posts in doubt: read the account back before anything
is decided, then settle each post as the network's answer allows.

- found: recorded sent, with its remote id (a closing message then replies under it);
- surely not there (the network can say so: Bluesky's record key, Mastodon's statuses since it was due): sent
  again, or, its campaign closed, cancelled as not sent (never a call to action after the close);
- the network cannot tell: sent again only where that cannot make a second post (an idempotent network, its
  campaign open) and attempts are left, else `unknown` for a person;
- the account could not be read (a network error): read again later, for a day, then left to a person.

What a dead worker held is found by its heartbeat (bot/outbox/workers.py): a live worker's slow send is
never taken from it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from bot.clock import as_utc
from bot.errors import ConfigError
from bot.networks.base import CANNOT_TELL, Booster, Misconfigured, Network, Post, Published, ReadBack
from bot.networks.registry import network_class
from bot.outbox import record, workers
from bot.outbox.link import Link
from bot.outbox.tables import READ_FOR
from bot.states import Action, CampaignState, ErrorKind, Kind, Status
from bot.worker.runtime import Runtime

log = logging.getLogger(__name__)
READ_AGAIN = timedelta(minutes=2)
"""After a failed read of the account, the next try."""
BATCH = 50
TAKEN_WINDOW = timedelta(days=1)
"""How far back before a post was due the ids other posts hold are gathered (wider than any read-back window)."""


def _network(rt: Runtime, account_id: str) -> Network | None:
    try:
        return rt.network(account_id)
    except (Misconfigured, ConfigError) as exc:  # its secret cannot be read: it cannot tell now
        log.warning("account %s: cannot read its posts to settle an unknown outcome: %s", account_id, exc)
        return None


def read_back(net: Network, post: Post, action: str) -> ReadBack:
    """What the account says of the post (raises the network's classified errors)."""
    if action == Action.BOOST:
        return net.read_back_boost(post) if isinstance(net, Booster) else CANNOT_TELL
    if action == Action.UNBOOST:
        return CANNOT_TELL  # taking a boost back twice takes nothing more: it is simply sent again
    return net.read_back(post)


def settle(rt: Runtime, account_id: str, post: Post, action: str = Action.POST) -> ReadBack | None:
    """Read the account back; None when it could not be read now (logged)."""
    net = _network(rt, account_id)
    if net is None:
        return None
    try:
        return read_back(net, post, action)
    except SQLAlchemyError:
        raise
    except Exception:  # a network error, or an adapter bug: the post stays in doubt and is read again later
        log.warning("account %s: could not read its posts to settle delivery %s", account_id, post.delivery_id,
                    exc_info=True)
        return None


def _idempotent(rt: Runtime, account_id: str) -> bool:
    try:
        return rt.network(account_id).idempotent
    except (Misconfigured, ConfigError):  # not built without its secret: its network's class still knows
        settings = rt.accounts.settings(account_id)
        return settings is not None and network_class(settings.network).idempotent
    except Exception:  # an adapter that cannot even be built: the safe answer
        log.exception("account %s: could not build its adapter", account_id)
        return False


def recover(rt: Runtime, probe: Link | None = None) -> int:
    """Take over what dead workers held: each becomes `unknown` with its read-back due, read by its account's
    next run (settle_account); returns how many there were. ``probe``: a kept autocommit link on which one
    cheap statement first says whether there is anything to look at (the daemon's case, every few seconds)."""
    now = rt.clock.now()
    if probe is not None and not probe.once(lambda conn: workers.anything_to_recover(conn, now)):
        return 0
    with Link(rt.engine) as link:
        rows = link.run(lambda conn: workers.orphans(conn, now))
        for r in rows:
            why = ("the worker sending this stopped mid-send; reading the account to see whether it went out "
                   "(`campaign-bot resolve` settles it by hand)")
            if link.run(partial(workers.take_over, row=r, now=now, why=why)):
                log.warning("delivery %s: its worker stopped mid-send; reading the account back", r.id)
        link.run(lambda conn: workers.forget_dead(conn, now))
    return len(rows)


def settle_account(rt: Runtime, link: Link, account_id: str, now: datetime) -> int:
    """Read back the account's posts whose read-back is due, on its own run (the network is called outside any
    transaction; an adapter is never used by two threads at once)."""
    rows = link.run(lambda conn: workers.to_read(conn, account_id, now, BATCH))
    if not rows:
        return 0
    since = min(as_utc(r.due_at) for r in rows) - TAKEN_WINDOW
    held = link.run(lambda conn: workers.taken(conn, account_id, since))
    for r in rows:
        post = Post(r.id, rt.post_key(r.id), r.text, r.language, scheduled_at=r.due_at, attempt=r.attempts + 1,
                    taken=frozenset(held))
        answer = settle(rt, r.account_id, post, r.action)
        link.run(partial(_record, rt=rt, row=r, answer=answer, now=now))
        if answer is not None and answer.published is not None:
            held.add(answer.published.remote_id)  # a second post of the same text in this batch is not this one
    return len(rows)


def _record(conn: Connection, rt: Runtime, row: Any, answer: ReadBack | None, now: datetime) -> None:
    """Settle one post as the account's answer allows (see the module's docstring)."""
    closed = workers.closed_for(row)
    rid, account = row.id, row.account_id
    if answer is not None and answer.published is not None:
        found: Published = answer.published
        # A reply in a thread went out under the account's last post of the campaign before it (what its send
        # computed: nothing of the campaign goes out on the account while it is in doubt): recorded too.
        reply = (record.parent_of(conn, row.campaign_id, account, row.language, rid)
                 if row.reply_in_thread and row.action == Action.POST else None)
        if workers.settle_found(conn, rid, now, found.remote_id, found.url, found.ref, reply):
            log.info("delivery %s: found on the account; recorded sent", rid)
        else:
            log.warning("delivery %s: found on the account, but it changed meanwhile; left as it is", rid)
    elif answer is not None and answer.certain:
        if row.cancel_asked_by:  # a person asked to cancel it while it was in doubt: it is not out, so it is not
            workers.settle(conn, rid, now, Status.CANCELLED, ErrorKind.CANCELLED_BY_HAND,
                           f"cancelled by {row.cancel_asked_by}: not on the account (read back first: an earlier "
                           "attempt's answer was lost)")
        elif closed:
            workers.settle(conn, rid, now, Status.CANCELLED, ErrorKind.CLOSED,
                           f"not sent: the account shows no such post, and its campaign {_how_closed(row)}")
        else:
            workers.settle(conn, rid, now, Status.PLANNED, ErrorKind.LEASE_EXPIRED,
                           "not found on the account after its send was interrupted: sending it again")
        log.info("delivery %s: not on the account; %s", rid,
                 "cancelled" if closed or row.cancel_asked_by else "sending it again")
    elif answer is not None:  # the network cannot tell
        spent = row.attempts >= rt.config.bot.max_attempts  # else: its last attempt gives up here again, at once
        if _idempotent(rt, account) and not closed and not spent and not row.cancel_asked_by:
            workers.settle(conn, rid, now, Status.PLANNED, ErrorKind.IN_DOUBT,
                           "its send was interrupted; sending it again (safe on this network: the retry carries "
                           "the same key)")
        else:
            why = (f"{row.cancel_asked_by} asked to cancel it; " if row.cancel_asked_by else
                   f"its campaign {_how_closed(row)} meanwhile; " if closed else
                   f"gave up after {row.attempts} attempts; " if spent else "")
            workers.settle(conn, rid, now, Status.UNKNOWN, ErrorKind.OUTCOME_UNKNOWN,
                           f"its send was interrupted; {why}the post may or may not exist and the network cannot "
                           f"tell: check the account, then `campaign-bot resolve {rid} --sent URL` or `--not-sent`")
            log.warning("delivery %s: outcome unknown; flagged for a person", rid)
    elif now - as_utc(row.updated_at) >= READ_FOR:  # updated_at: when it was flagged (retries keep it)
        workers.settle(conn, rid, now, Status.UNKNOWN, ErrorKind.OUTCOME_UNKNOWN,
                       f"the account could not be read back for a day: the post may or may not exist: check the "
                       f"account, then `campaign-bot resolve {rid} --sent URL` or `--not-sent`")
    else:
        workers.read_later(conn, rid, now + READ_AGAIN, "the account could not be read back yet; trying again")


def _how_closed(row: Any) -> str:
    """Why a read-back's post is no longer wanted (workers.closed_for), in words."""
    if row.kind != Kind.CLOSING:
        return "closed"
    if row.campaign_state == CampaignState.CLOSED:
        return "was reopened and closed again (this closing message is an earlier close's)"
    return "was reopened"
