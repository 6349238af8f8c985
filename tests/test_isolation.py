"""Tests do not inherit what an earlier test left in the process: these two run in this order."""

from __future__ import annotations

from bot.networks.mastodon import adapter


def test_an_earlier_test_leaves_an_instance_remembered_at_a_local_address() -> None:
    adapter._INSTANCES["http://127.0.0.1:40000"] = {"domain": "other.example", "fetched_at": "2999-01-01T00:00:00"}


def test_a_later_test_at_the_same_address_remembers_nothing_of_it() -> None:
    assert adapter._INSTANCES == {}
