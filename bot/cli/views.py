"""The read-only commands: plan, status, history. None of them writes to the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any

import click

from bot.actions.times import human_duration
from bot.cli.alerts import alert_failures
from bot.cli.base import cli, config_option, friendly, json_option, make_app, print_json
from bot.cli.fmt import WIDTH, echo, heading, kind_label, local, wrapped
from bot.errors import UserError
from bot.queries import reports
from bot.states import Kind, Status

STATUSES = [str(s) for s in Status]  # the values, as stored (not the enum's names)
STATUS_COLOURS = {Status.SENT: "green", Status.FAILED: "red", Status.UNKNOWN: "yellow", Status.MISSED: "yellow"}
KINDS = [str(k) for k in (Kind.CALL_TO_ACTION, Kind.UPDATE, Kind.QUEUED, Kind.CLOSING)]


@cli.command("plan")
@config_option
@click.argument("campaign", required=False)
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366), help="How far ahead to look.")
@json_option
@click.pass_context
@friendly
def plan_cmd(ctx: click.Context, config_path: str | None, campaign: str | None, days: int, as_json: bool) -> None:
    """Preview the coming posts per campaign and account, with each text's length against its network's limit.

    Computed from the files as they are now; nothing is written."""
    app = make_app(ctx, config_path)
    rows, issues = reports.preview(app, campaign, days)
    for issue in issues:
        click.echo(issue, err=True)
    if as_json:
        print_json(rows)
        return
    if not rows:
        echo("nothing planned")
    for cid, in_campaign in groupby(sorted(rows, key=lambda r: (r["campaign"], r["account"])),
                                    key=lambda r: r["campaign"]):
        campaign_rows = list(in_campaign)
        echo()
        heading(f"{cid} (times in {campaign_rows[0]['timezone']})")
        for (account, network), posts in groupby(campaign_rows, key=lambda r: (r["account"], r["network"])):
            echo(f"  {account} ({network})")
            for r in posts:
                flags = []
                if r["length"] > r["limit"]:
                    flags.append(click.style("TOO LONG", fg="red", bold=True))
                if r["held"]:
                    flags.append("held: campaign paused")
                if r["on_next_plan"]:
                    flags.append("CLOSE IN THE FILE: queued at the next plan")
                line = (f"    {local(r['due_at'], r['timezone'])}  {r['language']:<3} "
                        f"{kind_label(r['kind'])}  {r['length']}/{r['limit']}")
                tail = "".join(f"  {f}" for f in flags)
                # Flags that would overflow 80 columns go on a line of their own (lengths without colour codes).
                fits = len(line) + len(click.unstyle(tail)) <= WIDTH
                click.echo(line + tail if fits else f"{line}\n     {tail}")
                click.echo(wrapped(r["text"], 6))


@cli.command("status")
@config_option
@json_option
@click.pass_context
@friendly
def status_cmd(ctx: click.Context, config_path: str | None, as_json: bool) -> None:
    """Campaigns, their state, next post, and counts of sent, pending, failed and unknown deliveries; accounts
    held (disabled, misconfigured, rate limited); deliveries that need a person. Reads the database only."""
    app = make_app(ctx, config_path)
    data = reports.status(app)
    if as_json:
        print_json(data)
        return
    now = app.clock.now()
    worker = data["worker"]
    echo(("worker: " if worker["alive"] else "WORKER: ") + worker["message"], fg=None if worker["alive"] else "yellow")
    stop = data["emergency_stop"]
    if stop["active"]:
        echo(f"EMERGENCY STOP by {stop['by']}: {stop['reason'] or ''}", fg="red", bold=True)
    if not data["campaigns"]:
        echo("no campaigns yet: `campaign-bot run` (or `queue`, `close`) loads them from the files")
    for c in data["campaigns"]:
        state = c["state"] + (f" ({c['outcome']})" if c["outcome"] else "")
        heading(f"{c['id']}: {state}")
        zone = c["timezone"]
        when = [f"next post {local(c['next_post'], zone)}" if c["next_post"] else "no post planned"]
        if c["act_by"]:
            deadline = f"deadline {local(c['act_by'], zone)}"
            if c["deadline_passed"]:
                ago = human_duration(now - datetime.fromisoformat(c["act_by"]))
                deadline = click.style(f"DEADLINE PASSED {ago} ago ({local(c['act_by'], zone)})", fg="yellow")
            when.append(deadline)
        echo("  " + "; ".join(when))
        echo(f"  sent {c['sent']}, pending {c['pending']}, failed {c['failed']}, unknown {c['unknown']}, "
             f"missed {c['missed']}, cancelled {c['cancelled']}")
    for a in data["accounts"]:
        if a["disabled"]:
            echo(f"account {a['account']} DISABLED: {a['reason']}", fg="red")
        elif a["misconfigured"]:
            echo(f"account {a['account']} MISCONFIGURED (its posts wait): {a['misconfigured']}", fg="red")
        else:
            left = human_duration(datetime.fromisoformat(a["rate_limited_until"]) - now)
            echo(f"account {a['account']} rate limited for {left} more")
    alert_failures(data["alerts_failing"])
    for f in data["invalid_files"]:
        runs = "the last good version runs on" if f["running_last_good"] else "not running"
        echo(f"INVALID FILE {f['path']} ({runs}): {'; '.join(f['problems'])}", fg="red")
    for d in data["needs_attention"]:
        echo(f"needs a person: delivery {d['id']} ({d['campaign']}, {d['account']}): {d['error']}", fg="yellow")


def parse_since(value: str, now: datetime) -> datetime:
    """`7d`, `12h`, `30m`, a date (midnight UTC) or an ISO 8601 time with offset."""
    value = value.strip()
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if value[-1:] in units and value[:-1].isdigit():
        return now - timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"--since {value!r}: use 7d, 12h, 30m, a date like 2026-12-01, or an ISO 8601 time "
                        "with offset") from None
    if when.tzinfo is None:
        raise UserError(f"--since {value!r}: needs a UTC offset, like 2026-12-01T09:00-05:00 (or Z)")
    return when


@cli.command("history")
@config_option
@click.argument("campaign", required=False)
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only deliveries in this status (repeat for several).")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS),
              help="Only this kind of post (repeat for several).")
@click.option("--since", help="Only those due since: 7d, 12h, 30m, a date, or an ISO 8601 time.")
@click.option("--limit", type=click.IntRange(1), help="Only the most recent N.")
@json_option
@click.pass_context
@friendly
def history_cmd(ctx: click.Context, config_path: str | None, campaign: str | None, statuses: tuple[str, ...],
                kinds: tuple[str, ...], since: str | None, limit: int | None, as_json: bool) -> None:
    """Deliveries: sent, failed, cancelled, missed, unknown, and those due now. Reads the database only."""
    app = make_app(ctx, config_path)
    rows = reports.history(app, campaign, limit, statuses=statuses or None, kinds=kinds or None,
                           since=parse_since(since, app.clock.now()) if since else None)
    if as_json:
        print_json(rows)
        return
    if not rows:
        echo("no deliveries match")
    by_campaign: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_campaign.setdefault(r["campaign"], []).append(r)
    for cid, entries in by_campaign.items():
        heading(f"{cid} (times in {entries[0]['timezone'] or 'UTC'})")
        for r in entries:
            color = STATUS_COLOURS.get(r["status"])
            status = click.style(r["status"], fg=color) if color else r["status"]
            click.echo(f"  {r['id']:>5}  {local(r['due_at'], r['timezone'])}  {r['account']}  {r['language']}  "
                       f"{kind_label(r['kind'])}  {status}")
            detail = r["remote_url"] or r["error"]
            if detail:
                click.echo(wrapped(detail, 9))
