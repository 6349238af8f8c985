"""What an action says when it refuses: a code, the field it is about and its parameters, never a finished
sentence aimed at one surface. Each surface names the field its own way (the CLI a flag, the web the form field,
the API a JSON pointer) and renders the code through the catalogue (bot/actions/messages.py).

Every ActionError is a UserError, so a surface that does not know a code still shows one clear line."""

from __future__ import annotations

from typing import Any, ClassVar

from bot.actions.messages import render
from bot.errors import NotFound as _NotFound
from bot.errors import UserError


class ActionError(UserError):
    """Refused: bad input, or a state that does not allow it. HTTP 400."""

    status: ClassVar[int] = 400

    def __init__(self, code: str, field: str | None = None, **params: Any) -> None:
        self.code = code
        self.field = field
        self.params = params
        super().__init__(render(code, params))

    @property
    def message(self) -> str:
        """The sentence, naming no field (the surface names it)."""
        return str(self)


class NotFound(ActionError, _NotFound):
    """No such campaign, delivery, approval, account or person. HTTP 404."""

    status: ClassVar[int] = 404


class Forbidden(ActionError):
    """The person's role does not allow it. HTTP 403."""

    status: ClassVar[int] = 403


class Conflict(ActionError):
    """Something changed meanwhile (sent, cancelled, decided by someone else): look again. HTTP 409."""

    status: ClassVar[int] = 409
