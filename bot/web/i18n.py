"""The language a page speaks. Templates mark their strings ``{{ _("...") }}``; Python code that makes text a
person reads on a page (flash messages, refusals) passes it through :func:`gettext` with the request, so that
one catalogue per language translates both. Until catalogues are installed every string is English."""

from __future__ import annotations

from fastapi import Request


def gettext(request: Request | None, message: str, **params: object) -> str:
    """``message`` in the language of ``request``'s page, its ``{name}`` fields filled from ``params``."""
    return message.format(**params) if params else message


def N_(message: str) -> str:  # noqa: N802 - the conventional name extractors look for
    """Marks ``message`` for extraction where it is defined; it is translated where it is shown."""
    return message
