"""A text's length per account as the servers count it (the queue form's live counter), and the close
confirmation page's preview (the same preview `close --dry-run` prints, shaped for the page)."""

from __future__ import annotations

from typing import Any, Protocol

from bot.accounts.directory import AccountLookup
from bot.actions.base import campaign_row
from bot.actions.errors import ActionError
from bot.campaigns.loader import LoadedCampaign
from bot.campaigns.schema import Message
from bot.campaigns.templates import TemplateError
from bot.campaigns.validate import check_text
from bot.networks.registry import network_class
from bot.planning.rows import message_rows
from bot.queries import previews
from bot.queries.deps import Reads
from bot.states import Kind


class Measures(Reads, Protocol):
    @property
    def accounts(self) -> AccountLookup: ...


def measure(deps: Measures, campaign: str, text: str, language: str | None) -> list[dict[str, Any]]:
    """The length of a text per account as the server counts it when the post is queued (the same rendering and
    check_text as `validate` and `queue`)."""
    now = deps.clock.now()
    with deps.sessions() as session:
        row = campaign_row(session, campaign)
        loaded = LoadedCampaign.from_definition(row.id, row.definition)
    lang = language or loaded.model.languages[0]
    if lang not in loaded.model.languages:
        raise ActionError("unknown_language", "language", language=lang, languages=", ".join(loaded.model.languages))
    try:
        rows = message_rows(deps.accounts, loaded, Message(text={lang: text}), kind=Kind.QUEUED, key="measure",
                            due_at=now, now=now, reply_in_thread=False, languages=[lang])
    except TemplateError as exc:
        raise ActionError("template", "text", problem=str(exc)) from None
    out = []
    for r in rows:
        cls = network_class(r.network)
        problems = check_text("text", "", r.text, r.network, lang)
        out.append({"account": r.account_id, "network": r.network, "length": cls.measure(r.text),
                    "limit": cls.max_length, "ok": not problems, "problem": problems[0].message if problems else None})
    return out


def close_confirmation(deps: previews.Previews, campaign: str, outcome: str) -> dict[str, Any]:
    """What `close` would do now, writing nothing, shaped for the confirmation page."""
    data = previews.close_preview(deps, campaign, outcome)
    with deps.sessions() as session:
        title = campaign_row(session, campaign).title
    messages = [{**{k: m[k] for k in ("account", "network", "language", "text", "length", "limit")},
                 "reply_under": (m["reply_to"]["remote_url"] or m["reply_to"]["remote_id"]) if m["reply_to"] else None}
                for m in data["messages"]]
    return {"campaign": campaign, "title": title, "state": data["state"], "outcome": data["outcome"],
            "already_closed": data["already_closed"], "cancelled": data["cancelled"], "messages": messages}
