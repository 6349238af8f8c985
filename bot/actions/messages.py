"""The sentences actions answer with, by code: results and refusals alike. The one place their words live, so a
surface can translate them (a code and its parameters travel; the sentence is made at the last moment).

Parameters are filled in with str.format; none of these sentences names a command-line flag or a form field:
the surface that shows one says which of its fields it is about."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def N_(message: str) -> str:  # noqa: N802 - the name the extractor looks for (bot/web/catalogues.py)
    """Marks a sentence for the catalogues; the surface that shows it translates it (bot/web/i18n.py)."""
    return message


MESSAGES: dict[str, str] = {
    # refusals: people and roles
    "needs_role": N_("this needs the {role} role"),
    "not_your_post": N_("only staff change a post someone else queued"),
    "four_eyes": N_("someone else with the staff role decides this: {requester} asked for it"),
    "own_role": N_("you cannot change your own role: ask another admin"),
    "remove_self": N_("you cannot remove yourself: ask another admin"),
    "no_user": N_("no user {name!r}"),
    "user_exists": N_("user {name!r} already exists"),
    "user_name": N_("give a user name of 1 to 200 characters"),
    "bad_role": N_("role {role!r}: use one of {roles}"),
    "short_password": N_("at least {minimum} characters, please"),
    "passwords_differ": N_("the two passwords differ"),
    "wrong_password": N_("that is not your current password"),
    "link_spent": N_("this link does not work any more (it works once, for a day): ask an admin for a new one"),
    "token_exists": N_("a token named {name!r} exists already: choose another name"),
    # refusals: what is asked about
    "no_campaign": N_("no campaign {campaign!r}{suggestion}"),
    "campaign_not_loaded": N_("campaign {campaign!r} does not load: its file has errors"),
    "no_delivery": N_("no delivery {delivery}"),
    "no_approval": N_("no approval request {approval}"),
    "no_account": N_("no account {account!r}"),
    "no_supporter": N_("no supporter {name!r}"),
    "supporter_disconnected": N_("supporter {name!r} is disconnected"),
    "bad_handle": N_("the {network} server answered with something that is not a handle; nothing was stored"),
    # refusals: the input
    "empty": N_("write something"),
    "bad_text": N_("{problem}"),
    "bad_time": N_("{value!r} is not a time: use a date and time like {example}, or now"),
    "needs_offset": N_("{value!r} needs a UTC offset, like {example} (or Z)"),
    "past_time": N_("{value} was {ago} ago; give a time to come, or now"),
    "unknown_outcome": N_("unknown outcome {value!r}: use success or no-further-action"),
    "unknown_language": N_("the campaign posts in {languages}, not {language!r}"),
    "unknown_account": N_("{account!r} is not one of the campaign's accounts ({accounts})"),
    "no_account_posts_in": N_("none of the accounts {accounts} posts in {language!r}"),
    "account_dropped_language": N_("account {account} no longer posts in {language}"),
    "template": N_("{problem}"),
    "text_rejected": N_("{problem}"),
    "needs_reason": N_("say why (the reason is shown to everyone)"),
    "nothing_to_change": N_("give a new text, a new time or both"),
    "choose_one": N_("choose exactly one: {choices}"),
    "needs_url": N_("give the post's address (https://...)"),
    "unknown_ui_language": N_("the web app does not speak {language!r}: choose one of {languages}"),
    # refusals: the state
    "only_queued_edited": N_("delivery {delivery} is a {kind}; only queued posts are edited (change the campaign "
                          "file, or cancel it)"),
    "boost_not_edited": N_("delivery {delivery} is a supporter's boost: it repeats the organisation's post and has "
                           "no text of its own to edit (cancel it, or edit the post it repeats)"),
    "closing_not_current": N_("delivery {delivery} is a closing message of an earlier close of {campaign} (it was "
                              "reopened since): only the last close's thanks go out; cancel it instead"),
    "not_unsent": N_("delivery {delivery} is {status}; only a post not sent yet is {change}"),
    "being_sent": N_("delivery {delivery} is being sent right now; look again in a minute"),
    "in_doubt": N_("delivery {delivery} may already have gone out (the answer to an earlier attempt was lost), so "
                "it cannot be edited: its next attempt settles it (it is sent again safely, or the account is read "
                "first); look again after that, or cancel it (its account is read back first)"),
    "changed_meanwhile": N_("delivery {delivery} changed meanwhile (sent or cancelled); look again"),
    "not_settleable": N_("delivery {delivery} is {status}; only unknown or failed deliveries are settled"),
    "closed_no_queue": N_("{campaign} is closed ({outcome}): no more posts are queued; reopen it first if the case "
                       "is open again"),
    "closed_no_resend": N_("{campaign} is closed: a call to action is not sent again"),
    "closed_no_approve": N_("{campaign} is closed: this post is not sent; reject it, or reopen the campaign first"),
    "approval_empty": N_("approval request {approval} has nothing left to decide"),
    # results
    "queued": N_("queued {count} post(s) for {campaign} at {at}"),
    "queued_for_approval": N_("queued {count} post(s) for {campaign}: they wait for approval by another staff member"),
    "edited": N_("delivery {delivery} edited: {changes}"),
    "edited_for_approval": N_("delivery {delivery} edited: {changes}; it waits for approval by another staff member"),
    "cancelled": N_("delivery {delivery} cancelled ({kind}, {campaign}, {account})"),
    "cancel_read_back": N_("delivery {delivery} may already have gone out (the answer to an earlier attempt was "
                           "lost): it will not be sent again; its account is being read, and it is cancelled if the "
                           "post is not there, or shown as sent if it is ({kind}, {campaign}, {account})"),
    "resolved": N_("delivery {delivery} {done}"),
    "closed": N_("closed {campaign} ({outcome}): cancelled {cancelled} pending post(s), queued {messages} closing "
              "message(s)"),
    "already_closed": N_("{campaign} is already closed ({outcome}) since {since} by {by}; nothing changed"),
    "close_requested": N_("the close of {campaign} ({outcome}) waits for a second staff member's approval"),
    "close_waiting": N_("a close of {campaign} requested by {requester} already waits for approval; nothing changed"),
    "state_changed": N_("{action}: {campaign} is now {state}"),
    "state_unchanged": N_("{campaign} is {state}; {action} changes nothing"),
    "stopped": N_("EMERGENCY STOP: every dispatch is held"),
    "stop_lifted": N_("resumed: dispatch runs again"),
    "already_stopped": N_("everything is already paused; nothing changed"),
    "not_stopped": N_("everything is already running; nothing changed"),
    "approved_posts": N_("approved the post queued by {requester}"),
    "rejected_posts": N_("rejected the post queued by {requester}"),
    "approved_close": N_("approved the close requested by {requester}: {closed}"),
    "rejected_close": N_("rejected the close requested by {requester}"),
    "already_decided": N_("already {decision} by {by}; nothing changed"),
    "account_enabled": N_("{account} enabled"),
    "account_not_disabled": N_("{account} was not disabled; nothing changed"),
    "user_added": N_("added {name} ({role})"),
    "user_removed": N_("removed {name}"),
    "role_set": N_("{name} is now {role}"),
    "password_set": N_("password changed"),
    "language_set": N_("{name} now reads the web app in {language}"),
    "language_cleared": N_("{name} now reads the web app in their browser's language"),
    "password_link": N_("a link for {name} to choose a new password: it works once, for {hours} hours"),
    "signed_out": N_("signed out"),
    "token_created": N_("token {name!r} ({role}) created, acting as {owner}; this is the only time it is shown"),
    "supporter_connected": N_("supporter {name} ({network}, {handle}) connected: boosts {campaigns}{replaces}"),
    "supporter_removed": N_("supporter {name} disconnected; their token is deleted"),
    "supporter_already_gone": N_("supporter {name} was already disconnected ({reason}); nothing changed"),
    "supporter_campaigns": N_("saved: your choice applies to the next posts"),
    "unboosts_planned": N_("{count} unboost(s) planned for {name}"),
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
