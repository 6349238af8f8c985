"""The letter a supporter writes to the target (the campaign's ``[letter]``): where it goes and its text in a
language. The subject and text are templates with the messages' fields; a target's mention is its name, as a
letter addresses a person, not an account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.campaigns.schema import Campaign, Contact, Target
from bot.campaigns.templates import TemplateError, context, pick, render_source

LETTER = "letter"
"""The "network" a letter renders for: none has a handle there, so every mention is the target's name."""


@dataclass(frozen=True)
class Recipient:
    name: str
    role: str
    contact: Contact


@dataclass(frozen=True)
class LetterText:
    subject: str
    body: str


def recipient(campaign: Campaign, targets: dict[str, Target], language: str) -> Recipient | None:
    """Who the letter goes to and where: the letter's own fields over its target's contact in targets.toml."""
    letter = campaign.letter
    if letter is None:
        return None
    target_id = letter.to or (campaign.targets[0] if campaign.targets else None)
    target = targets.get(target_id) if target_id else None
    base = target.contact() if target is not None else Contact()
    contact = Contact(email=letter.email or base.email, postal=letter.postal or base.postal,
                      form=letter.form or base.form)
    if not contact.any():
        return None
    if target is None:
        return Recipient(name="", role="", contact=contact)
    names = target.name if isinstance(target.name, dict) else {language: target.name}
    name = pick(names, language) or next(iter(names.values()), "")
    roles = target.role if isinstance(target.role, dict) else {language: target.role or ""}
    return Recipient(name=name, role=pick(roles, language) or next(iter(roles.values()), ""), contact=contact)


def render_letter(campaign: Campaign, targets: dict[str, Target], language: str,
                  on: date | datetime | None = None) -> LetterText:
    """The letter in ``language``; raises TemplateError like a message does."""
    letter = campaign.letter
    if letter is None:
        raise TemplateError("the campaign has no letter")
    subject, body = pick(letter.subject, language), pick(letter.text, language)
    if subject is None or body is None:
        raise TemplateError(f"the letter has no {'subject' if subject is None else 'text'} for {language!r}")
    ctx = context(campaign, targets, language, LETTER, on)
    return LetterText(subject=render_source(subject, ctx), body=render_source(body, ctx))


def letter_problems(campaign: Campaign, targets: dict[str, Target],
                    on: date | datetime) -> list[tuple[str, str, str]]:
    """(field, message, severity) for each thing that keeps the letter from being written in every language. A
    letter with nowhere to go is a warning (the kit offers none until the registry has an address; the
    campaign posts all the same); a text that does not render is an error, as a message's is."""
    if campaign.letter is None:
        return []
    problems = []
    if recipient(campaign, targets, campaign.languages[0]) is None:
        problems.append(("letter", "the letter has nowhere to go, so the share kit offers none: give its target "
                                   "an email, postal or form in targets.toml, or give them in [letter]", "warning"))
    for language in campaign.languages:
        try:
            text = render_letter(campaign, targets, language, on)
        except TemplateError as exc:
            problems.append(("letter", f"({language}) {exc}", "error"))
            continue
        if not text.subject or not text.body:
            problems.append(("letter", f"({language}) the letter's {'subject' if not text.subject else 'text'} "
                                       "renders to empty text", "error"))
    return problems
