"""What people do, for tests: each helper calls the action (bot/actions/) as the person named ``by`` with the
admin role (as the CLI does for a name that is not a web user), in the shape the tests read best."""

from __future__ import annotations

from datetime import datetime

from bot.actions import campaigns, emergency, posts
from bot.actions.base import Actor, Context, Result, Via
from bot.actions.times import human_duration, parse_time
from bot.states import Role

__all__ = ["cancel_delivery", "close", "edit_delivery", "human_duration", "parse_when", "pause_all", "person",
           "queue", "set_state"]


def person(name: str = "tester", role: Role = Role.ADMIN, via: Via = Via.CLI) -> Actor:
    return Actor(name, role, via)


def parse_when(value: str, now: datetime) -> datetime:
    return parse_time(value, now)


def queue(app: Context, campaign_id: str, when: datetime, text: str, by: str = "tester",
          account: str | None = None, language: str | None = None) -> Result:
    return posts.queue(app, person(by), campaign_id, at=when, text=text, account=account, language=language)


def close(app: Context, campaign_id: str, outcome: str, by: str = "tester",
          note: str | None = None) -> Result:
    return campaigns.close(app, person(by), campaign_id, outcome, note)


def set_state(app: Context, campaign_id: str, action: str, by: str = "tester",
              note: str | None = None) -> Result:
    change = {"pause": campaigns.pause, "resume": campaigns.resume, "reopen": campaigns.reopen}[action]
    return change(app, person(by), campaign_id, note)


def pause_all(app: Context, by: str, reason: str | None, paused: bool) -> Result:
    if paused:
        return emergency.stop_everything(app, person(by), reason or "")
    return emergency.lift_stop(app, person(by))


def edit_delivery(app: Context, delivery_id: int, by: str = "tester", text: str | None = None,
                  at: datetime | None = None) -> Result:
    return posts.edit(app, person(by), delivery_id, text=text, at=at)


def cancel_delivery(app: Context, delivery_id: int, by: str = "tester", note: str | None = None) -> Result:
    return posts.cancel(app, person(by), delivery_id, note)
