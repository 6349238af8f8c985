"""What staff see of a campaign's supporters (read-only): how many, per network and state, and the boosts
each organisation post received. The staff campaign page shows it (bot/web/templates/_supporters.html)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from bot.states import Action, Status
from bot.store.models import DeliveryRow
from bot.store.supporters import AmplifyWaveRow, SupporterCampaignRow, SupporterRow
from bot.supporters.service import ACCOUNT_PREFIX, CONNECTED


@dataclass(frozen=True)
class PostBoosts:
    delivery_id: int
    network: str
    url: str | None
    sent_at: datetime | None
    text: str
    boosts: dict[str, int] = field(default_factory=dict)
    """Boost deliveries by status (planned, sent, failed, cancelled...)."""

    @property
    def sent(self) -> int:
        return self.boosts.get(Status.SENT, 0)

    @property
    def total(self) -> int:
        return sum(self.boosts.values())


@dataclass(frozen=True)
class CampaignSupporters:
    counts: dict[tuple[str, str], int]
    """(network, state) -> supporters: connected ones who amplify the campaign, disconnected ones who boosted it."""
    posts: list[PostBoosts]

    @property
    def connected(self) -> int:
        return sum(n for (_, state), n in self.counts.items() if state == CONNECTED)


def campaign_supporters(session: Session, campaign_id: str, limit: int = 50) -> CampaignSupporters:
    chose = or_(SupporterRow.all_campaigns.is_(True),
                SupporterRow.id.in_(select(SupporterCampaignRow.supporter_id)
                                    .where(SupporterCampaignRow.campaign_id == campaign_id)))
    counts: dict[tuple[str, str], int] = {}
    for network, number in session.execute(select(SupporterRow.network, func.count())
                                           .where(SupporterRow.state == CONNECTED, chose)
                                           .group_by(SupporterRow.network)):
        counts[(network, CONNECTED)] = number
    boosted = (select(DeliveryRow.account_id).where(DeliveryRow.campaign_id == campaign_id,
                                                    DeliveryRow.account_id.startswith(ACCOUNT_PREFIX),
                                                    DeliveryRow.action == Action.BOOST).distinct())
    gone = (select(SupporterRow.network, SupporterRow.state, func.count())
            .where(SupporterRow.state != CONNECTED,
                   (ACCOUNT_PREFIX + cast(SupporterRow.id, String())).in_(boosted))
            .group_by(SupporterRow.network, SupporterRow.state))
    for network, state, number in session.execute(gone):
        counts[(network, state)] = number
    posts = list(session.scalars(select(DeliveryRow).join(AmplifyWaveRow, AmplifyWaveRow.delivery_id == DeliveryRow.id)
                                 .where(AmplifyWaveRow.campaign_id == campaign_id)
                                 .order_by(DeliveryRow.sent_at.desc()).limit(limit)))
    by_target: dict[str, dict[str, int]] = defaultdict(dict)
    for text, status, number in session.execute(
            select(DeliveryRow.text, DeliveryRow.status, func.count())
            .where(DeliveryRow.campaign_id == campaign_id, DeliveryRow.action == Action.BOOST)
            .group_by(DeliveryRow.text, DeliveryRow.status)):
        by_target[text][status] = number
    out = []
    for p in posts:
        ref = p.remote_ref or {}
        target = p.remote_url if p.network == "mastodon" else f"{ref.get('uri')} {ref.get('cid')}"
        out.append(PostBoosts(p.id, p.network, p.remote_url, p.sent_at, p.text,
                              dict(by_target.get(target or "", {}))))
    return CampaignSupporters(counts, out)
