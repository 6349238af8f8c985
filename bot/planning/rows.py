"""Rendering one-off messages into new deliveries: one row per account and language, its text rendered for that
account's network (closing messages, updates, posts queued by hand). The planner renders the schedule's calls to
action itself (bot/planning/planner.py)."""

from __future__ import annotations

from datetime import datetime

from bot.accounts.directory import AccountLookup, account_languages
from bot.campaigns.loader import LoadedCampaign
from bot.campaigns.schema import Message
from bot.campaigns.templates import pick, render
from bot.networks.registry import measured
from bot.outbox.new import NewDelivery, new_delivery
from bot.states import Kind


def media_for(message: Message, campaign: LoadedCampaign, language: str) -> list[dict[str, str]]:
    if message.image is None:
        return []
    alt = pick(message.image.alt, language) or ""
    return [{"path": str((campaign.base_dir / message.image.path).resolve()), "alt": alt}]


def message_rows(
    accounts: AccountLookup,
    campaign: LoadedCampaign,
    message: Message,
    *,
    kind: Kind,
    key: str,
    due_at: datetime,
    now: datetime,
    reply_in_thread: bool,
    only_accounts: list[str] | None = None,
    languages: list[str] | None = None,
    queued_by: str | None = None,
) -> list[NewDelivery]:
    """One row per account and language for a one-off message (closing, update, queued)."""
    rows = []
    for account_id in only_accounts or campaign.model.accounts:
        view = accounts.view(account_id)
        if view is None:
            continue
        for lang in account_languages(view, languages or campaign.model.languages):
            text = render(message, campaign.model, campaign.targets, lang, view.network)
            rows.append(new_delivery(plan_key=f"{key}|{account_id}|{lang}", campaign_id=campaign.id,
                                     account_id=account_id, network=view.network, kind=kind, language=lang,
                                     text=text, due_at=due_at, now=now, media=media_for(message, campaign, lang),
                                     reply_in_thread=reply_in_thread, queued_by=queued_by,
                                     text_length=measured(view.network, text)))
    return rows
