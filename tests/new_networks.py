"""Threads, Telegram and Facebook fakes for tests that run the whole app (the example campaign on six networks,
crashes and restarts, reach): the fakes on 127.0.0.1, their tokens in the environment, and the accounts'
config."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.clock import FakeClock
from tests.contract_harnesses import png_bytes
from tests.fake_facebook import PAGE_ID, FakeFacebook
from tests.fake_facebook import V as FACEBOOK_V
from tests.fake_telegram import FakeTelegram
from tests.fake_threads import FakeThreads
from tests.fake_threads import V as THREADS_V
from tests.httpfake import Response

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = "peru-children-humanitarian-status"
OLD_NETWORKS = ("org_x", "org_mastodon", "org_bluesky")


@dataclass
class Fakes:
    threads: FakeThreads
    telegram: FakeTelegram
    facebook: FakeFacebook

    def config(self) -> str:
        """[accounts.*] for the six accounts of the example campaign: X, Mastodon and Bluesky as console
        accounts (the tests stand FakeNetworks in for them), the three new ones on their fakes."""
        lines = [f'[accounts.{a}]\nnetwork = "console"\n' for a in OLD_NETWORKS]
        lines.append(f'[accounts.org_threads]\nnetwork = "threads"\naccess_token_env = "ORG_THREADS_TOKEN"\n'
                     f'api_base_url = "{self.threads.url}{THREADS_V}"\nimage_base_url = "{self.threads.url}/images"\n')
        lines.append(f'[accounts.org_telegram]\nnetwork = "telegram"\nchannel = "@{self.telegram.channel}"\n'
                     f'bot_token_env = "ORG_TELEGRAM_TOKEN"\napi_base_url = "{self.telegram.url}"\n')
        lines.append(f'[accounts.org_facebook]\nnetwork = "facebook"\npage_id = "{PAGE_ID}"\n'
                     f'page_token_env = "ORG_FACEBOOK_TOKEN"\napi_base_url = "{self.facebook.url}{FACEBOOK_V}"\n')
        return "\n".join(lines)


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> Iterator[Fakes]:
    threads, telegram, facebook = FakeThreads().start(), FakeTelegram().start(), FakeFacebook().start()
    threads.route("GET", r"/images/.+")(lambda req: Response(200, png_bytes(), {"Content-Type": "image/png"}))
    facebook.now = clock.now  # a post is read back by its due time, the test's clock (Threads keeps real time)
    monkeypatch.setenv("ORG_THREADS_TOKEN", threads.token)
    monkeypatch.setenv("ORG_TELEGRAM_TOKEN", telegram.token)
    monkeypatch.setenv("ORG_FACEBOOK_TOKEN", facebook.token)
    try:
        yield Fakes(threads, telegram, facebook)
    finally:
        for fake in (threads, telegram, facebook):
            fake.stop()


def copy_example(campaigns_dir: Path) -> None:
    """The example campaign and its target registry, as the repository has them."""
    for name in (f"{EXAMPLE}.toml", "targets.toml"):
        shutil.copy(REPO / "campaigns" / name, campaigns_dir / name)
