"""Alerts (issue 12): each event told once to a local webhook and a local SMTP server, retried when a destination
is down and reported when it keeps failing, while posting goes on; no secret in any alert."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from bot.alerts import queue
from bot.alerts.detect import detect
from bot.alerts.runner import start, tick
from bot.alerts.transport import TransportError, scrub
from bot.cli import cli
from bot.networks.base import AuthRevoked, OutcomeUnknown, PermanentError
from bot.outbox import workers
from bot.outbox.policy import Hold
from bot.outbox.record import hold_account
from bot.queries import reports
from bot.states import Status
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.alert_servers import closed_port_url, smtp, webhook
from tests.conftest import deliveries, write_campaign
from tests.fakes import FakeNetwork

TOKEN = "SECRET-TOKEN-123abc"
ONE_LANGUAGE = dict(languages='languages = ["en"]', ask='ask = "Act now"',
                    schedule='[[schedule]]\nid = "later"\nat = [2027-06-01T09:00:00]')


def alerts_config(*destinations: str, **settings: str) -> str:
    lines = []
    for d in destinations:
        lines += ["[[alerts]]", d]
    lines += ["[alerts_settings]"] + [f'{k} = "{v}"' for k, v in settings.items()]
    return "\n".join(lines) + "\n"


def beat(app, owner, when):
    with app.engine.begin() as conn:
        workers.beat(conn, owner, when)


@pytest.fixture
def add_target_response(make_app):
    """A target's reply recorded in reach's target_responses table; its rows are deleted afterwards (PostgreSQL
    tests share one database)."""
    used = []

    def add(app, campaign_id, delivery_id):
        used.append(app)
        with app.engine.begin() as conn:
            now = app.clock.now()
            conn.execute(text("INSERT INTO target_responses (id, campaign_id, network, account_id, delivery_id, "
                              "author, kind, text, url, remote_id, received_at) VALUES (1, :c, 'mastodon', 'a1', :d, "
                              "'@ministerio@gob.example', 'reply', 'We are looking into the case.', "
                              "'https://gob.example/@ministerio/9', '9', :at)"),
                         {"c": campaign_id, "d": delivery_id,
                          "at": now.replace(tzinfo=None) if app.engine.dialect.name == "sqlite" else now})

    yield add
    for app in used:
        with app.engine.begin() as conn:
            conn.execute(text("DELETE FROM target_responses"))


def test_every_event_is_alerted_once_at_a_local_webhook_with_its_page_and_no_secret(make_app, campaigns_dir, clock,
                                                                                      add_target_response):
    write_campaign(campaigns_dir, extra="act_by = 2026-12-01", **ONE_LANGUAGE)  # ends 2 Dec 05:00 UTC (Lima)
    net1, net2 = FakeNetwork("a1", idempotent=False), FakeNetwork("a2")
    with webhook() as hook:
        app = make_app(networks={"a1": net1, "a2": net2}, config_extra=alerts_config(
            f'url = "{hook.url}"', base_url="https://bot.example.org"))
        plan(app)
        net1.fail_next(PermanentError(f"422 rejected; token {TOKEN}"), OutcomeUnknown("connection dropped"))
        net2.fail_next(AuthRevoked(f"The access token {TOKEN} was revoked"))
        lifecycle.queue(app, "test", clock.now(), "First {{ link }}", "tester")
        lifecycle.queue(app, "test", clock.now(), "Second {{ link }}", "tester")
        Dispatcher(app).run_once()
        assert {d.status for d in deliveries(app, account_id="a1")} == {Status.FAILED, Status.UNKNOWN}
        with app.engine.begin() as conn:
            hold_account(conn, "a3", clock.now(), Hold.MISCONFIGURED, None, "TOKEN_A3 is not set")
        lifecycle.pause_all(app, "ana", "the case changed", paused=True)
        beat(app, "dead-worker", clock.now() - timedelta(minutes=10))
        add_target_response(app, "test", deliveries(app)[0].id)
        for when in (None, datetime(2026, 12, 1, 6, tzinfo=UTC), datetime(2026, 12, 2, 6, tzinfo=UTC)):
            if when:
                clock.set(when)
            tick(app)
            tick(app)  # detection twice: nothing new
        lifecycle.close(app, "test", "success", "ana")
        tick(app)
        tick(app)
        assert Counter(hook.events()) == {e: 1 for e in (
            "delivery_failed", "delivery_unknown", "account_disabled", "account_misconfigured", "worker_down",
            "target_responded", "deadline_near", "deadline_passed", "emergency_stop", "campaign_closed")}
        messages = hook.messages()
    assert not any(TOKEN in m for m in messages)
    by_event = {m.splitlines()[-1].removeprefix("Event: "): m for m in messages}
    assert "Settle it here: https://bot.example.org/#attention" in by_event["delivery_unknown"]
    assert "Campaign: test" in by_event["delivery_failed"] and "Account: a1" in by_event["delivery_failed"]
    assert "Account a2 was disabled" in by_event["account_disabled"]
    assert "“We are looking into the case.”" in by_event["target_responded"]
    assert "https://bot.example.org/campaigns/test" in by_event["campaign_closed"]


def test_alerts_reach_a_local_smtp_server_and_only_the_events_each_destination_wants(make_app, campaigns_dir):
    write_campaign(campaigns_dir, **ONE_LANGUAGE)
    with webhook() as hook, smtp() as (mailbox, mail_url):
        app = make_app(config_extra=alerts_config(
            f'url = "{hook.url}"\nevents = ["emergency_stop"]',
            f'url = "{mail_url}"\nevents = ["emergency_stop", "campaign_closed"]'))
        plan(app)
        lifecycle.pause_all(app, "ana", "check the case first", paused=True)
        lifecycle.close(app, "test", "success", "ana")
        assert tick(app).sent == 3
        assert tick(app).sent == 0
        assert hook.events() == ["emergency_stop"]
    assert len(mailbox.messages) == 2
    assert any("Subject: campaign-bot: emergency stop" in m for m in mailbox.messages)
    assert any("Subject: campaign-bot: a campaign was closed" in m for m in mailbox.messages)


def test_an_unreachable_alert_url_is_retried_and_reported_while_posting_goes_on(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', **ONE_LANGUAGE)
    net = FakeNetwork("a1")
    with webhook() as hook:
        app = make_app(networks={"a1": net}, accounts=("a1",), config_extra=alerts_config(
            f'url = "{hook.url}"', f'url = "{closed_port_url()}"\nname = "broken"'))
        plan(app)
        lifecycle.close(app, "test", "success", "ana")  # an alert, and a closing message to post
        first = tick(app)
        assert (first.sent, first.failed) == (1, ["broken"])
        assert Dispatcher(app).run_once() == 1  # the post goes out whatever the alert service does
        assert [d.status for d in deliveries(app, kind="closing")] == [Status.SENT]
        assert tick(app).failed == []  # not due yet: backoff
        for _ in range(2):
            clock.advance(timedelta(minutes=5))
            assert tick(app).failed == ["broken"]
        assert hook.events() == ["campaign_closed"]  # the working destination got it once
    [failing] = reports.status(app)["alerts_failing"]
    assert failing["destination"] == "broken" and failing["waiting"] == 1 and "Connection error" in failing["error"]
    result = CliRunner().invoke(cli, ["status"], catch_exceptions=False)
    assert "ALERTS to broken keep failing" in result.output


def test_a_dead_worker_raises_worker_down_once_and_again_after_it_came_back_and_died(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir, **ONE_LANGUAGE)
    with webhook() as hook:
        app = make_app(config_extra=alerts_config(f'url = "{hook.url}"', worker_down_after="2m"))
        beat(app, "w1", clock.now())
        clock.advance(timedelta(seconds=90))
        tick(app)
        assert hook.events() == []  # 90 s without a heartbeat: not yet
        clock.advance(timedelta(seconds=60))
        tick(app)
        tick(app)
        assert hook.events() == ["worker_down"]
        beat(app, "w2", clock.now())  # a worker is back
        tick(app)
        clock.advance(timedelta(minutes=3))  # and dies
        tick(app)
        tick(app)
        assert hook.events() == ["worker_down", "worker_down"]
        assert "No worker has sent a heartbeat for 3 min" in hook.messages()[-1]


def test_alerts_test_says_which_destination_worked_without_printing_a_secret(make_app, campaigns_dir, monkeypatch):
    secret_url = closed_port_url().replace("json://", f"json://staff:{TOKEN}@") + "/tok-abcdef123"
    monkeypatch.setenv("CAMPAIGN_BOT_ALERT_URL", secret_url)
    with webhook() as hook:
        make_app(config_extra=alerts_config(f'url = "{hook.url}"\nname = "ops"', 'url_env = "CAMPAIGN_BOT_ALERT_URL"'))
        result = CliRunner().invoke(cli, ["alerts", "test"], catch_exceptions=False)
        assert len(hook.messages()) == 1 and "test" in hook.messages()[0]
    assert result.exit_code == 1
    assert "ok      ops" in result.output
    assert "FAILED  $CAMPAIGN_BOT_ALERT_URL: " in result.output
    assert TOKEN not in result.output + result.stderr and "tok-abcdef123" not in result.output + result.stderr


def test_alerts_test_exits_0_when_every_destination_worked(make_app, campaigns_dir):
    with webhook() as hook:
        make_app(config_extra=alerts_config(f'url = "{hook.url}"', base_url="https://bot.example.org"))
        result = CliRunner().invoke(cli, ["alerts", "test"], catch_exceptions=False)
    assert result.exit_code == 0 and result.output.startswith("ok      json://127.0.0.1:")
    assert "warning" not in result.output


def test_without_the_web_apps_address_alerts_carry_no_dead_link_and_staff_are_told_once(make_app, campaigns_dir,
                                                                                        caplog):
    """A bare path like /campaigns/test in an e-mail leads nowhere: no link at all, and one warning line from
    `alerts test` and from the worker's start."""
    write_campaign(campaigns_dir, **ONE_LANGUAGE)
    with webhook() as hook:
        app = make_app(config_extra=alerts_config(f'url = "{hook.url}"'))
        result = CliRunner().invoke(cli, ["alerts", "test"], catch_exceptions=False)
        assert result.exit_code == 0
        assert result.stderr.count("warning: alerts will carry no link to the web app: set [alerts_settings] "
                                   "base_url (or [amplify] public_url)") == 1
        plan(app)
        lifecycle.close(app, "test", "success", "ana")
        tick(app)
        closed = hook.messages()[-1]
    assert "Campaign: test" in closed and "Settle it here" not in closed and "/campaigns/" not in closed
    stopping = threading.Event()
    stopping.set()
    with caplog.at_level(logging.WARNING, logger="bot.alerts.runner"):
        thread = start(app, stopping)
        thread.join(timeout=30)
    assert [r.getMessage() for r in caplog.records if "no link" in r.getMessage()] == [
        "alerts: alerts will carry no link to the web app: set [alerts_settings] base_url (or [amplify] public_url) "
        "to its address, like https://bot.example.org"]


