"""Rendering message templates: Jinja2, sandboxed and bounded (bot/campaigns/sandbox.py), with strict
undefined so a typo is an error, not a blank; a field with no value for the language is an error too."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError

from bot.campaigns import characters
from bot.campaigns.deadlines import days_left, deadline_words
from bot.campaigns.sandbox import (
    MAX_INT_BITS,
    MAX_OUTPUT,
    MAX_VALUE,
    BoundedEnvironment,
    TemplateLimit,
    render_bounded,
)
from bot.campaigns.schema import Campaign, Localized, Message, Target

FIELDS = ("ask", "hashtags", "link", "title", "reference", "targets", "deadline", "days_left")


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


class BlankFieldError(UndefinedError):
    pass


class Blank(StrictUndefined):
    """A known field with no value for the language being rendered: printing it is an error naming the field
    and the language, so a post never goes out with a hole. `{% if link %}` and `link | default(...)` still
    work, for a template that means to do without it."""

    def __bool__(self) -> bool:  # type: ignore[override]
        return False


_env = BoundedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


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


def _any_language(value: Localized, language: str, languages: list[str]) -> str:
    """A target's name in the language, else in the campaign's first language that has one."""
    for lang in (language, *languages):
        found = pick(value, lang)
        if found:
            return found
    return next(iter(value.values()), "") if isinstance(value, dict) else value


def _blank(name: str, why: str) -> Blank:
    return Blank(hint=f"the template uses {name!r}, which {why}", name=name, exc=BlankFieldError)


def _local_date(campaign: Campaign, on: date | datetime | None) -> date:
    if on is None:
        on = datetime.now(UTC)
    if isinstance(on, datetime):
        return (on if on.tzinfo else on.replace(tzinfo=UTC)).astimezone(campaign.zone()).date()
    return on


def context(campaign: Campaign, targets: dict[str, Target], language: str, network: str,
            on: date | datetime | None = None) -> dict[str, Any]:
    """The fields a template sees. ``on`` is when the post goes out (a UTC instant or a local date; default
    now): `days_left` counts from that day, so each planned post says the right number."""
    lang = repr(language)
    tags = campaign.hashtags
    tag_list = tags if isinstance(tags, list) else tags.get(language, [])
    views = []
    for tid in campaign.targets:
        t = targets[tid]
        name = _any_language(t.name, language, campaign.languages)
        role = _any_language(t.role, language, campaign.languages) if t.role else ""
        views.append(TargetView(name=name, role=role, mention=t.handle(network) or name))
    ask = pick(campaign.ask, language)
    act_by = campaign.act_by_date()
    no_deadline = "needs act_by in the campaign (the action's deadline)"
    return {
        "ask": ask if ask else _blank("ask", f"has no text for {lang} (add ask.{language})"),
        "hashtags": (Hashtags("#" + t.lstrip("#") for t in tag_list) if tag_list
                     else _blank("hashtags", f"has no tags for {lang}")),
        "link": campaign.link or _blank("link", "is not set in the campaign"),
        "title": campaign.title_in(language),
        "reference": campaign.reference or _blank("reference", "is not set in the campaign"),
        "targets": views,
        "deadline": deadline_words(act_by, language) if act_by else _blank("deadline", no_deadline),
        "days_left": (days_left(act_by, _local_date(campaign, on)) if act_by
                      else _blank("days_left", no_deadline)),
    }


# The common template is text with a few fields in it (`{{ ask }}`, `{{ targets[0].mention }}`): rendered
# without Jinja, which compiles each distinct template to Python (4 ms each: most of a first plan of 1,000
# campaigns was that). Anything else, and any field whose value is not plainly printable (a blank, a missing
# item, a value over the sandbox's limits), goes to Jinja, so errors and limits are exactly Jinja's.
_FIELD = re.compile(r"\{\{\s*([A-Za-z_]\w*)((?:\.[A-Za-z]\w*|\[\d{1,3}\])*)\s*\}\}")
_STEP = re.compile(r"\.([A-Za-z]\w*)|\[(\d+)\]")
_TARGET_FIELDS = frozenset({"name", "role", "mention"})
_Steps = tuple[tuple[str | None, int | None], ...]


@lru_cache(maxsize=8192)
def _plain(source: str) -> tuple[tuple[str, ...], tuple[tuple[str, _Steps], ...]] | None:
    """The literal pieces and the fields of a template made only of text and `{{ name.attr[0] }}` fields."""
    if "\r" in source:  # Jinja normalises line endings
        return None
    literals, fields, pos = [], [], 0
    for m in _FIELD.finditer(source):
        literals.append(source[pos:m.start()])
        steps = tuple((s.group(1), int(s.group(2)) if s.group(2) is not None else None)
                      for s in _STEP.finditer(m.group(2)))
        fields.append((m.group(1), steps))
        pos = m.end()
    literals.append(source[pos:])
    if any("{{" in t or "{%" in t or "{#" in t for t in literals):
        return None
    return tuple(literals), tuple(fields)


def _printable(ctx: dict[str, Any], name: str, steps: _Steps) -> str | None:
    """The field's text as Jinja prints it, or None where Jinja must decide (blank, missing, too big...)."""
    value = ctx.get(name)
    for attr, index in steps:
        if attr is not None and isinstance(value, TargetView) and attr in _TARGET_FIELDS:
            value = getattr(value, attr)
        elif index is not None and type(value) is list and index < len(value):
            value = value[index]
        else:
            return None
    if isinstance(value, bool) or not isinstance(value, str | int | TargetView):
        return None
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        return None
    text = str(value)
    return text if len(text) <= MAX_VALUE else None


def _render_plain(source: str, ctx: dict[str, Any]) -> str | None:
    plain = _plain(source)
    if plain is None:
        return None
    literals, fields = plain
    out = [literals[0]]
    for (name, steps), literal in zip(fields, literals[1:], strict=True):
        text = _printable(ctx, name, steps)
        if text is None:
            return None
        out += (text, literal)
    rendered = "".join(out)
    return rendered if len(rendered) <= MAX_OUTPUT else None


def render_source(source: str, ctx: dict[str, Any]) -> str:
    text = _render_plain(source, ctx)
    if text is not None and not characters.forbidden(text):
        return text.strip()
    try:
        template = _compile(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from None
    try:
        text = render_bounded(template, ctx)
    except TemplateLimit as exc:
        raise TemplateError(str(exc)) from None
    except BlankFieldError as exc:
        raise TemplateError(str(exc.message)) from None
    except UndefinedError as exc:
        if exc.message and "has no element" in exc.message:  # targets[1] with one target: not a typo
            raise TemplateError(f"the template uses an item the list does not have ({exc.message}): "
                                "check the campaign's targets") from None
        raise TemplateError(f"template uses an unknown field: {exc.message} (known: {', '.join(FIELDS)})") from None
    except Exception as exc:  # the sandbox raises SecurityError and others on hostile templates
        raise TemplateError(f"template failed to render: {exc}") from None
    found = characters.forbidden(text)
    if found:  # "{{ '\x1b' }}": Jinja reads escapes in its string literals
        raise TemplateError(f"the template makes the invisible or control character {found}: remove it")
    return text.strip()


def render(
    message: Message, campaign: Campaign, targets: dict[str, Target], language: str, network: str,
    on: date | datetime | None = None,
) -> str:
    """The text of ``message`` for a language and network; ``on`` is the post's time or local date (for
    `days_left`; default now)."""
    source = message_source(message, language, network)
    if source is None:
        raise TemplateError(f"no text for language {language!r}")
    return render_source(source, context(campaign, targets, language, network, on))
