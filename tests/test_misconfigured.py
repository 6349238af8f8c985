"""A secret that disappears while running holds that account as misconfigured; its posts wait, the other
accounts go on; never unknown, never failed, no traceback (issue 7, item 4, the runtime half)."""

import logging
from datetime import timedelta

import pytest

from bot.errors import ConfigError
from bot.networks.base import Misconfigured
from bot.states import Status
from bot.store.models import AccountStateRow
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import deliveries, write_campaign
from tests.fakes import FakeNetwork
from tests.test_dispatch import LATER


def account_state(app, account_id):
    with app.sessions() as s:
        return s.get(AccountStateRow, account_id)


@pytest.mark.parametrize("error", [Misconfigured("TOKEN_A1 is not set"),
                                   ConfigError("accounts.a1: environment variable TOKEN_A1 is not set")],
                         ids=["misconfigured", "config-error"])
def test_a_missing_secret_holds_the_account_its_posts_wait_and_the_others_go_on(make_app, campaigns_dir, clock,
                                                                                 caplog, error):
    write_campaign(campaigns_dir, languages='languages = ["en"]', ask='ask = "Act"', schedule=LATER)
    a1, a2 = FakeNetwork("a1", idempotent=False), FakeNetwork("a2")
    app = make_app(networks={"a1": a1, "a2": a2}, max_attempts=2)
    plan(app)
    lifecycle.queue(app, "test", clock.now(), "one", "t")
    lifecycle.queue(app, "test", clock.now(), "two", "t")
    d = Dispatcher(app)
    caplog.set_level(logging.INFO)
    for _ in range(6):  # six minutes without the secret: retried about once a minute, never given up
        a1.fail_next(error)
        d.run_once()
        d.run_once()  # within the minute: not tried again
        clock.advance(timedelta(seconds=61))
    assert a2.texts == ["one", "two"]
    assert a1.texts == [] and a1.calls == 6
    held = deliveries(app, account_id="a1", kind="queued")
    assert [r.status for r in held] == [Status.PLANNED, Status.PLANNED] and all(r.attempts == 0 for r in held)
    assert "TOKEN_A1" in held[0].error
    state = account_state(app, "a1")
    assert "TOKEN_A1" in state.misconfigured_reason and not state.disabled
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a missing secret"
    d.run_once()  # the secret is back
    assert a1.texts == ["one", "two"]
    assert {r.status for r in deliveries(app, account_id="a1", kind="queued")} == {Status.SENT}
    assert account_state(app, "a1").misconfigured_reason is None