class RecordingTransport:
    """Records what it was asked to send; ``fail`` makes each send raise that error instead."""

    def __init__(self, fail: TransportError | None = None) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.fail = fail

    def notify(self, destination, title, body):
        if self.fail:
            raise self.fail
        self.sent.append((destination.key, title, body))


def test_a_send_left_in_flight_by_a_dead_process_goes_out_after_its_lease(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir, **ONE_LANGUAGE)
    app = make_app(config_extra=alerts_config('url = "json://127.0.0.1:9/hook"\nname = "hook"'))
    lifecycle.pause_all(app, "ana", "hold", paused=True)
    transport = RecordingTransport()
    with app.engine.begin() as conn:
        queue.enqueue(conn, detect(conn, clock.now(), app.config.alerts_settings), app.config.alerts, clock.now())
    with app.engine.begin() as conn:
        assert len(queue.claim(conn, ["hook"], clock.now())) == 1  # then the process died before sending
    assert tick(app, transport).sent == 0
    clock.advance(queue.LEASE + timedelta(seconds=1))
    assert tick(app, transport).sent == 1
    assert [t for _k, t, _b in transport.sent] == ["campaign-bot: emergency stop"]


def test_a_permanent_refusal_is_given_up_at_once_and_reported(make_app, campaigns_dir):
    write_campaign(campaigns_dir, **ONE_LANGUAGE)
    app = make_app(config_extra=alerts_config('url = "json://127.0.0.1:9/hook"\nname = "hook"'))
    lifecycle.pause_all(app, "ana", "hold", paused=True)
    assert tick(app, RecordingTransport(TransportError("401 unauthorized", permanent=True))).failed == ["hook"]
    [failing] = reports.status(app)["alerts_failing"]
    assert (failing["failed"], failing["waiting"], failing["error"]) == (1, 0, "401 unauthorized")


def test_a_failure_reason_never_quotes_the_credentials_in_the_url():
    url = "json://staff:pa55word@hooks.example.org/tok-abcdef123?key=zz9-secret"
    said = "Failed to send to staff:pa55word@hooks.example.org/tok-abcdef123?key=zz9-secret: 401"
    assert scrub(said, url) == "Failed to send to ***@hooks.example.org/***?key=***: 401"
