"""Checks on a campaign's texts that need no config: languages the campaign does not post in, absurd sizes
(refused before anything is rendered or measured), and deadline fields without a deadline."""

from __future__ import annotations

from collections.abc import Iterator

from bot.campaigns.schema import Campaign, Localized, Message

Problem = tuple[str, str]
"""(field, message): the loader turns each into an Issue naming the file."""

MAX_FILE_BYTES = 256_000
"""A campaign file is 5-30 kB; ten times that is a mistake (or an attack), refused before parsing (a file of
many small keys parses at under 1 MB/s)."""
MAX_TEXT = 10_000
"""Characters in one text, template or field; every network's limit is far below."""
MAX_VARIANTS = 100
"""Calls to action, or updates, per campaign."""
MAX_LANGUAGES = 30


def localized_fields(model: Campaign) -> Iterator[tuple[str, Localized]]:
    """Every text of the campaign with the path a user would write in the file."""
    yield "title", model.title
    yield "ask", model.ask
    if model.summary is not None:
        yield "summary", model.summary
    for where, message in messages(model):
        yield f"{where}.text", message.text
        for network, variant in message.networks.items():
            yield f"{where}.networks.{network}", variant
        if message.image is not None:
            yield f"{where}.image.alt", message.image.alt
    if model.letter is not None:
        yield "letter.subject", model.letter.subject
        yield "letter.text", model.letter.text


def messages(model: Campaign) -> Iterator[tuple[str, Message]]:
    msgs = model.messages
    for i, m in enumerate(msgs.call_to_action):
        yield f"messages.call_to_action[{i}]", m
    yield "messages.closing.success", msgs.closing.success
    yield "messages.closing.no_further_action", msgs.closing.no_further_action
    for i, u in enumerate(msgs.update):
        yield f"messages.update[{i}]", u


def _values(value: Localized, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    else:
        for lang, text in value.items():
            yield f"{where}.{lang}", text


def check_sizes(model: Campaign) -> list[Problem]:
    """Absurd sizes, with one line each; a campaign with any is not rendered at all."""
    issues: list[Problem] = []
    for kind, items in (("messages.call_to_action", model.messages.call_to_action),
                        ("messages.update", model.messages.update)):
        if len(items) > MAX_VARIANTS:
            issues.append((kind, f"{len(items):,} messages; a campaign may have at most {MAX_VARIANTS}"))
    if len(model.languages) > MAX_LANGUAGES:
        issues.append(("languages", f"{len(model.languages)} languages; the limit is {MAX_LANGUAGES}"))
    if issues:  # don't walk 20,000 variants to say the same thing again
        return issues
    fields = [("reference", model.reference), ("link", model.link)]
    for where, value in localized_fields(model):
        fields.extend(_values(value, where))
    for where, text in fields:
        if len(text) > MAX_TEXT:
            issues.append((where, f"{len(text):,} characters; a text may have at most {MAX_TEXT:,} "
                                "(every network's limit is far shorter)"))
    return issues


def check_languages(model: Campaign) -> list[Problem]:
    """A text for a language the campaign does not post in is a mistake (a typo, or a language forgotten in
    `languages`): it would never be posted."""
    known = set(model.languages)
    listed = ", ".join(model.languages)
    issues: list[Problem] = []
    tags = model.hashtags
    tables: list[tuple[str, dict[str, object]]] = [("hashtags", dict(tags))] if isinstance(tags, dict) else []
    for where, value in localized_fields(model):
        if isinstance(value, dict):
            tables.append((where, dict(value)))
    for where, table in tables:
        for lang in table:
            if lang not in known:
                issues.append((f"{where}.{lang}", f"{lang!r} is not one of the campaign's languages "
                                    f"({listed}): add it to languages, or remove this text"))
    return issues


def check_deadline_rules(model: Campaign) -> list[Problem]:
    issues: list[Problem] = []
    if model.act_by is None:
        for i, rule in enumerate(model.schedule):
            for name in ("until_days_left", "from_days_left"):
                if getattr(rule, name) is not None:
                    issues.append((f"schedule[{i}].{name}", "counts days to the deadline: set act_by "
                                        "in the campaign (a date like 2026-12-05)"))
    for i, rule in enumerate(model.schedule):
        if (rule.until_days_left is not None and rule.from_days_left is not None
                and rule.until_days_left >= rule.from_days_left):
            issues.append((f"schedule[{i}]", f"until_days_left = {rule.until_days_left} and "
                                f"from_days_left = {rule.from_days_left} leave no day to post on"))
    return issues


def check_texts(model: Campaign) -> list[Problem]:
    return check_sizes(model) or [*check_languages(model), *check_deadline_rules(model)]
