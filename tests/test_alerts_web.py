"""The web process runs alerting while it serves (so a dead worker is noticed), and its dashboard shows an
alert destination that keeps failing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from bot.actions import people
from bot.alerts.runner import tick
from bot.web.app import create_app
from tests.alert_servers import closed_port_url, webhook
from tests.conftest import beat, write_campaign
from tests.waiting import wait_for
from tests.web_fixtures import PASSWORD, add_user, load, sign_in, token_for


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch):
    monkeypatch.setattr(people, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


def test_the_web_process_alerts_a_dead_worker_while_it_serves(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir)
    with webhook() as hook:
        core = make_app(config_extra=f'[[alerts]]\nurl = "{hook.url}"\n[alerts_settings]\ninterval_seconds = 0.1\n')
        beat(core)  # a worker beat once, then died (the injected clock moves past worker_down_after)
        clock.advance(timedelta(minutes=5))
        with TestClient(create_app(core, secret_key="x" * 40)) as client:
            assert client.get("/healthz").status_code in (200, 503)
            assert wait_for(lambda: hook.events(), timeout=30) == ["worker_down"]
        assert hook.events() == ["worker_down"]  # once, though the thread looked many times


def test_the_dashboard_and_the_api_show_an_alert_destination_that_keeps_failing(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir)
    core = make_app(config_extra=f'[[alerts]]\nurl = "{closed_port_url()}"\nname = "staff hook"\n')
    load(core)
    add_user(core, "staff", "staff", PASSWORD)
    beat(core)
    clock.advance(timedelta(minutes=5))  # worker_down: something to send
    for _ in range(3):
        assert tick(core).failed == ["staff hook"]
        clock.advance(timedelta(minutes=5))
    client = TestClient(create_app(core, secret_key="x" * 40), base_url="http://127.0.0.1", follow_redirects=False)
    sign_in(client, "staff")
    page = client.get("/").text
    assert "Alerts to <strong>staff hook</strong> keep failing (1 waiting" in page
    bearer = {"Authorization": f"Bearer {token_for(core, 'staff', 'script')}"}
    [failing] = client.get("/api/status", headers=bearer).json()["alerts_failing"]
    assert failing["destination"] == "staff hook" and failing["waiting"] == 1
