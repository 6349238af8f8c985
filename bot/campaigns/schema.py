"""The campaign file format (campaigns/*.toml) and the target registry (campaigns/targets.toml).

Each model forbids unknown keys, so a typo is an error with a did-you-mean rather than a silent default.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from bot.campaigns import characters
from bot.campaigns.cron import parse_cron
from bot.states import CampaignState, Outcome

NETWORKS = ("console", "mastodon", "x", "bluesky", "threads", "telegram", "facebook")
Network = Literal["console", "mastodon", "x", "bluesky", "threads", "telegram", "facebook"]
EMAIL_RE = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[A-Za-z]{2,}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

Localized = str | dict[str, str]


def _plain_text(value: object) -> None:
    if isinstance(value, str):
        problem = characters.problem(value)
        if problem:
            raise ValueError(problem)
    elif isinstance(value, dict):
        for item in value.values():
            _plain_text(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _plain_text(item)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    @field_validator("*")
    @classmethod
    def _no_control_characters_nor_blanks(cls, value: object) -> object:
        """Every text in a campaign file: no control or invisible character, and not only spaces
        (bot/campaigns/characters.py)."""
        _plain_text(value)
        return value


class Contact(Strict):
    """Where a supporter's letter goes: a public e-mail address, a postal address, a web form (any of them)."""

    email: str | None = None
    postal: str | None = None
    form: str | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not EMAIL_RE.match(v.strip()):
            raise ValueError("an e-mail address looks like minister@example.gob")
        return None if v is None else v.strip()

    @field_validator("form")
    @classmethod
    def _form(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://\S+$", v):
            raise ValueError("the web form must be an http(s) URL")
        return v

    def any(self) -> bool:
        return bool(self.email or self.postal or self.form)


class Target(Contact):
    name: Localized
    """A string, or a table per language (the name as each language writes it)."""
    role: Localized | None = None
    x: str | None = None
    mastodon: str | None = None
    bluesky: str | None = None
    threads: str | None = None
    telegram: str | None = None
    facebook: str | None = None

    @field_validator("name")
    @classmethod
    def _name_not_empty(cls, v: Localized) -> Localized:
        values = [v] if isinstance(v, str) else list(v.values())
        if not values or any(not s.strip() for s in values):
            raise ValueError("the name is empty: write the target's name (or a table of names per language)")
        return v

    @field_validator("x")
    @classmethod
    def _x_handle(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"@?[A-Za-z0-9_]{1,15}", v):
            raise ValueError("an X handle is 1-15 letters, digits or _, like @CancilleriaPeru")
        return None if v is None else "@" + v.lstrip("@")

    @field_validator("mastodon")
    @classmethod
    def _mastodon_handle(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"@?[A-Za-z0-9_]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", v):
            raise ValueError("a Mastodon handle looks like @user@instance.social")
        return None if v is None else "@" + v.lstrip("@")

    @field_validator("bluesky")
    @classmethod
    def _bluesky_handle(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"@?([A-Za-z0-9-]+\.)+[A-Za-z]{2,}", v):
            raise ValueError("a Bluesky handle is a domain name, like @amnesty.bsky.social")
        return None if v is None else "@" + v.lstrip("@")

    @field_validator("threads")
    @classmethod
    def _threads_handle(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"@?[A-Za-z0-9._]{1,30}", v):
            raise ValueError("a Threads handle is its Instagram username, 1-30 letters, digits, '.' or '_'")
        return None if v is None else "@" + v.lstrip("@")

    @field_validator("telegram")
    @classmethod
    def _telegram_handle(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"@?[A-Za-z][A-Za-z0-9_]{4,31}", v):
            raise ValueError("a Telegram username is 5-32 letters, digits or _, like @CancilleriaPeru")
        return None if v is None else "@" + v.lstrip("@")

    @field_validator("facebook")
    @classmethod
    def _facebook_handle(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"@?[A-Za-z0-9.]{5,50}", v):
            raise ValueError("a Facebook Page's username is 5-50 letters, digits or '.', like @CancilleriaPeru")
        return None if v is None else "@" + v.lstrip("@")

    def handle(self, network: str) -> str | None:
        if network == "console":
            return self.x or self.mastodon or self.bluesky or self.threads or self.telegram or self.facebook
        return getattr(self, network, None) if network in NETWORKS else None

    def contact(self) -> Contact:
        return Contact(email=self.email, postal=self.postal, form=self.form)


class Image(Strict):
    path: str = Field(min_length=1)
    alt: Localized

    @field_validator("alt")
    @classmethod
    def _alt_not_empty(cls, v: Localized) -> Localized:
        values = [v] if isinstance(v, str) else list(v.values())
        if not values or any(not s.strip() for s in values):
            raise ValueError("alt text is required: describe the image for people who cannot see it")
        return v


class Message(Strict):
    text: Localized
    networks: dict[Network, Localized] = Field(default_factory=dict)
    image: Image | None = None


class UpdateMessage(Message):
    id: str
    at: datetime | None = None


class ClosingMessages(Strict):
    success: Message
    no_further_action: Message


class Messages(Strict):
    call_to_action: list[Message] = Field(min_length=1)
    closing: ClosingMessages
    update: list[UpdateMessage] = Field(default_factory=list)


class Letter(Contact):
    """The letter a supporter writes to the target from the share kit: its subject and text (templates, like
    the messages), and where it goes (the target's contact in targets.toml, or the fields given here)."""

    to: str | None = None
    """A target id of the campaign (default: its first target)."""
    subject: Localized
    text: Localized


class QuietHours(Strict):
    start: time
    end: time

    @field_validator("start", "end", mode="before")
    @classmethod
    def _hh_mm(cls, v: object) -> object:
        if isinstance(v, int | float):  # pydantic would read 20 as 20 seconds past midnight
            raise ValueError(f"{v!r} is not a time of day: write HH:MM on a 24-hour clock, like \"20:00\"")
        return v


class Rule(Strict):
    id: str
    cron: str | None = None
    at: list[datetime] | None = None
    jitter_minutes: float = Field(default=0, ge=0, le=720)
    quiet_hours: QuietHours | None = None
    until_days_left: int | None = Field(default=None, ge=0)
    """Post only while more than this many days are left before ``act_by``."""
    from_days_left: int | None = Field(default=None, ge=0)
    """Post only once this many days or fewer are left before ``act_by``."""

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not ID_RE.match(v):
            raise ValueError("use letters, digits, '-', '_' or '.'")
        return v

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None:
            parse_cron(v)  # raises ValueError with a readable message
        return v

    @model_validator(mode="after")
    def _one_kind(self) -> Rule:
        if (self.cron is None) == (self.at is None):
            raise ValueError("a schedule rule needs exactly one of 'cron' or 'at'")
        if self.at is not None and not self.at:
            raise ValueError("'at' is empty")
        return self


class Campaign(Strict):
    title: Localized
    """A string, or a table per language (the kit shows the reader's; staff pages ``main_title``)."""
    reference: str = ""
    languages: list[str] = Field(min_length=1)
    timezone: str
    starts: datetime | None = None
    ends: datetime | None = None
    act_by: datetime | date | None = None
    """The action's deadline, in the campaign's zone: a date (acting that whole day counts) or a datetime."""
    status: CampaignState = CampaignState.ACTIVE
    outcome: Outcome | None = None
    grace_minutes: float = Field(default=60, ge=0)
    approval: Literal["none", "required"] | None = None
    """"required": a post an organiser queues in the web app waits for another staff member's approval."""
    close_approval: Literal["none", "required"] | None = None
    """"required": a close waits for a second staff member (default: the web app's setting)."""
    ask: Localized
    summary: Localized | None = None
    """The case in a few sentences, for the share kit (plain text: a string or a table per language)."""
    hashtags: list[str] | dict[str, list[str]] = Field(default_factory=list)
    link: str = ""
    targets: list[str] = Field(default_factory=list)
    accounts: list[str] = Field(min_length=1)
    quiet_hours: QuietHours | None = None
    schedule: list[Rule] = Field(min_length=1)
    messages: Messages
    letter: Letter | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r}: use an IANA name like 'America/Lima'") from None
        return v

    @field_validator("languages")
    @classmethod
    def _langs(cls, v: list[str]) -> list[str]:
        for lang in v:
            if not LANGUAGE_RE.match(lang):
                raise ValueError(f"{lang!r} is not a language code like 'es' or 'pt-BR'")
        if len(set(v)) != len(v):
            raise ValueError("a language is listed twice")
        return v

    @field_validator("title", "summary")
    @classmethod
    def _not_empty(cls, v: Localized | None, info: ValidationInfo) -> Localized | None:
        values = [] if v is None else [v] if isinstance(v, str) else list(v.values())
        if v is not None and (not values or any(not s.strip() for s in values)):
            raise ValueError(f"the {info.field_name} is empty: write it (a text, or a table per language)")
        return v

    @field_validator("act_by", mode="before")
    @classmethod
    def _act_by(cls, v: object) -> object:
        if isinstance(v, int | float):  # pydantic would read a number as a Unix timestamp
            raise ValueError(f"{v!r} is not a date: write 2026-12-05, or 2026-12-05T18:00:00 for a time too")
        return v

    @field_validator("hashtags")
    @classmethod
    def _tags(cls, v: list[str] | dict[str, list[str]]) -> list[str] | dict[str, list[str]]:
        for tags in [v] if isinstance(v, list) else list(v.values()):
            for tag in tags:
                if not tag.lstrip("#").strip():
                    raise ValueError("a hashtag is empty")
                if any(c.isspace() for c in tag.strip()):
                    fixed = "".join(tag.lstrip("#").split())
                    raise ValueError(f"hashtag {tag!r} contains a space, so it would end at the space: "
                                     f"write {fixed!r}")
        return v

    @field_validator("link")
    @classmethod
    def _link(cls, v: str) -> str:
        if v and not re.match(r"^https?://\S+$", v):
            raise ValueError("the link must be an http(s) URL")
        return v

    @model_validator(mode="after")
    def _cross(self) -> Campaign:
        if self.status == CampaignState.CLOSED and self.outcome is None:
            raise ValueError("a closed campaign needs an outcome: 'success' or 'no_further_action'")
        if self.starts and self.ends and _aware(self.ends, self.timezone) <= _aware(self.starts, self.timezone):
            raise ValueError("'ends' is not after 'starts'")
        if self.letter is not None and self.letter.to is not None and self.letter.to not in self.targets:
            raise ValueError(f"letter.to: {self.letter.to!r} is not one of the campaign's targets")
        return self

    @model_validator(mode="after")
    def _at_times_in_distinct_minutes(self) -> Campaign:
        # A rule posts once per local minute (its slots are keyed by it): two times in one minute would
        # silently become one post.
        for i, rule in enumerate(self.schedule):
            seen: dict[str, datetime] = {}
            for value in rule.at or ():
                local = value if value.tzinfo is None else value.astimezone(self.zone())  # as schedule keys it
                minute = local.replace(tzinfo=None).isoformat(timespec="minutes")
                if minute in seen:
                    raise ValueError(f"schedule[{i}].at: {seen[minute].isoformat()} and {value.isoformat()} are "
                                     f"the same minute ({minute.replace('T', ' ')} in {self.timezone}); a rule "
                                     "posts once a minute: remove one or move it to another minute")
                seen[minute] = value
        return self

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def main_title(self) -> str:
        """The title in the campaign's first language (the one staff pages and the feed show)."""
        return self.title_in(self.languages[0])

    def title_in(self, language: str) -> str:
        """The title in ``language``, else in the first of the campaign's languages that has one."""
        found = [self.title] if isinstance(self.title, str) else [
            self.title[lang] for lang in (language, *self.languages, *self.title) if lang in self.title]
        return found[0]

    def starts_utc(self) -> datetime | None:
        return None if self.starts is None else _aware(self.starts, self.timezone)

    def ends_utc(self) -> datetime | None:
        return None if self.ends is None else _aware(self.ends, self.timezone)

    def act_by_date(self) -> date | None:
        """The deadline's local date."""
        if self.act_by is None:
            return None
        return self.act_by.date() if isinstance(self.act_by, datetime) else self.act_by

    def act_by_utc(self) -> datetime | None:
        """The instant calls to action stop: the datetime, or the end of the local day for a date."""
        if self.act_by is None:
            return None
        if isinstance(self.act_by, datetime):
            return _aware(self.act_by, self.timezone)
        next_day = datetime.combine(self.act_by + timedelta(days=1), time(0))
        return next_day.replace(tzinfo=ZoneInfo(self.timezone))


def _aware(value: datetime, tz: str) -> datetime:
    """TOML local datetimes (no offset) are read in the campaign's zone."""
    if value.tzinfo is None:
        return value.replace(tzinfo=ZoneInfo(tz))
    return value


def aware_in(value: datetime, tz: str) -> datetime:
    return _aware(value, tz)


def known_field_names() -> set[str]:
    names: set[str] = set()
    for model in (Target, Image, Message, UpdateMessage, ClosingMessages, Messages, QuietHours, Rule, Campaign,
                  Letter):
        names.update(model.model_fields)
    return names
