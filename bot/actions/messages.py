"""The sentences actions answer with, by code: results and refusals alike. The one place their words live, so a
surface can translate them (a code and its parameters travel; the sentence is made at the last moment).

Parameters are filled in with str.format; none of these sentences names a command-line flag or a form field:
the surface that shows one says which of its fields it is about."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MESSAGES: dict[str, str] = {
    # refusals: people and roles
    "needs_role": "this needs the {role} role",
    "not_your_post": "only staff change a post someone else queued",
    "four_eyes": "someone else with the staff role decides this: {requester} asked for it",
    "own_role": "you cannot change your own role: ask another admin",
    "remove_self": "you cannot remove yourself: ask another admin",
    "no_user": "no user {name!r}",
    "user_exists": "user {name!r} already exists",
    "user_name": "give a user name of 1 to 200 characters",
    "bad_role": "role {role!r}: use one of {roles}",
    "short_password": "at least {minimum} characters, please",
    "passwords_differ": "the two passwords differ",
    "wrong_password": "that is not your current password",
    "link_spent": "this link does not work any more (it works once, for a day): ask an admin for a new one",
    "token_exists": "a token named {name!r} exists already: choose another name",
    # refusals: what is asked about
    "no_campaign": "no campaign {campaign!r}{suggestion}",
    "campaign_not_loaded": "campaign {campaign!r} does not load: its file has errors",
    "no_delivery": "no delivery {delivery}",
    "no_approval": "no approval request {approval}",
    "no_account": "no account {account!r}",
    "no_supporter": "no supporter {name!r}",
    "supporter_disconnected": "supporter {name!r} is disconnected",
    "bad_handle": "the {network} server answered with something that is not a handle; nothing was stored",
    # refusals: the input
    "empty": "write something",
    "bad_text": "{problem}",
    "bad_time": "{value!r} is not a time: use a date and time like {example}, or now",
    "needs_offset": "{value!r} needs a UTC offset, like {example} (or Z)",
    "past_time": "{value} was {ago} ago; give a time to come, or now",
    "unknown_outcome": "unknown outcome {value!r}: use success or no-further-action",
    "unknown_language": "the campaign posts in {languages}, not {language!r}",
    "unknown_account": "{account!r} is not one of the campaign's accounts ({accounts})",
    "no_account_posts_in": "none of the accounts {accounts} posts in {language!r}",
    "account_dropped_language": "account {account} no longer posts in {language}",
    "template": "{problem}",
    "text_rejected": "{problem}",
    "needs_reason": "say why (the reason is shown to everyone)",
    "nothing_to_change": "give a new text, a new time or both",
    "choose_one": "choose exactly one: {choices}",
    "needs_url": "give the post's address (https://...)",
    # refusals: the state
    "only_queued_edited": "delivery {delivery} is a {kind}; only queued posts are edited (change the campaign "
                          "file, or cancel it)",
    "not_unsent": "delivery {delivery} is {status}; only a post not sent yet is {change}",
    "being_sent": "delivery {delivery} is being sent right now; look again in a minute",
    "in_doubt": "delivery {delivery} may already have gone out (the answer to an earlier attempt was lost); it is "
                "being sent again safely, so it cannot be changed now: look again in a few minutes",
    "changed_meanwhile": "delivery {delivery} changed meanwhile (sent or cancelled); look again",
    "not_settleable": "delivery {delivery} is {status}; only unknown or failed deliveries are settled",
    "closed_no_queue": "{campaign} is closed ({outcome}): no more posts are queued; reopen it first if the case "
                       "is open again",
    "closed_no_resend": "{campaign} is closed: a call to action is not sent again",
    "closed_no_approve": "{campaign} is closed: this post is not sent; reject it, or reopen the campaign first",
    "approval_empty": "approval request {approval} has nothing left to decide",
    # results
    "queued": "queued {count} post(s) for {campaign} at {at}",
    "queued_for_approval": "queued {count} post(s) for {campaign}: they wait for approval by another staff member",
    "edited": "delivery {delivery} edited: {changes}",
    "edited_for_approval": "delivery {delivery} edited: {changes}; it waits for approval by another staff member",
    "cancelled": "delivery {delivery} cancelled ({kind}, {campaign}, {account})",
    "resolved": "delivery {delivery} {done}",
    "closed": "closed {campaign} ({outcome}): cancelled {cancelled} pending post(s), queued {messages} closing "
              "message(s)",
    "already_closed": "{campaign} is already closed ({outcome}) since {since} by {by}; nothing changed",
    "close_requested": "the close of {campaign} ({outcome}) waits for a second staff member's approval",
    "close_waiting": "a close of {campaign} requested by {requester} already waits for approval; nothing changed",
    "state_changed": "{action}: {campaign} is now {state}",
    "state_unchanged": "{campaign} is {state}; {action} changes nothing",
    "stopped": "EMERGENCY STOP: every dispatch is held",
    "stop_lifted": "resumed: dispatch runs again",
    "already_stopped": "everything is already paused; nothing changed",
    "not_stopped": "everything is already running; nothing changed",
    "approved_posts": "approved the post queued by {requester}",
    "rejected_posts": "rejected the post queued by {requester}",
    "approved_close": "approved the close requested by {requester}: {closed}",
    "rejected_close": "rejected the close requested by {requester}",
    "already_decided": "already {decision} by {by}; nothing changed",
    "account_enabled": "{account} enabled",
    "account_not_disabled": "{account} was not disabled; nothing changed",
    "user_added": "added {name} ({role})",
    "user_removed": "removed {name}",
    "role_set": "{name} is now {role}",
    "password_set": "password changed",
    "password_link": "a link for {name} to choose a new password: it works once, for {hours} hours",
    "signed_out": "signed out",
    "token_created": "token {name!r} ({role}) created, acting as {owner}; this is the only time it is shown",
    "supporter_connected": "supporter {name} ({network}, {handle}) connected: boosts {campaigns}{replaces}",
    "supporter_removed": "supporter {name} disconnected; their token is deleted",
    "supporter_already_gone": "supporter {name} was already disconnected ({reason}); nothing changed",
    "supporter_campaigns": "saved: your choice applies to the next posts",
    "unboosts_planned": "{count} unboost(s) planned for {name}",
}


def render(code: str, params: Mapping[str, Any]) -> str:
    """The English sentence for ``code``; an unknown code or a missing parameter still gives a readable line."""
    template = MESSAGES.get(code)
    if template is None:
        return code.replace("_", " ") + (f" ({', '.join(f'{k}={v}' for k, v in params.items())})" if params else "")
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
