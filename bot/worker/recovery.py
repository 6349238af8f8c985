"""After a worker died mid-send: what it held is freed as soon as its heartbeat stops (or its lease expires),
then resent where that is safe (an idempotent network), or settled by reading the account, or flagged
`unknown` for a person. A call to action of a closed campaign is never planned again."""

from __future__ import annotations

import logging
from functools import partial

from sqlalchemy.exc import SQLAlchemyError

from bot.errors import ConfigError
from bot.networks.base import Misconfigured, Post, Published
from bot.networks.registry import network_class
from bot.outbox import workers
from bot.outbox.link import Link
from bot.outbox.record import record_sent
from bot.states import CampaignState, ErrorKind, Kind, Status
from bot.worker.runtime import Runtime

log = logging.getLogger(__name__)


def settle(app: Runtime, account_id: str, post: Post) -> Published | None:
    """Ask the network whether the post exists (where it can tell); None when it cannot say."""
    try:
        return app.network(account_id).find_published(post)
    except SQLAlchemyError:
        raise
    except (Misconfigured, ConfigError) as exc:  # its secret cannot be read: it cannot tell now
        log.warning("account %s: cannot read its posts to settle an unknown outcome: %s", account_id, exc)
        return None
    except Exception:  # settling is best effort; the delivery stays flagged
        log.exception("account %s: could not read recent posts to settle an unknown outcome", account_id)
        return None


def _idempotent(app: Runtime, account_id: str) -> bool:
    try:
        return app.network(account_id).idempotent
    except (Misconfigured, ConfigError):  # not built without its secret: its network's class still knows
        settings = app.accounts.settings(account_id)
        return settings is not None and network_class(settings.network).idempotent
    except Exception:  # an adapter that cannot even be built: the safe answer
        log.exception("account %s: could not build its adapter", account_id)
        return False


def recover(app: Runtime) -> int:
    """Settle every orphaned delivery; returns how many there were."""
    now = app.clock.now()
    with Link(app.engine) as link:
        rows = link.run(lambda conn: workers.orphans(conn, now))
        flagged = []
        for r in rows:
            closed = r.campaign_state == CampaignState.CLOSED and r.kind != Kind.CLOSING
            if _idempotent(app, r.account_id) and not closed:
                link.run(partial(workers.free, row=r, now=now, status=Status.PLANNED,
                                 error_kind=ErrorKind.LEASE_EXPIRED,
                                 error="the worker sending this stopped mid-send; resending (safe on this network)"))
                log.warning("delivery %s: its worker stopped mid-send; resending", r.id)
                continue
            why = "its campaign closed meanwhile; " if closed else ""
            if link.run(partial(workers.free, row=r, now=now, status=Status.UNKNOWN,
                                error_kind=ErrorKind.OUTCOME_UNKNOWN,
                                error=f"the worker sending this stopped mid-send; {why}the post may or may not "
                                      f"exist: check the account, then `campaign-bot resolve {r.id} --sent URL` or "
                                      "`--not-sent`")):
                flagged.append(r)
        link.run(lambda conn: workers.forget_dead(conn, now))
        for r in flagged:  # outside any transaction: this reads the network
            found = settle(app, r.account_id, Post(r.id, app.post_key(r.id), r.text, r.language,
                                                   scheduled_at=r.due_at))
            if found is not None:
                link.run(partial(record_sent, owner=r.lease_owner, delivery_id=r.id, published=found, now=now))
                log.info("delivery %s: found published after its worker stopped; recorded sent", r.id)
            else:
                log.warning("delivery %s: its worker stopped mid-send; flagged unknown for a person", r.id)
    return len(rows)
