"""`[[alerts]]` and `[alerts_settings]`: one clear line per mistake, never a secret's value; documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config.alerts import ALL_EVENTS, AlertSettings
from bot.config.settings import load_config
from bot.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
SECRET = "hunter2-very-secret"


def config_with(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[bot]\ndatabase_url = "sqlite:///{tmp_path}/b.db"\n{body}', encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_a_destination_hears_every_event_by_default_and_the_settings_have_defaults(tmp_path):
    config = load_config(config_with(tmp_path, '[[alerts]]\nurl = "json://127.0.0.1:9/hook"\n'))
    [dest] = config.alerts
    assert dest.events == ALL_EVENTS and dest.key == dest.label == "json://127.0.0.1:9"
    assert config.alerts_settings == AlertSettings()
    assert config.alerts_settings.worker_down_after == timedelta(minutes=2)
    assert load_config(config_with(tmp_path, "")).alerts == []


def test_settings_read_durations_and_the_base_url(tmp_path):
    config = load_config(config_with(tmp_path, '[alerts_settings]\nworker_down_after = "90s"\n'
                                               'base_url = "https://bot.example.org/"\ninterval_seconds = 5\n'))
    s = config.alerts_settings
    assert (s.worker_down_after, s.base_url, s.interval_seconds) == (timedelta(seconds=90),
                                                                    "https://bot.example.org", 5)


def test_without_a_base_url_alerts_link_to_the_web_apps_public_url(tmp_path):
    config = load_config(config_with(tmp_path, '[amplify]\npublic_url = "https://kit.example.org/"\n'))
    assert config.alerts_settings.base_url == "https://kit.example.org"
    config = load_config(config_with(tmp_path, '[amplify]\npublic_url = "https://kit.example.org"\n'
                                               '[alerts_settings]\nbase_url = "https://staff.example.org"\n'))
    assert config.alerts_settings.base_url == "https://staff.example.org"


def test_apprise_log_lines_never_reach_the_console(tmp_path):
    # Apprise logs an unparseable URL with its user and the ends of its password ("bogus://carol:l...3@host"):
    # a user saw it under the one-line error. Only our line is printed.
    path = config_with(tmp_path, '[[alerts]]\nurl_env = "CAMPAIGN_BOT_TEST_ALERT"\n')
    env = {**os.environ, "CAMPAIGN_BOT_TEST_ALERT": "bogus://carol:letmein123@host/x"}
    done = subprocess.run([sys.executable, "-m", "bot", "validate", "--config", str(path), str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert done.returncode == 1
    assert "url_env" in done.stderr and "carol" not in done.stderr + done.stdout, done.stderr
    assert [line for line in done.stderr.splitlines() if line.strip()] == [done.stderr.strip()], done.stderr


def test_an_unknown_event_is_named(tmp_path):
    path = config_with(tmp_path, '[[alerts]]\nurl = "json://h/x"\nevents = ["worker_down", "delivery_faild"]\n')
    assert re.search(r"config\.toml: alerts\[1\]\.events: unknown event 'delivery_faild' \(known: ", error_of(path))


def test_a_missing_variable_is_named(tmp_path):
    path = config_with(tmp_path, '[[alerts]]\nurl_env = "CAMPAIGN_BOT_NO_SUCH_ALERT_URL"\n')
    assert error_of(path).endswith("alerts[1].url_env: the environment variable $CAMPAIGN_BOT_NO_SUCH_ALERT_URL "
                                   "(or $CAMPAIGN_BOT_NO_SUCH_ALERT_URL_FILE) is not set")


def test_a_bad_url_from_the_environment_is_refused_without_quoting_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ALERT_URL", f"nosuchservice://user:{SECRET}@host/{SECRET}")
    message = error_of(config_with(tmp_path, '[[alerts]]\nurl_env = "ALERT_URL"\n'))
    assert "alerts[1].url_env (the URL in $ALERT_URL): not a URL Apprise can send to" in message
    assert SECRET not in message


def test_a_url_from_a_file_named_by_the_variable_is_read(tmp_path, monkeypatch):
    secret_file = tmp_path / "alert-url"
    secret_file.write_text("json://127.0.0.1:9/hook\n", encoding="utf-8")
    monkeypatch.setenv("ALERT_URL_FILE", str(secret_file))
    [dest] = load_config(config_with(tmp_path, '[[alerts]]\nurl_env = "ALERT_URL"\n')).alerts
    assert dest.url == "json://127.0.0.1:9/hook" and dest.label == "$ALERT_URL"
    assert "json://" not in repr(dest)


@pytest.mark.parametrize(("body", "expected"), [
    ('[[alerts]]\nurl = "json://h/x"\nurl_env = "X"\n', "alerts[1]: give exactly one of url or url_env"),
    ('[[alerts]]\nurl = "json://h/x"\nurls = 1\n', "alerts[1]: unknown key(s) urls"),
    ('[[alerts]]\nurl = "json://h/x"\n[[alerts]]\nurl = "json://h/y"\n',
     "alerts[2]: a second destination called 'json://h': give each a distinct name"),
    ('[alerts_settings]\nworker_down_after = "soon"\n', "alerts_settings.worker_down_after: use a duration"),
    ('[alerts_settings]\nbase_url = "bot.example.org"\n', "alerts_settings.base_url: the web app's address"),
    ('[alerts_settings]\nworker_down_after = "2s"\n', "alerts_settings.worker_down_after: at least 5s"),
    ('[alerts]\nurl = "json://h/x"\n', "alerts: write each destination as an [[alerts]] table"),
])
def test_mistakes_are_one_line_naming_the_field(tmp_path, body, expected):
    message = error_of(config_with(tmp_path, body))
    assert expected in message and "\n" not in message


def test_the_example_config_s_alerts_are_valid_once_uncommented(tmp_path, monkeypatch):
    example = (REPO / "config.example.toml").read_text(encoding="utf-8")
    start = example.index("# [[alerts]]")
    alerts = "\n".join(line.removeprefix("# ") for line in example[start:].splitlines())
    monkeypatch.setenv("CAMPAIGN_BOT_ALERT_MAIL", "mailtos://user:pw@smtp.example.org?to=staff@example.org")
    config = load_config(config_with(tmp_path, alerts))
    assert [d.label for d in config.alerts] == ["json://alerts.example.org", "staff mail"]
    assert config.alerts_settings.base_url == "https://bot.example.org"


def test_every_alert_setting_and_event_is_documented_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in [*AlertSettings.__dataclass_fields__, *ALL_EVENTS, "url", "url_env", "events", "name"]:
        assert f"`{name}`" in readme, name
    assert "campaign-bot alerts test" in readme


def test_a_dry_run_alerts_nobody(tmp_path):
    path = config_with(tmp_path, '[[alerts]]\nurl = "json://127.0.0.1:9/hook"\n')
    assert load_config(path, dry_run=True).alerts == []
