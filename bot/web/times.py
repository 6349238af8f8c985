"""The one way a page shows a time: in the campaign's zone with the zone's abbreviation ("Mon 7 Dec, 10:07
CET"), relative where it helps ("in 3 hours", "2 days ago"), inside a <time datetime=...> element whose title
app.js fills with the viewer's own local time. Never raw ISO, never microseconds.

Templates use the ``when`` filter: ``{{ d.due_at|when(zone) }}``, ``{{ d.due_at|when(zone, relative=True) }}``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime, format_timedelta
from jinja2 import pass_context
from markupsafe import Markup, escape
from starlette.requests import Request

from bot.web.i18n import gettext

PATTERN = "EEE d MMM, HH:mm"
PATTERN_YEAR = "EEE d MMM y, HH:mm"
FORM_FORMAT = "%Y-%m-%d %H:%M"
"""How a form shows (and takes) a time: in the campaign's zone, which the form names."""


def as_datetime(value: object) -> datetime | None:
    """A datetime, or an ISO 8601 string as the read models give it; naive means UTC."""
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str) and value:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def abbreviation(local: datetime) -> str:
    """The zone's own short name (CET, GMT, EST); "UTC-05" where the tz database has only an offset."""
    name = local.tzname() or "UTC"
    return f"UTC{name}" if name[:1] in "+-" else name


def local_text(when: datetime, zone: str | None, locale: str = "en", now: datetime | None = None) -> str:
    """``when`` in ``zone``, with the zone's abbreviation (the year only when it is not this year's)."""
    local = when.astimezone(zone_of(zone))
    same_year = now is None or now.astimezone(local.tzinfo).year == local.year
    return f"{format_datetime(local, PATTERN if same_year else PATTERN_YEAR, locale=locale)} {abbreviation(local)}"


def relative_text(when: datetime, now: datetime, locale: str = "en", request: Request | None = None) -> str:
    """"in 3 hours", "2 days ago" ("now" within a minute)."""
    delta = when - now
    if abs(delta) < timedelta(minutes=1):
        return gettext(request, "now")
    return format_timedelta(delta, add_direction=True, threshold=1.5, locale=locale)


@pass_context
def day_filter(ctx: Any, value: str | None) -> str:
    """A day as pages write it ("Wed 2 Dec")."""
    if not value:
        return ""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return ""
    return format_date(day, "EEE d MMM", locale=str(ctx.get("locale") or "en"))


def form_value(value: object, zone: str | None) -> str:
    """A time as a form field shows it (the form says which zone and format)."""
    when = as_datetime(value)
    return when.astimezone(zone_of(zone)).strftime(FORM_FORMAT) if when else ""


def _context_now(ctx: Any) -> datetime:
    request = ctx.get("request")
    core = getattr(getattr(getattr(request, "app", None), "state", None), "core", None)
    now = core.clock.now() if core is not None else None
    return now if isinstance(now, datetime) else datetime.now(UTC)


@pass_context
def when_filter(ctx: Any, value: object, zone: str | None = None, relative: bool = False) -> Markup:
    when = as_datetime(value)
    if when is None:
        return Markup("")
    now = _context_now(ctx)
    locale = str(ctx.get("locale") or "en")
    text = local_text(when, zone, locale, now)
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = Markup('<time datetime="{}" title="{}">{}</time>').format(stamp, f"{when.astimezone(UTC):%H:%M} UTC", text)
    if relative:
        words = relative_text(when, now, locale, ctx.get("request"))
        out += Markup(' <small class="relative">({})</small>').format(escape(words))
    return out
