"""The reach report: per campaign, per network and per post, from the snapshots collected back.

One structure feeds `campaign-bot report` (text, --json, --csv), the campaign page and the dashboard line;
``rows()`` flattens it for CSV, so JSON and CSV say the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, String, cast, func, literal, select

from bot.clock import as_utc
from bot.errors import NotFound
from bot.networks.registry import Capability, kinds_that
from bot.outbox.tables import CAMPAIGNS, DELIVERIES, stamp
from bot.reach.clicks import LETTER, clicks_for
from bot.reach.tables import READERS, RESPONSES, SNAPSHOTS
from bot.states import Action, Status

D, S, R = DELIVERIES.c, SNAPSHOTS.c, RESPONSES.c
U = DELIVERIES.alias("unboost").c  # a supporter's unboost, taking a boost back
COUNTS = ("boosts", "likes", "replies", "quotes")
FIELDS = ("posts", *COUNTS, "supporter_boosts", "share_clicks", "target_responses")
MAX_POINTS = 300
"""The most moments the series keeps (a reading of every post is one moment; the chart needs no more)."""
CSV_COLUMNS = ("campaign", "level", "network", "account", "delivery_id", "at", "url", *FIELDS, "letters")
"""A campaign's row counts its letters too; a "letter" row, one per way of sending (email, form, post), has its
count in ``letters`` and the way in ``network``."""


def _zero() -> dict[str, int]:
    return dict.fromkeys(FIELDS, 0)


def _add(into: dict[str, int], values: dict[str, Any]) -> None:
    for name in FIELDS:
        into[name] += int(values.get(name) or 0)


def campaign_report(conn: Connection, campaign_id: str) -> dict[str, Any]:
    row = conn.execute(select(CAMPAIGNS.c.id, CAMPAIGNS.c.title, CAMPAIGNS.c.state)
                       .where(CAMPAIGNS.c.id == campaign_id)).first()
    if row is None:
        raise NotFound(f"no campaign {campaign_id!r}")
    sent = conn.execute(select(D.id, D.account_id, D.network, D.kind, D.language, D.sent_at, D.remote_url, D.text,
                               D.remote_id)
                        .where(D.campaign_id == campaign_id, D.status == Status.SENT, D.action == Action.POST)
                        .order_by(D.sent_at, D.id)).all()
    history: dict[int, list[Any]] = defaultdict(list)
    for snap in conn.execute(select(SNAPSHOTS).join(DELIVERIES, D.id == S.delivery_id)
                             .where(D.campaign_id == campaign_id).order_by(S.collected_at, S.id)):
        history[snap.delivery_id].append(snap)
    answers = conn.execute(select(RESPONSES).where(R.campaign_id == campaign_id).order_by(R.received_at)).all()
    answered: dict[int | None, int] = defaultdict(int)
    for a in answers:
        answered[a.delivery_id] += 1
    boosts: dict[str, int] = defaultdict(int)
    boosted: dict[int, int] = defaultdict(int)  # supporters' boosts standing, per organisation post
    taken_back = select(U.id).where(U.plan_key == literal("unboost:") + cast(D.id, String()),
                                    U.status == Status.SENT).exists()
    for network, key in conn.execute(select(D.network, D.plan_key).where(
            D.campaign_id == campaign_id, D.action == Action.BOOST, D.status == Status.SENT, ~taken_back)):
        boosts[str(network)] += 1
        post_id = boosted_post(key)
        if post_id is not None:
            boosted[post_id] += 1
    clicks = clicks_for(conn, campaign_id)
    letters = clicks_for(conn, campaign_id, LETTER)
    own_replies: dict[str, int] = defaultdict(int)  # the organisation's closing messages and updates under a post
    for parent, n in conn.execute(select(D.in_reply_to, func.count()).where(
            D.campaign_id == campaign_id, D.status == Status.SENT, D.action == Action.POST,
            D.in_reply_to.is_not(None)).group_by(D.in_reply_to)):
        own_replies[str(parent)] = int(n)

    posts = []
    networks: dict[str, dict[str, int]] = defaultdict(_zero)
    for d in sent:
        last = history[d.id][-1] if history[d.id] else None
        post = {"delivery_id": d.id, "account": d.account_id, "network": d.network, "kind": d.kind,
                "language": d.language, "sent_at": stamp(as_utc(d.sent_at)), "url": d.remote_url,
                "text": d.text, "collected_at": stamp(as_utc(last.collected_at)) if last else None,
                "posts": 1, "boosts": last.reposts if last else None, "likes": last.likes if last else None,
                "replies": _others(last.replies, own_replies.get(d.remote_id or "", 0)) if last else None,
                "quotes": last.quotes if last else None,
                "supporter_boosts": boosted[d.id], "target_responses": answered[d.id]}
        posts.append(post)
        _add(networks[d.network], post)
    for network in sorted(set(boosts) | set(clicks)):
        networks[network]["supporter_boosts"] = boosts.get(network, 0)  # every one, also of a post not listed
        networks[network]["share_clicks"] += int(clicks.get(network, 0))
    plain = answered[None]  # plain mentions: no post, counted on their network
    for a in answers:
        if a.delivery_id is None:
            networks[a.network]["target_responses"] += 1
    totals: dict[str, int] = _zero()
    for values in networks.values():
        _add(totals, values)
    totals["letters"] = sum(letters.values())
    return {"campaign": campaign_id, "title": row.title, "state": row.state, "totals": totals,
            "letters": dict(sorted(letters.items())),
            "networks": {n: networks[n] for n in sorted(networks)}, "posts": posts,
            "over_time": over_time(history), "plain_mentions": plain,
            "responses": [{"id": a.id, "network": a.network, "account": a.account_id, "delivery_id": a.delivery_id,
                           "author": a.author, "kind": a.kind, "text": a.text, "url": a.url,
                           "received_at": stamp(as_utc(a.received_at))} for a in answers],
            "unavailable": _unavailable(conn, {d.account_id for d in sent}) | _unread(sent)}


def _others(replies: int | None, own: int) -> int | None:
    """The audience's replies: the network counts the organisation's own replies under the post too."""
    return None if replies is None else max(replies - own, 0)


def boosted_post(plan_key: str) -> int | None:
    """The organisation post a supporter's boost row boosts: its plan key is ``boost:<delivery id>:...``
    (bot/outbox/amplify.py)."""
    parts = plan_key.split(":")
    return int(parts[1]) if len(parts) > 2 and parts[0] == Action.BOOST and parts[1].isdigit() else None


def over_time(history: dict[int, list[Any]], points: int = MAX_POINTS) -> list[dict[str, Any]]:
    """Totals at each reading: every post counted at its latest reading up to then. Kept incrementally (one
    pass over the snapshots), and thinned to at most ``points`` moments, the last one always kept."""
    events = sorted((s for snaps in history.values() for s in snaps), key=lambda s: (as_utc(s.collected_at), s.id))
    latest: dict[int, Any] = {}
    totals = dict.fromkeys(COUNTS, 0)
    series: list[dict[str, Any]] = []
    for i, snap in enumerate(events):
        old = latest.get(snap.delivery_id)
        latest[snap.delivery_id] = snap
        for name, column in zip(COUNTS, ("reposts", "likes", "replies", "quotes"), strict=True):
            totals[name] += int(getattr(snap, column) or 0) - (int(getattr(old, column) or 0) if old else 0)
        moment = as_utc(snap.collected_at)
        if i + 1 < len(events) and as_utc(events[i + 1].collected_at) == moment:
            continue  # the rest of this reading first
        series.append({"at": stamp(moment), **totals})
    if len(series) > points:
        step = len(series) / (points - 1)
        series = [series[int(k * step)] for k in range(points - 1)] + [series[-1]]
    return series


def _unavailable(conn: Connection, accounts: set[str]) -> dict[str, str]:
    if not accounts:
        return {}
    rows = conn.execute(select(READERS.c.account_id, READERS.c.unavailable)
                        .where(READERS.c.account_id.in_(accounts), READERS.c.unavailable.is_not(None)))
    return {r.account_id: r.unavailable for r in rows}


def _unread(sent: Iterable[Any]) -> dict[str, str]:
    """Accounts on a network whose API gives no counts at all (Telegram's Bot API)."""
    readers = set(kinds_that(Capability.READ)) | {"console"}
    return {d.account_id: f"not available ({d.network}'s API gives none)" for d in sent if d.network not in readers}


def report(conn: Connection, campaign: str | None = None) -> list[dict[str, Any]]:
    ids = [campaign] if campaign else list(conn.scalars(select(CAMPAIGNS.c.id).order_by(CAMPAIGNS.c.id)))
    return [campaign_report(conn, cid) for cid in ids]


def rows(reports: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report as CSV rows: a campaign's totals, each network, each post, each moment of the series."""
    out: list[dict[str, Any]] = []
    for r in reports:
        base = dict.fromkeys(CSV_COLUMNS, "") | {"campaign": r["campaign"]}
        out.append(base | {"level": "campaign"} | r["totals"])
        for network, values in r["networks"].items():
            out.append(base | {"level": "network", "network": network} | values)
        for source, count in r["letters"].items():
            out.append(base | {"level": "letter", "network": source, "letters": count})
        for p in r["posts"]:
            out.append(base | {"level": "post", "network": p["network"], "account": p["account"],
                               "delivery_id": p["delivery_id"], "at": p["sent_at"], "url": p["url"] or ""}
                       | {k: ("" if p.get(k) is None else p.get(k, "")) for k in FIELDS})
        for point in r["over_time"]:
            out.append(base | {"level": "time", "at": point["at"]} | {k: point[k] for k in COUNTS})
    return out
