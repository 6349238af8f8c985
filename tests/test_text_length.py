"""Lengths as each network counts them."""

import pytest
import yaml
from twitter_text.config import config as twitter_config

from bot.networks.bluesky.adapter import BlueskyNetwork
from bot.networks.mastodon.adapter import mastodon_length
from bot.networks.x.adapter import is_valid_post, weighted_length
from bot.networks.x.text import MAX_WEIGHTED
from tests.conftest import SHARED, shared

CONFORMANCE_FILE = "conformance/twitter-text/validate.yml"
CONFORMANCE = SHARED / CONFORMANCE_FILE
# As in twitter-text's own suites: the first section is checked under config v2 (emoji not discounted), the
# others under v3, the configuration X uses and our default.
SECTIONS = {"WeightedTweetsCounterTest": {**twitter_config["version2"], "emoji_parsing_enabled": False},
            "WeightedTweetsWithDiscountedEmojiCounterTest": twitter_config["version3"],
            "UnicodeDirectionalMarkerCounterTest": twitter_config["version3"]}


def conformance_cases():
    if not CONFORMANCE.exists():  # the test then skips, or fails under CI=true
        return [pytest.param(None, None, id="conformance-file-missing")]
    tests = yaml.safe_load(CONFORMANCE.read_text(encoding="utf-8"))["tests"]
    return [pytest.param(case, config, id=f"{section}:{case['description']}")
            for section, config in SECTIONS.items() for case in tests[section]]


@pytest.mark.parametrize(("case", "config"), conformance_cases())
def test_x_length_matches_twitter_texts_official_conformance_cases(case, config):
    shared(CONFORMANCE_FILE)
    assert weighted_length(case["text"], config) == case["expected"]["weightedLength"]
    assert is_valid_post(case["text"], config) == case["expected"]["valid"]


def test_the_conformance_file_has_the_cases_we_rely_on():
    shared(CONFORMANCE_FILE)
    assert len(conformance_cases()) >= 40


def test_x_counts_a_url_as_23_and_emoji_and_cjk_as_2():
    assert weighted_length("a https://example.org/" + "x" * 200) == 2 + 23
    assert weighted_length("👍🏽") == 2
    assert weighted_length("の") == 2
    assert MAX_WEIGHTED == 280


def test_mastodon_counts_urls_as_reserved_length_and_mentions_by_username():
    url = "https://www.amnesty.org.uk/urgent-actions/refugee-children-granted-regular-status"
    assert mastodon_length(url) == 23
    assert mastodon_length(url, url_length=30) == 30
    assert mastodon_length("@CancilleriaPeru@mastodon.social hola") == len("@CancilleriaPeru hola")
    assert mastodon_length("👨‍👩‍👧 niñez") == 7  # one family emoji is one character


def test_bluesky_counts_graphemes():
    assert BlueskyNetwork.measure("🇵🇪 Perú") == 6
    assert BlueskyNetwork.measure("e\u0301") == 1
