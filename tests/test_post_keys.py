"""Delivery ids restart at 1 in every database: the keys that make a retry safe must not."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.bootstrap import bootstrap
from bot.config.settings import load_config
from bot.networks.bluesky.keys import delivery_tid
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import write_campaign
from tests.fakes import FakeNetwork

LATER = '[[schedule]]\nid = "later"\nat = [2027-06-01T09:00:00]'


def _app(tmp_path: Path, name: str, campaigns_dir: Path, net: FakeNetwork, clock):
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(f'[bot]\ndatabase_url = "sqlite:///{tmp_path / name}.db"\ncampaigns_dir = "{campaigns_dir}"\n'
                   '[accounts.a1]\nnetwork = "console"\n', encoding="utf-8")
    return bootstrap(load_config(cfg), clock=clock, networks={"a1": net})


def test_the_first_post_of_a_recreated_database_is_not_taken_for_the_first_post_of_the_old_one(
        tmp_path, campaigns_dir, clock):
    # Mastodon keeps an Idempotency-Key for an hour and answers a second post with the same key with the first
    # post: with "campaign-bot-1" in both databases the second text was recorded sent and never published.
    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]',
                   ask='ask = "Act now"', schedule=LATER)
    account = FakeNetwork("a1", idempotent=True)  # one account on the network, two databases posting to it
    old, new = (_app(tmp_path, name, campaigns_dir, account, clock) for name in ("old", "new"))
    try:
        for app, text in ((old, "Please act today"), (new, "Act: write to the ministry")):
            plan(app)
            lifecycle.queue(app, "test", clock.now(), text, "tester")
            assert Dispatcher(app).run_once() == 1
        assert account.texts == ["Please act today", "Act: write to the ministry"]
        assert old.post_key(1) != new.post_key(1)
        assert old.post_key(1) == old.post_key(1)
    finally:
        old.engine.dispose()
        new.engine.dispose()


def test_a_bluesky_record_key_depends_on_the_database_and_stays_the_same_for_one_delivery():
    at = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    one, other = "campaign-bot-3f2a9c-1", "campaign-bot-77b0e1-1"
    assert delivery_tid(1, at, one) == delivery_tid(1, at, one)
    assert delivery_tid(1, at, one) != delivery_tid(1, at, other)
    assert delivery_tid(1, at, "campaign-bot-1") == delivery_tid(1, at)  # a legacy key keeps its record key
    keys = {delivery_tid(n, at, f"campaign-bot-3f2a9c-{n}") for n in range(1, 3000)}
    assert len(keys) == 2999  # deliveries due at one instant still get distinct keys


def test_a_database_that_already_held_deliveries_keeps_the_keys_its_posts_were_first_tried_with(
        tmp_path, campaigns_dir, clock):
    # A post tried before the upgrade (its outcome unknown) must be retried with the same key, or it could go
    # out twice: such a database gets no key of its own.
    from alembic import command

    from bot.store.db import _alembic_config

    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]',
                   ask='ask = "Act now"', schedule=LATER)
    app = _app(tmp_path, "old", campaigns_dir, FakeNetwork("a1"), clock)
    try:
        plan(app)
        lifecycle.queue(app, "test", clock.now(), "Please act today", "tester")
        assert app.post_key(1) != "campaign-bot-1"  # a new database has its own key
        cfg = _alembic_config()
        with app.engine.begin() as conn:  # back to before the key, with deliveries planned, and up again
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0011")
            command.upgrade(cfg, "head")
        upgraded = _app(tmp_path, "old", campaigns_dir, FakeNetwork("a1"), clock)
        assert upgraded.post_key(1) == "campaign-bot-1"
        upgraded.engine.dispose()
    finally:
        app.engine.dispose()
