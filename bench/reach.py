"""reach: the report (campaign page, dashboard line, `report`) and the due-posts scan of a collection pass,
with one campaign of 2,000 published posts read 15 times each (30,000 snapshots), on SQLite."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bench.common import emit, peak_rss_mb, timed, write_world
from bot.bootstrap import bootstrap
from bot.config.settings import load_config
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
        app.engine.dispose()
    return emit("reach", posts=posts, snapshots=posts * readings, report_seconds=round(report_s, 3),
                series_points=len(r["over_time"]), due_scan_seconds=round(due_s, 3), due=len(due),
                peak_rss_mb=round(peak_rss_mb(), 1))
