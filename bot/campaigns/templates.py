"""Rendering message templates: Jinja2, sandboxed, with StrictUndefined so a typo is an error, not a blank."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from bot.campaigns.schema import Campaign, Localized, Message, Target

FIELDS = ("ask", "hashtags", "link", "title", "reference", "targets")


class TemplateError(ValueError):
    pass


class Hashtags(list[str]):
    """Renders as the tags joined by spaces, and still iterates as a list."""

    def __str__(self) -> str:
        return " ".join(self)


@dataclass(frozen=True)
class TargetView:
    name: str
    role: str
    mention: str
    """The handle on the network being rendered for, or the name where the target has none there."""

    def __str__(self) -> str:
        return self.mention


_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=4096)
def _compile(source: str) -> Any:
    return _env.from_string(source)


def pick(value: Localized, language: str) -> str | None:
    if isinstance(value, str):
        return value
    return value.get(language)


def message_source(message: Message, language: str, network: str) -> str | None:
    """The template for a language and network: the network's variant first, then the message's text."""
    if network in message.networks:
        found = pick(message.networks[network], language)
        if found is not None:
            return found
    return pick(message.text, language)


def context(campaign: Campaign, targets: dict[str, Target], language: str, network: str) -> dict[str, Any]:
    tags = campaign.hashtags
    tag_list = tags if isinstance(tags, list) else tags.get(language, [])
    views = []
    for tid in campaign.targets:
        t = targets[tid]
        views.append(TargetView(name=t.name, role=t.role or "", mention=t.handle(network) or t.name))
    return {
        "ask": pick(campaign.ask, language) or "",
        "hashtags": Hashtags("#" + t.lstrip("#") for t in tag_list),
        "link": campaign.link,
        "title": campaign.title,
        "reference": campaign.reference,
        "targets": views,
    }


def render_source(source: str, ctx: dict[str, Any]) -> str:
    try:
        template = _compile(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from None
    try:
        text: str = template.render(**ctx)
    except UndefinedError as exc:
        raise TemplateError(f"template uses an unknown field: {exc.message} (known: {', '.join(FIELDS)})") from None
    except Exception as exc:  # the sandbox raises SecurityError and others on hostile templates
        raise TemplateError(f"template failed to render: {exc}") from None
    return text.strip()


def render(
    message: Message, campaign: Campaign, targets: dict[str, Target], language: str, network: str
) -> str:
    source = message_source(message, language, network)
    if source is None:
        raise TemplateError(f"no text for language {language!r}")
    return render_source(source, context(campaign, targets, language, network))
