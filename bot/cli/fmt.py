"""Text output that reads in 80 columns and when piped: times in the campaign's zone, nothing truncated."""

from __future__ import annotations

import contextlib
import textwrap
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

WIDTH = 80
KIND_LABELS = {"call_to_action": "call to action", "update": "UPDATE", "closing": "CLOSING MESSAGE",
               "queued": "QUEUED"}


def local(value: str | None, zone: str | None) -> str:
    """An ISO time from the data as `2026-12-01 09:00 -05` in the campaign's zone ("-" for none)."""
    if not value:
        return "-"
    when = datetime.fromisoformat(value)
    with contextlib.suppress(ZoneInfoNotFoundError, ValueError):  # an odd zone: show UTC rather than fail
        when = when.astimezone(ZoneInfo(zone or "UTC"))
    return when.strftime("%Y-%m-%d %H:%M ") + (when.tzname() or "")


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def wrapped(text: str, indent: int) -> str:
    """A post's text, wrapped at 80 columns under its row (long words such as URLs are never broken)."""
    pad = " " * indent
    lines = []
    for paragraph in text.splitlines() or [""]:
        lines.append(textwrap.fill(paragraph, WIDTH, initial_indent=pad, subsequent_indent=pad,
                                   break_long_words=False, break_on_hyphens=False) or pad)
    return "\n".join(lines)


def heading(text: str) -> None:
    click.echo(click.style(textwrap.fill(text, WIDTH, subsequent_indent="  ", break_long_words=False,
                                         break_on_hyphens=False), bold=True))


def echo(text: str = "", **style: object) -> None:
    click.echo(click.style(text, **style) if style and text else text)  # type: ignore[arg-type]
