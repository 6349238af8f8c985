"""The language a page speaks. Templates mark their strings ``{{ _("...") }}``; Python code that makes text a
person reads on a page (flash messages, refusals) passes it through :func:`gettext` with the request, so that
one catalogue per language translates both.

The catalogues are the .po files in bot/locale/<language>/LC_MESSAGES/messages.po, compiled in memory the first
time a language is asked for (no binary is committed; bot/web/catalogues.py extracts and updates them). English
is the source language: it has no catalogue.

Which language: a public page (the share kit, connect, manage, the letter) speaks one of its campaign's languages
(:func:`use_campaign_language`): the one the supporter picked (``?lang=xx``, then remembered in the ``lang``
cookie), else the best match for ``Accept-Language``, else the campaign's first language; where that language
has no catalogue, the page's own words stay English around the campaign's text. A staff page follows the
person's own setting (`users language`, the Your settings page), else ``Accept-Language``.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterable, Mapping
from gettext import NullTranslations
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from bot.actions.messages import MESSAGES
from bot.web.languages import LOCALES, SOURCE, catalogued

__all__ = ["LOCALES", "SOURCE", "catalogued"]
COOKIE = "lang"
COOKIE_SECONDS = 365 * 24 * 3600
_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def N_(message: str) -> str:  # noqa: N802 - the conventional name extractors look for
    """Marks ``message`` for extraction where it is defined; it is translated where it is shown."""
    return message


@functools.cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of ``language`` (its base language's when it has none of its own: es-PE reads
    es), or the null translations (English). Fuzzy entries are left out. Compiled once per process."""
    for code in (language, language.split("-")[0]):
        path = LOCALES / code.replace("-", "_") / "LC_MESSAGES" / "messages.po"
        if code != SOURCE and path.is_file():
            with path.open("rb") as f:
                catalog = read_po(f, locale=code.replace("-", "_"))
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            return Translations(buffer)
    return NullTranslations()


def has_catalogue(language: str) -> bool:
    """English, or a language with a catalogue (its own or its base language's)."""
    return language.split("-")[0] == SOURCE or type(translations(language)) is not NullTranslations


def direction(language: str) -> str:
    """ltr or rtl, from Babel's locale data (never a list of our own)."""
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return "ltr"
    return "rtl" if locale.character_order == "right-to-left" else "ltr"


def accepted(request: Request) -> list[str]:
    """The Accept-Language header's languages, most wanted first (q=0 left out)."""
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate(request.headers.get("accept-language", "").split(",")):
        code, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if code and code != "*" and q > 0:
            weighted.append((-q, i, code))
    return [code for _, _, code in sorted(weighted)]


def negotiate(wanted: Iterable[str], offered: Iterable[str]) -> str | None:
    """The first of ``wanted`` that ``offered`` has (es-PE matches es), with Babel's negotiation."""
    offered = list(offered)
    found = negotiate_locale([w.replace("-", "_") for w in wanted], [o.replace("-", "_") for o in offered])
    if found is None:
        return None
    return next((o for o in offered if o.replace("-", "_").lower() == found.lower()), None)


def picked(request: Request) -> str | None:
    """The language the visitor chose: ``?lang=`` on this request, else the ``lang`` cookie."""
    for value in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if value and _CODE.match(value):
            return value
    return None


def use_campaign_language(request: Request, languages: list[str]) -> str:
    """Choose the language of a public page about a campaign posting in ``languages`` (see the module's
    docstring), and make this request's page speak it. Returns the campaign's language chosen."""
    choice = picked(request)
    language = (choice if choice in languages else None) or negotiate(accepted(request), languages) or languages[0]
    request.state.campaign_language = language
    request.state.language = language if has_catalogue(language) else SOURCE
    return language


def use_site_language(request: Request) -> str:
    """A public page about no one campaign (a supporter's manage link): the visitor's pick or Accept-Language,
    among the languages with a catalogue."""
    offered = catalogued()
    choice = picked(request)
    chosen = (choice if choice in offered else None) or negotiate(accepted(request), offered) or SOURCE
    request.state.language = chosen
    return chosen


def remember_choice(request: Request, headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """The Set-Cookie header that remembers a language picked with ``?lang=`` (nothing otherwise: a page seen
    without choosing sets no cookie)."""
    chosen = request.query_params.get("lang")
    out = dict(headers or {})
    if chosen and _CODE.match(chosen) and chosen == getattr(request.state, "campaign_language", None):
        out["set-cookie"] = f"{COOKIE}={chosen}; Path=/; Max-Age={COOKIE_SECONDS}; SameSite=Lax"
    return out


def staff_language(request: Request) -> str:
    """A signed-in person's language: their own setting, else Accept-Language among the catalogues."""
    from bot.queries.people import language_of

    person = getattr(request.state, "person", None)
    if person is not None:
        own = language_of(request.app.state.core, person.name)
        if own and own in catalogued():
            return own
    return negotiate(accepted(request), catalogued()) or SOURCE


def language(request: Request | None) -> str:
    """The language ``request``'s page speaks (English without a request)."""
    if request is None:
        return SOURCE
    chosen = getattr(request.state, "language", None)
    if not isinstance(chosen, str):
        chosen = staff_language(request)
        request.state.language = chosen
    return chosen


def gettext(request: Request | None, message: str, **params: object) -> str:
    """``message`` in the language of ``request``'s page, its ``{name}`` fields filled from ``params``."""
    text = translations(language(request)).gettext(message)
    return text.format(**params) if params else text


def ngettext(request: Request | None, singular: str, plural: str, n: int, **params: object) -> str:
    text = translations(language(request)).ngettext(singular, plural, n)
    return text.format(n=n, **params)


def action_message(request: Request | None, code: str, params: Mapping[str, Any]) -> str:
    """An action's sentence (bot/actions/messages.py) in the page's language; the code and its parameters are
    what travel, the sentence is made here."""
    template = MESSAGES.get(code)
    if template is None:
        from bot.actions.messages import render

        return render(code, params)
    try:
        return translations(language(request)).gettext(template).format(**params)
    except (KeyError, IndexError, ValueError):
        from bot.actions.messages import render

        return render(code, params)


def template_context(request: Request) -> dict[str, Any]:
    """What every template gets: ``lang``, ``dir`` and this request's ``gettext``/``ngettext`` (the ``_`` of
    the Jinja i18n extension resolves ``gettext`` from the context, so each request has its own, and the shared
    environment is never changed)."""
    lang = language(request)
    found = translations(lang)

    @pass_context
    def _gettext(context: Context, string: str, **variables: Any) -> str:
        text = found.gettext(string)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # nosec B704 - our own catalogue (reviewed like code); Markup % escapes the values
        return text % variables  # newstyle gettext: always a format string (a literal % is written %%)

    @pass_context
    def _ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        text = found.ngettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # nosec B704 - our own catalogue (reviewed like code); Markup % escapes the values
        return text % variables

    def say(said: tuple[str, Mapping[str, Any]] | None) -> str:
        """A sentence Python code made and marked (``N_("... {field} ...")``, values): translated, filled in."""
        if not said:
            return ""
        message, params = said
        return found.gettext(message).format(**params)

    return {"lang": lang, "locale": lang, "dir": direction(lang), "gettext": _gettext, "ngettext": _ngettext,
            "say": say, "language_name": language_name}


def language_name(code: str) -> str:
    """The language's own name for itself, capitalised ("Español", "العربية")."""
    try:
        locale = Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return code
    name = locale.get_display_name(locale) or code
    return name[:1].upper() + name[1:]
