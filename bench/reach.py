"""reach: the report (campaign page, dashboard line, `report`) and the due-posts scan of a collection pass,
with one campaign of 2,000 published posts read 15 times each (30,000 snapshots), on SQLite; and what a daemon
pass reads first with 100,000 supporters' boosts sent, against the whole-history query it used before (each
account's latest post, supporters' too), alternating in the same run."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bench.common import emit, peak_rss_mb, timed, write_world
from bot.bootstrap import bootstrap
from bot.config.settings import load_config
from bot.reach.collect import _pass_reads
from bot.reach.report import campaign_report
from bot.reach.schedule import due_posts
from bot.worker.plan import plan


def _fill(app, posts: int, readings: int) -> None:  # type: ignore[no-untyped-def]
    sent = datetime(2026, 11, 1, tzinfo=UTC)
    with app.engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO deliveries (plan_key, campaign_id, account_id, network, kind, language, text, media,
                                    reply_in_thread, due_at, status, attempts, sent_at, remote_id, created_at,
                                    updated_at, action)
            VALUES (:key, 'c00000', 'a0', 'mastodon', 'queued', 'en', 'Post', '[]', 0, :at, 'sent', 1, :at, :rid,
                    :at, :at, 'post')"""),
                     [{"key": f"bench|{i}", "at": (sent + timedelta(minutes=i)).replace(tzinfo=None),
                       "rid": str(110_000 + i)} for i in range(posts)])
        ids = [r[0] for r in conn.execute(text("SELECT id FROM deliveries WHERE plan_key LIKE 'bench|%'"))]
        conn.execute(text("""INSERT INTO reach_snapshots (delivery_id, collected_at, reposts, likes, replies, quotes)
                             VALUES (:d, :at, :n, :n, :n, NULL)"""),
                     [{"d": d, "at": (sent + timedelta(hours=6 * k, seconds=d)).replace(tzinfo=None), "n": k}
                      for d in ids for k in range(readings)])


def _boosts(app, supporters: int) -> None:  # type: ignore[no-untyped-def]
    """One sent boost of the campaign's first post by each of ``supporters`` accounts."""
    at = datetime(2026, 11, 2, tzinfo=UTC).replace(tzinfo=None)
    with app.engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO deliveries (plan_key, campaign_id, account_id, network, kind, language, text, media,
                                    reply_in_thread, due_at, status, attempts, sent_at, remote_id, created_at,
                                    updated_at, action)
            VALUES (:key, 'c00000', :acc, 'mastodon', 'call_to_action', 'en', 'https://x/1', '[]', 0, :at, 'sent',
                    1, :at, :rid, :at, :at, 'boost')"""),
                     [{"key": f"boost|{n}", "acc": f"supporter:{n}", "at": at, "rid": f"r{n}"}
                      for n in range(supporters)])


WHOLE_HISTORY = text("SELECT account_id, max(sent_at) FROM deliveries WHERE sent_at IS NOT NULL GROUP BY account_id")
"""What each pass read before (every account's latest post): the reference."""


def _cpu(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.process_time()
    fn()
    return time.process_time() - start


def _pass_figures(app, rounds: int = 5) -> dict[str, float]:  # type: ignore[no-untyped-def]
    now = datetime(2026, 12, 2, tzinfo=UTC)
    ours, before = [], []
    with app.engine.connect() as conn:
        for _ in range(rounds):  # A B A B
            ours.append(_cpu(lambda: _pass_reads(conn, now, None, False, True, latest=True)))
            before.append(_cpu(lambda: (_pass_reads(conn, now, None, False, True, latest=False),
                                        conn.execute(WHOLE_HISTORY).all())))
    return {"pass_first_reads_cpu_s": round(sorted(ours)[rounds // 2], 4),
            "reference_whole_history_cpu_s": round(sorted(before)[rounds // 2], 4)}


def run(quick: bool) -> dict:  # type: ignore[type-arg]
    posts, readings = (500, 15) if quick else (2_000, 15)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_world(Path(tmp), 1, accounts=1, database_url=f"sqlite:///{tmp}/bench.db")
        app = bootstrap(load_config(cfg))
        plan(app)
        _fill(app, posts, readings)
        with app.engine.connect() as conn:
            report_s, r = timed(lambda: campaign_report(conn, "c00000"))
            due_s, due = timed(lambda: due_posts(conn, datetime(2026, 12, 2, tzinfo=UTC)))
        supporters = 10_000 if quick else 100_000
        _boosts(app, supporters)
        passes = _pass_figures(app)
        app.engine.dispose()
    return emit("reach", posts=posts, snapshots=posts * readings, report_seconds=round(report_s, 3),
                series_points=len(r["over_time"]), due_scan_seconds=round(due_s, 3), due=len(due),
                supporters_boosts=supporters, **passes, peak_rss_mb=round(peak_rss_mb(), 1))
