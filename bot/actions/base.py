"""What every action shares: who acts (Actor), what it needs (Context), what it answers (Result), the
registry of actions and the campaign lookup.

An action is a function ``(ctx, actor, ...) -> Result`` decorated with ``@action``: it checks the actor's role,
runs in one transaction, writes one audit record and raises ActionError (bot/actions/errors.py) when it refuses.
The CLI, the web pages and the JSON API change state only through these functions."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ParamSpec, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.accounts.directory import AccountLookup
from bot.actions.errors import ActionError, Forbidden, NotFound
from bot.actions.messages import render
from bot.campaigns import characters
from bot.campaigns.loader import did_you_mean
from bot.clock import Clock
from bot.states import Role
from bot.store.models import CampaignRow

P = ParamSpec("P")
T = TypeVar("T")


class Via(StrEnum):
    """Where an action came from (for logs and errors; the audit record is the same whatever the surface)."""

    CLI = "cli"
    WEB = "web"
    API = "api"
    FILE = "file"
    SUPPORTER = "supporter"
    WORKER = "worker"


@dataclass(frozen=True)
class Actor:
    """Who acts. ``role`` None: someone with no staff role (a supporter on their own account, the worker).
    Four eyes compares ``name``: an API token acts as the person who created it."""

    name: str
    role: Role | None
    via: Via

    def can(self, needed: Role) -> bool:
        return self.role is not None and self.role.covers(needed)

    def require(self, needed: Role) -> None:
        if not self.can(needed):
            raise Forbidden("needs_role", role=str(needed))


FILE_ACTOR = Actor("campaign file", Role.ADMIN, Via.FILE)
"""A campaign file's own `status` (closed, paused, active) acts as the matching command."""
WORKER_ACTOR = Actor("campaign-bot", Role.ADMIN, Via.WORKER)


class Context(Protocol):
    """What actions need of the application: the database, the clock, and which accounts exist (to render a
    post per account). bootstrap's App has them; tests may pass anything that does."""

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def accounts(self) -> AccountLookup: ...


@dataclass(frozen=True)
class Approvals:
    """Whether posts an organiser queues, and closes, wait for a second staff member when the campaign's file
    does not say (`approval`, `close_approval`): the web app's --approval and --close-approval."""

    posts: bool = False
    closes: bool = False


NO_APPROVALS = Approvals()


@dataclass(frozen=True)
class Result:
    changed: bool
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return render(self.code, self.params)


# -- the registry, and a recorder for the test that every state-changing route and command calls an action ------

ACTIONS: dict[str, Callable[..., Any]] = {}
_recording: list[str] | None = None
_recording_lock = threading.Lock()


UNCHECKED = frozenset({"current"})
"""Arguments taken as they are: the password someone already has (set before characters were checked)."""


def _check_text(signature: inspect.Signature, args: Any, kwargs: Any) -> None:
    """Every text an action takes, whatever the surface: no control or invisible character, not only blanks.
    The refusal names the argument, which each surface shows as its own field."""
    for name, value in signature.bind_partial(*args, **kwargs).arguments.items():
        if isinstance(value, str) and name not in UNCHECKED:
            problem = characters.problem(value)
            if problem:
                raise ActionError("bad_text", name, problem=problem)


def action(func: Callable[P, T]) -> Callable[P, T]:
    name = f"{func.__module__.rsplit('.', 1)[-1]}.{func.__name__}"
    signature = inspect.signature(func)

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        _check_text(signature, args, kwargs)
        if _recording is not None:
            with _recording_lock:
                if _recording is not None:
                    _recording.append(name)
        return func(*args, **kwargs)

    ACTIONS[name] = run
    return run


@contextmanager
def recording() -> Iterator[list[str]]:
    """The actions called (by any thread) while the block runs: tests/test_actions_layer.py."""
    global _recording
    seen: list[str] = []
    with _recording_lock:
        _recording = seen
    try:
        yield seen
    finally:
        with _recording_lock:
            _recording = None


def campaign_row(session: Session, campaign_id: str, *, lock: bool = False) -> CampaignRow:
    stmt = select(CampaignRow).where(CampaignRow.id == campaign_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).first()
    if row is None:
        known = session.scalars(select(CampaignRow.id)).all()
        raise NotFound("no_campaign", "campaign", campaign=campaign_id,
                       suggestion=did_you_mean(campaign_id, known))
    return row
