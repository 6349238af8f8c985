"""The commands that change state: queue, cancel, edit, close, pause, resume, reopen, resolve, approvals. Each
calls one action (bot/actions/) as the person named by --as."""

from __future__ import annotations

from typing import Any

import click

from bot.actions import approvals, campaigns, emergency, posts
from bot.actions.base import Result
from bot.actions.campaigns import parse_outcome
from bot.actions.times import check_future, parse_time
from bot.cli.base import actor, by_option, cli, config_option, friendly, json_option, make_app, print_json, sync
from bot.cli.fmt import echo, heading, local, wrapped
from bot.errors import UserError
from bot.queries import reports
from bot.states import Outcome

OUTCOME_HELP = "success, or no-further-action (no_further_action is the same)."


def _outcome(_ctx: click.Context, _param: click.Parameter, value: str) -> Outcome:
    try:
        return parse_outcome(value)
    except UserError as exc:
        raise click.BadParameter(str(exc)) from None


def _say(result: Result) -> None:
    click.echo(result.message)


@cli.command()
@config_option
@click.argument("campaign")
@click.option("--at", "when", required=True, help="ISO 8601 time with offset (not in the past), or 'now'.")
@click.option("--text", required=True, help="The post; a template like a message in a campaign file.")
@click.option("--account", help="Only this account (default: every account of the campaign).")
@click.option("--language", help="The text's language (default: the campaign's first).")
@by_option("queues it")
@click.pass_context
@friendly
def queue(ctx: click.Context, config_path: str | None, campaign: str, when: str, text: str, account: str | None,
          language: str | None, by: str) -> None:
    """Queue an extra post for a campaign."""
    app = make_app(ctx, config_path)
    now = app.clock.now()
    at = check_future(parse_time(when, now), now, when)
    sync(app)
    _say(posts.queue(app, actor(app, by), campaign, at=at, text=text, account=account, language=language))


@cli.command()
@config_option
@click.argument("delivery", type=int)
@click.option("--note", help="Why, for the audit log.")
@by_option("cancels it")
@click.pass_context
@friendly
def cancel(ctx: click.Context, config_path: str | None, delivery: int, note: str | None, by: str) -> None:
    """Cancel one post that has not gone out yet (queued or planned); ids are in `history` and `plan --json`."""
    app = make_app(ctx, config_path)
    _say(posts.cancel(app, actor(app, by), delivery, note))


@cli.command()
@config_option
@click.argument("delivery", type=int)
@click.option("--text", help="The new text; a template, validated like `queue`.")
@click.option("--at", "when", help="The new time: ISO 8601 with offset (not in the past), or 'now'.")
@by_option("edits it")
@click.pass_context
@friendly
def edit(ctx: click.Context, config_path: str | None, delivery: int, text: str | None, when: str | None,
         by: str) -> None:
    """Change a queued post's text or time before it goes out (a post that went through approval waits for a
    new one)."""
    app = make_app(ctx, config_path)
    now = app.clock.now()
    at = check_future(parse_time(when, now), now, when) if when is not None else None
    _say(posts.edit(app, actor(app, by), delivery, text=text, at=at))


def print_close_preview(data: dict[str, Any]) -> None:
    cid = data["campaign"]
    if data["already_closed"]:
        click.echo(wrapped(f"{cid} is already closed ({data['outcome']}); close would change nothing", 0))
        return
    heading(f"close {cid} ({data['outcome']}) would cancel {data['cancelled']} pending post(s) and queue "
            f"{len(data['messages'])} closing message(s), due now:")
    if data["in_flight"]:
        echo(f"  {data['in_flight']} post(s) being sent right now finish first")
    for m in data["messages"]:
        parent = m["reply_to"]
        if parent is None:
            under = "as a new post (nothing of this campaign sent there yet)"
        else:
            url = parent["remote_url"] or parent["remote_id"]
            under = (f"replying under delivery {parent['delivery']} ({url}, "
                     f"sent {local(parent['sent_at'], data['timezone'])})")
        flag = "  TOO LONG" if m["length"] > m["limit"] else ""
        echo(f"  {m['account']} ({m['network']}), {m['language']}, {m['length']}/{m['limit']}{flag}")
        click.echo(wrapped(under, 6))
        click.echo(wrapped(m["text"], 6))


@cli.command()
@config_option
@click.argument("campaign")
@click.option("--outcome", required=True, callback=_outcome, metavar="success|no-further-action", help=OUTCOME_HELP)
@click.option("--note", help="Why, for the audit log.")
@click.option("--dry-run", is_flag=True, help="Show the closing messages, what each replies under and what would "
                                              "be cancelled; change nothing.")
