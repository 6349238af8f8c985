"""Supporters connecting their own Mastodon or Bluesky account, choosing campaigns, undoing their boosts and
disconnecting: done by the supporter (their private manage link, the connect pages) or by an admin with the CLI.

The credentials were checked with the network before (a network call never runs inside the transaction)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select

from bot.actions.base import Actor, Context, Result, Via, action
from bot.actions.errors import ActionError, Forbidden, NotFound
from bot.states import Role
from bot.store import limits
from bot.store.models import CampaignRow
from bot.supporters import service
from bot.supporters.crypto import require_cipher

HOST = r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:\d{1,5})?"
HANDLES = {"mastodon": re.compile(rf"^[A-Za-z0-9_]([A-Za-z0-9_.-]{{0,62}}[A-Za-z0-9_])?@{HOST}$"),
           "bluesky": re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")}
"""A handle as each network writes one (a Mastodon username@host, a Bluesky domain). It comes from the supporter's
server, which may answer anything: it is shown on pages and in the audit log, so nothing else is stored."""


CONNECT_TRIES = (10, timedelta(minutes=10))
"""Attempts to connect per address and window: each one makes requests to another server."""
CONNECT_TRIES_ALL = (600, timedelta(minutes=10))
"""...and from everyone together, so that many addresses cannot turn the server into a flood either."""


def may_try_connecting(ctx: Context, address: str) -> bool:
    """Count an attempt to connect (before any request goes to the supporter's server); False: too many."""
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        mine = limits.take(session, f"connect:{address}"[:300], now, limit=CONNECT_TRIES[0], window=CONNECT_TRIES[1])
        everyone = limits.take(session, "connect:*", now, limit=CONNECT_TRIES_ALL[0], window=CONNECT_TRIES_ALL[1])
    return mine and everyone


def _handle(network: str, handle: str | None) -> None:
    shape = HANDLES.get(network)
    if handle is not None and shape is not None and (len(handle) > 300 or not shape.match(handle)):
        raise ActionError("bad_handle", "handle", network=network)


def _allowed(actor: Actor) -> None:
    """The supporter themselves (holding their manage link, or connecting) or an admin."""
    if actor.via != Via.SUPPORTER and not actor.can(Role.ADMIN):
        raise Forbidden("needs_role", role=str(Role.ADMIN))


@action
def connect(ctx: Context, actor: Actor, *, network: str, name: str, credentials: dict[str, str],
            instance: str | None, api_base_url: str | None, handle: str | None,
            campaigns: Iterable[str] | None) -> tuple[Result, service.Connected]:
    """``campaigns`` None: every campaign (the surface checked the ids). The same account connecting again
    replaces its earlier entry."""
    _allowed(actor)
    _handle(network, handle)
    cipher = require_cipher()
    with ctx.sessions.begin() as session:
        done = service.connect(session, cipher, ctx.clock.now(), network=network, name=name,
                               credentials=credentials, instance=instance, api_base_url=api_base_url, handle=handle,
                               campaigns=campaigns, actor=actor.name)
    chosen_text = ", ".join(done.supporter.campaigns) or "every campaign"
    replaces = f"; replaces {done.replaced}, now disconnected (same account)" if done.replaced else ""
    return Result(True, "supporter_connected", {"name": name, "network": network, "handle": handle,
                                                "campaigns": chosen_text, "replaces": replaces}), done


@action
def choose_campaigns(ctx: Context, actor: Actor, supporter_id: int, campaigns: Iterable[str] | None) -> Result:
    """``campaigns`` None: every campaign; unknown ids are left out."""
    _allowed(actor)
    with ctx.sessions.begin() as session:
        chosen = None
        if campaigns is not None:
            known = set(session.scalars(select(CampaignRow.id)))
            chosen = [c for c in campaigns if c in known]
        service.set_campaigns(session, supporter_id, chosen, ctx.clock.now(), actor.name)
    return Result(True, "supporter_campaigns")


@action
def disconnect(ctx: Context, actor: Actor, supporter_id: int, reason: str) -> Result:
    """Their token and personal data are deleted now, their planned boosts cancelled."""
    _allowed(actor)
    with ctx.sessions.begin() as session:
        found = service.by_id(session, supporter_id)
        if found is None:
            raise NotFound("no_supporter", "name", name=str(supporter_id))
        if not found.connected:
            return Result(False, "supporter_already_gone", {"name": found.name,
                                                            "reason": found.disconnect_reason or "no reason kept"})
        service.disconnect(session, supporter_id, ctx.clock.now(), reason, actor=actor.name)
    return Result(True, "supporter_removed", {"name": found.name})


@action
def undo_boosts(ctx: Context, actor: Actor, supporter_id: int, campaign_id: str | None = None) -> Result:
    """Unboosts of what was boosted (of one campaign, or all), due now; planned boosts are cancelled."""
    _allowed(actor)
    with ctx.sessions.begin() as session:
        found = service.by_id(session, supporter_id)
        if found is None or not found.connected:
            raise ActionError("supporter_disconnected", "name", name=str(supporter_id))
        count = service.undo_boosts(session, supporter_id, ctx.clock.now(), campaign_id, actor=actor.name)
    return Result(True, "unboosts_planned", {"count": count, "name": found.name})
