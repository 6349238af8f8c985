"""Runs `campaign-bot` in a child process for fault tests, with X's hard-coded hosts sent to a local fake
(the same transport-adapter mount the in-process X tests use). Usage: python tests/worker.py FAKE_X_URL ARGS..."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from tests.fake_networks import RedirectAdapter  # noqa: E402

FAKE_X = sys.argv.pop(1)
_init = requests.Session.__init__


def _session_init(self: requests.Session) -> None:
    _init(self)
    for host in ("https://api.twitter.com", "https://upload.twitter.com"):
        self.mount(host, RedirectAdapter(FAKE_X, timeout=5))


requests.Session.__init__ = _session_init  # type: ignore[method-assign]

from bot.cli import main  # noqa: E402

main()