@json_option
@by_option("closes it")
@click.pass_context
@friendly
def close(ctx: click.Context, config_path: str | None, campaign: str, outcome: Outcome, note: str | None,
          dry_run: bool, as_json: bool, by: str) -> None:
    """Close a campaign: cancel pending calls to action and post the closing message everywhere (or, where the
    campaign's close_approval asks for it, wait for a second staff member)."""
    app = make_app(ctx, config_path)
    if dry_run:
        data = reports.close_preview(app, campaign, outcome)
        print_json(data) if as_json else print_close_preview(data)
        return
    if as_json:
        raise UserError("close: --json goes with --dry-run")
    sync(app)
    _say(campaigns.close(app, actor(app, by), campaign, outcome, note))


def _state_command(name: str, help_text: str, allow_all: bool) -> None:
    change = {"pause": campaigns.pause, "resume": campaigns.resume, "reopen": campaigns.reopen}[name]

    @cli.command(name, help=help_text)
    @config_option
    @click.argument("campaign", required=not allow_all)
    @click.option("--note", "--reason", "note", help="Why, for the audit log (and `status`, for --all).")
    @by_option("does it")
    @click.pass_context
    @friendly
    def command(ctx: click.Context, /, config_path: str | None, campaign: str | None, note: str | None, by: str,
                **kw: Any) -> None:
        if kw.get("all_"):
            if campaign:
                raise UserError(f"{name}: give a campaign or --all, not both")
            if name == "pause" and not (note and note.strip()):
                raise UserError("pause --all: give --reason, why every dispatch is held (shown in `status`)")
            app = make_app(ctx, config_path)
            who = actor(app, by)
            _say(emergency.stop_everything(app, who, note or "") if name == "pause" else emergency.lift_stop(app, who))
            return
        if not campaign:
            raise UserError(f"{name}: which campaign? (or --all)")
        app = make_app(ctx, config_path)
        sync(app)
        _say(change(app, actor(app, by), campaign, note))

    if allow_all:
        click.option("--all", "all_", is_flag=True, help="Every campaign: the emergency stop.")(command)


_state_command("pause", "Pause a campaign, or with --all --reason hold every dispatch (the emergency stop).", True)
_state_command("resume", "Resume a paused campaign, or with --all lift the emergency stop.", True)
_state_command("reopen", "Reopen a closed campaign; unsent closing messages are cancelled.", False)


@cli.command()
@config_option
@click.argument("delivery", type=int)
@click.option("--sent", "sent_url", metavar="URL", help="It was posted: its URL.")
@click.option("--not-sent", is_flag=True, help="It was not posted: send it again now.")
@click.option("--cancel", is_flag=True, help="Do not send it.")
@by_option("settles it")
@click.pass_context
@friendly
def resolve(ctx: click.Context, config_path: str | None, delivery: int, sent_url: str | None, not_sent: bool,
            cancel: bool, by: str) -> None:
    """Settle a delivery whose outcome is unknown, after checking the account by hand."""
    if sum(bool(x) for x in (sent_url, not_sent, cancel)) != 1:
        raise UserError("resolve: give exactly one of --sent URL, --not-sent or --cancel")
    app = make_app(ctx, config_path)
    _say(posts.resolve(app, actor(app, by), delivery, sent_url=sent_url, resend=not_sent))


@cli.group("approvals")
def approvals_group() -> None:
    """What waits for a second staff member: posts organisers queued, closes."""


@approvals_group.command("list")
@config_option
@json_option
@click.pass_context
@friendly
def approvals_list(ctx: click.Context, config_path: str | None, as_json: bool) -> None:
    """Every request waiting for a decision."""
    from bot.queries.approvals import pending

    app = make_app(ctx, config_path)
    waiting = pending(app)
    if as_json:
        print_json([w.as_json() for w in waiting])
        return
    if not waiting:
        echo("nothing waits for approval")
    for w in waiting:
        heading(f"{w.id}: {w.what} ({w.campaign}), asked by {w.requested_by}")
        click.echo(wrapped(w.text, 6))


def _decision(name: str, approve: bool) -> None:
    @approvals_group.command(name, help=f"{name.capitalize()} a request (someone other than whoever asked).")
    @config_option
    @click.argument("approval", type=int)
    @click.option("--reason", help="Why (kept, and shown to whoever asked).")
    @by_option("decides")
    @click.pass_context
    @friendly
    def command(ctx: click.Context, config_path: str | None, approval: int, reason: str | None, by: str) -> None:
        app = make_app(ctx, config_path)
        _say(approvals.decide(app, actor(app, by), approval, approve, reason))


_decision("approve", True)
_decision("reject", False)
