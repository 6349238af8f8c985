"""Helpers of the language tests: campaigns in Arabic and in a language with no catalogue, and the English words
of the catalogues (a translated page must show none of them)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from bot.web.catalogues import TEMPLATE, read

ARABIC_CAMPAIGN = textwrap.dedent("""\
    title = "حملة تجريبية"
    languages = ["ar", "en"]
    timezone = "America/Lima"
    status = "active"
    link = "https://example.org/ua"
    targets = ["cancilleria-peru"]
    accounts = ["a1", "a2"]
    ask = { ar = "امنحوا الأطفال اللاجئين وضع الهجرة الإنساني", en = "Grant refugee children humanitarian status" }
    hashtags = ["Peru"]

    [summary]
    ar = "يُحرم الأطفال اللاجئون في بيرو من الوضع الذي يحصل عليه الكبار، ومعه المدرسة والرعاية الصحية."
    en = "Refugee children in Peru are denied the status adults receive."

    [[schedule]]
    id = "daily"
    cron = "0 9,15 * * *"

    [[messages.call_to_action]]
    text.ar = "{{ targets[0].mention }}: {{ ask }}. {{ hashtags }} {{ link }}"
    text.en = "{{ targets[0].mention }}: {{ ask }}. {{ hashtags }} {{ link }}"
    [messages.closing.success]
    text = { ar = "شكرًا لكل من أرسل مناشدة.", en = "Many thanks to all who sent appeals." }
    [messages.closing.no_further_action]
    text = { ar = "لا يُطلب أي تحرك آخر.", en = "No further action is requested." }
    """)
"""Arabic first, with a summary in both languages."""

PORTUGUESE_CAMPAIGN = ARABIC_CAMPAIGN.replace("ar =", "pt =").replace('["ar", "en"]', '["pt", "en"]')
"""A campaign language with no catalogue (the words stay Arabic in the texts: only the code matters here)."""


def write(directory: Path, campaign_id: str, text: str) -> None:
    (directory / f"{campaign_id}.toml").write_text(text, encoding="utf-8")


def english_words() -> set[str]:
    """Every English word of three letters or more in the catalogues' msgids (placeholders and names left out):
    none may show on a page translated into another language ("web" and "bot" are Spanish and French too)."""
    names = {"mastodon", "bluesky", "threads", "whatsapp", "telegram", "facebook", "linkedin", "campaign-bot",
             "atom", "pds", "bot", "web", "bsky", "social", "alice", "abcd", "efgh", "ijkl", "mnop", "https", "api",
             "utc"}
    words: set[str] = set()
    for message in read(TEMPLATE):
        if not message.id or not isinstance(message.id, str):
            continue
        text = re.sub(r"\{[^}]*\}|%\([a-z_]+\)s", " ", message.id)
        words.update(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]{2,}", text))
    return words - names
