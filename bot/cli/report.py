"""`campaign-bot report`: what each campaign achieved, per network and per post (registered by bot/cli)."""

from __future__ import annotations

import csv
import sys
from typing import Any

import click

from bot.cli.base import cli, config_option, friendly, make_app, print_json
from bot.cli.fmt import echo, heading, wrapped
from bot.reach.collect import collect
from bot.reach.report import CSV_COLUMNS, report, rows

LABELS = (("posts", "posts"), ("boosts", "boosts"), ("likes", "likes"), ("replies", "replies"),
          ("quotes", "quotes"), ("supporter_boosts", "supporters' boosts"), ("share_clicks", "share-kit clicks"),
          ("target_responses", "target's responses"))


@cli.command("report")
@config_option
@click.argument("campaign", required=False)
@click.option("--refresh", is_flag=True, help="Collect the counts from the networks now, instead of waiting "
                                               "for the schedule (within each account's read budget).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (times in UTC, ISO 8601).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV: one row per campaign, network, post and reading.")
@click.pass_context
@friendly
def report_cmd(ctx: click.Context, config_path: str | None, campaign: str | None, refresh: bool, as_json: bool,
               as_csv: bool) -> None:
    """How far each campaign travelled: posts sent, boosts, likes, replies, quotes, supporters' boosts,
    share-kit clicks by source, letters to the target and the target's responses, per network and per post, and
    the totals over time."""
    if as_json and as_csv:
        raise click.UsageError("--json and --csv: choose one", ctx)
    app = make_app(ctx, config_path)
    if refresh:
        done = collect(app, campaign=campaign, force=True)
        for note in done.notes:
            click.echo(note, err=True)
    with app.engine.connect() as conn:
        data = report(conn, campaign)
    if as_json:
        print_json(data)
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows(data))
    else:
        for r in data:
            _text(r)


def _figures(values: dict[str, Any], labels: tuple[tuple[str, str], ...] = LABELS) -> str:
    """``-`` for a count not known (a post not read yet, quotes a network does not count)."""
    return ", ".join(f"{values[k] if values.get(k) is not None else '-'} {label}" for k, label in labels)


def _text(r: dict[str, Any]) -> None:
    echo()
    heading(f"{r['campaign']} ({r['state']}): {r['title']}")
    echo(wrapped(f"total: {_figures(r['totals'])}", 2))
    for network, values in r["networks"].items():
        echo(wrapped(f"{network}: {_figures(values)}", 2))
    if r["letters"]:
        ways = ", ".join(f"{count} by {source}" for source, count in r["letters"].items())
        echo(wrapped(f"letters to the target: {r['totals']['letters']} ({ways})", 2))
    for account, why in r["unavailable"].items():
        echo(f"  {account}: counts {why}")
    for p in r["posts"]:
        read = f"read {p['collected_at']}" if p["collected_at"] else "not read yet"
        echo(f"  #{p['delivery_id']} {p['sent_at']} {p['account']} ({p['network']}, {p['language']}): {read}")
        echo(wrapped(_figures(p, LABELS[1:]), 6))  # one post each: no "1 posts"
        if p["url"]:
            echo(f"      {p['url']}")
    for a in r["responses"]:
        echo(f"  the target answered ({a['kind']}, {a['received_at']}) {a['author']}: {a['url'] or ''}")
        echo(wrapped(a["text"], 6))
    if r["over_time"]:
        echo("  over time:")
        for point in r["over_time"]:
            echo(f"    {point['at']}: {point['boosts']} boosts, {point['likes']} likes, {point['replies']} replies, "
                 f"{point['quotes']} quotes")
