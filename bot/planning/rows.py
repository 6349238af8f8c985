"""Building delivery rows: one row per post and account, with its text rendered for that account's network."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.accounts.directory import account_languages
from bot.campaigns.loader import LoadedCampaign
from bot.campaigns.schema import Message
from bot.campaigns.templates import pick, render
from bot.states import Action, Kind, Status

# The enums are defined once (bot/outbox/enums.py); these names stay for the modules that import them.
PLANNED, SENDING, SENT = Status.PLANNED, Status.SENDING, Status.SENT
CANCELLED, FAILED, MISSED, UNKNOWN = Status.CANCELLED, Status.FAILED, Status.MISSED, Status.UNKNOWN
CALL_TO_ACTION, CLOSING, UPDATE, QUEUED = Kind.CALL_TO_ACTION, Kind.CLOSING, Kind.UPDATE, Kind.QUEUED


def media_for(message: Message, campaign: LoadedCampaign, language: str) -> list[dict[str, str]]:
    if message.image is None:
        return []
    alt = pick(message.image.alt, language) or ""
    return [{"path": str((campaign.base_dir / message.image.path).resolve()), "alt": alt}]


def row(
    *,
    plan_key: str,
    campaign_id: str,
    account_id: str,
    network: str,
    kind: str,
    language: str,
    text: str,
    due_at: datetime,
    now: datetime,
    rule_id: str | None = None,
    variant: int | None = None,
    media: list[dict[str, str]] | None = None,
    reply_in_thread: bool = False,
    action: str = Action.POST,
    queued_by: str | None = None,
) -> dict[str, Any]:
    return {
        "plan_key": plan_key,
        "campaign_id": campaign_id,
        "account_id": account_id,
        "network": network,
        "kind": kind,
        "action": str(action),
        "rule_id": rule_id,
        "language": language,
        "variant": variant,
        "text": text,
        "media": media or [],
        "reply_in_thread": reply_in_thread,
        "due_at": due_at,
        "status": str(Status.PLANNED),
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
        "queued_by": queued_by,
    }


def message_rows(
    app: Any,
    campaign: LoadedCampaign,
    message: Message,
    *,
    kind: str,
    key: str,
    due_at: datetime,
    now: datetime,
    reply_in_thread: bool,
    accounts: list[str] | None = None,
    languages: list[str] | None = None,
    queued_by: str | None = None,
) -> list[dict[str, Any]]:
    """One row per account and language for a one-off message (closing, update, queued)."""
    rows = []
    for account_id in accounts or campaign.model.accounts:
        view = app.account(account_id)
        if view is None:
            continue
        for lang in account_languages(view, languages or campaign.model.languages):
            text = render(message, campaign.model, campaign.targets, lang, view.network)
            rows.append(row(plan_key=f"{key}|{account_id}|{lang}", campaign_id=campaign.id, account_id=account_id,
                            network=view.network, kind=kind, language=lang, text=text, due_at=due_at, now=now,
                            media=media_for(message, campaign, lang), reply_in_thread=reply_in_thread,
                            queued_by=queued_by))
    return rows
