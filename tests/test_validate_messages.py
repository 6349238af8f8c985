"""What `validate` says: every problem in one line naming file and field, in words a newcomer can act on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.campaigns.loader import campaign_files
from bot.campaigns.texts import MAX_FILE_BYTES, MAX_TEXT
from bot.campaigns.validate import load_campaigns
from bot.cli import cli
from bot.config.settings import load_config
from tests.conftest import campaign_toml, write_campaign

NOW = datetime(2026, 11, 30, 13, tzinfo=UTC)
MESSAGES_TAIL = """[[messages.call_to_action]]
text = { es = "CTA dos", en = "CTA two" }
[messages.closing.success]
text = "Gracias"
[messages.closing.no_further_action]
text = "Nada más"
"""


@pytest.fixture
def config(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[accounts.a1]\nnetwork = "console"\n[accounts.a2]\nnetwork = "console"\n')
    return load_config(cfg)


def errors(config, path: Path) -> list[str]:
    result = load_campaigns(config, NOW, [path])
    lines = [str(i) for i in result.errors]
    assert all("\n" not in line for line in lines), lines
    return lines


def one_message(text: str) -> str:
    return f"[[messages.call_to_action]]\n{text}\n" + MESSAGES_TAIL


# -- blank fields and texts ---------------------------------------------------------------------------------

def test_validate_refuses_an_ask_missing_a_language_naming_field_and_language(config, campaigns_dir):
    path = write_campaign(campaigns_dir, ask='ask = { es = "Actúe ya" }',
                          messages=one_message('text = { es = "Pida: {{ ask }}", en = "Write: {{ ask }}." }'))
    lines = errors(config, path)
    assert any("messages.call_to_action[0].text.en: (en, console)" in line and "'ask'" in line and "'en'" in line
               for line in lines), lines


def test_validate_refuses_a_template_using_a_link_the_campaign_does_not_have(config, campaigns_dir):
    path = write_campaign(campaigns_dir, link="", messages=one_message('text = "Act: {{ link }}"'))
    assert any("'link', which is not set" in line for line in errors(config, path))


def test_a_hashtag_containing_a_space_is_an_error(config, campaigns_dir):
    path = write_campaign(campaigns_dir, hashtags='hashtags = ["Free Awa"]')
    assert any("hashtags: hashtag 'Free Awa' contains a space" in line and "'FreeAwa'" in line
               for line in errors(config, path))


def test_a_text_for_a_language_the_campaign_does_not_post_in_is_an_error(config, campaigns_dir):
    path = write_campaign(campaigns_dir, languages='languages = ["fr", "en"]', ask='ask = "Agissez"',
                          messages=one_message('text = { fr = "Agissez {{ ask }}", en = "Act {{ ask }}", '
                                               'de = "Handeln {{ ask }}" }'))
    assert any("messages.call_to_action[0].text.de: 'de' is not one of the campaign's languages (fr, en)" in line
               for line in errors(config, path))


# -- length errors say what is counted ----------------------------------------------------------------------

@pytest.fixture
def every_network(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[accounts.a1]\nnetwork = "console"\n[accounts.a2]\nnetwork = "console"\n')
    return load_config(cfg)


def test_an_x_variant_over_the_limit_gives_its_weighted_length_and_names_the_variant(every_network, campaigns_dir):
    chinese = "请立即释放" * 60  # 300 CJK characters weigh 600
    path = write_campaign(campaigns_dir, languages='languages = ["es", "en", "zh"]', ask='ask = "释放"',
                          hashtags='hashtags = ["Free"]',
                          messages=one_message(f'text = "{{{{ ask }}}}"\nnetworks.x.zh = "{chinese}"'))
    lines = errors(every_network, path)
    assert any("messages.call_to_action[0].networks.x.zh: (zh, x) weighted length 600/280" in line
               and "320 over" in line for line in lines), lines


def test_a_bluesky_variant_counts_graphemes(every_network, campaigns_dir):
    path = write_campaign(campaigns_dir, messages=one_message(
        'text = "{{ ask }}"\nnetworks.bluesky = "' + "👍🏽" * 301 + '"'))
    lines = errors(every_network, path)
    assert any("networks.bluesky: (en, bluesky) 301/300 graphemes" in line for line in lines), lines


def test_a_bluesky_text_within_300_graphemes_but_over_3000_bytes_is_an_error(every_network, campaigns_dir):
    family = "👨‍👩‍👧‍👦"  # one grapheme, 25 bytes
    path = write_campaign(campaigns_dir, messages=one_message(
        'text = "{{ ask }}"\nnetworks.bluesky = "' + family * 130 + '"'))
    lines = errors(every_network, path)
    assert any("(en, bluesky) 3,250/3,000 bytes of UTF-8" in line for line in lines), lines


def test_a_mastodon_variant_counts_characters_with_links_as_23(every_network, campaigns_dir):
    path = write_campaign(campaigns_dir, messages=one_message(
        'text = "{{ ask }}"\nnetworks.mastodon.en = "' + "a" * 490 + ' {{ link }}"\nnetworks.mastodon.es = "b"'))
    lines = errors(every_network, path)
    assert any("networks.mastodon.en: (en, mastodon) 514/500 characters (Mastodon counts a link as 23" in line
               for line in lines), lines


# -- wording ------------------------------------------------------------------------------------------------

def test_a_quiet_hour_written_8pm_asks_for_hh_mm(config, campaigns_dir):
    path = write_campaign(campaigns_dir, extra='quiet_hours = { start = "8pm", end = "08:00" }')
    assert any("quiet_hours.start: '8pm' is not a time of day: write HH:MM" in line for line in errors(config, path))


def test_no_accounts_says_so_in_plain_words(config, campaigns_dir):
    path = write_campaign(campaigns_dir, accounts="accounts = []")
    lines = errors(config, path)
    assert any("accounts: no accounts: list at least one account id" in line for line in lines), lines
    assert not any("List should have" in line for line in lines)


def test_a_localised_target_name_works_and_an_invalid_target_gives_no_knock_on(config, campaigns_dir):
    (campaigns_dir / "targets.toml").write_text(
        '[cancilleria-peru]\nname = { es = "Cancillería", en = "Foreign Ministry" }\n')
    path = write_campaign(campaigns_dir)
    assert errors(config, path) == []
    (campaigns_dir / "targets.toml").write_text('[cancilleria-peru]\nname = ""\n')
    lines = [str(i) for i in load_campaigns(config, NOW, [path]).errors]
    assert any("targets[0]: target 'cancilleria-peru' is invalid in targets.toml" in line for line in lines), lines
    assert not any("unknown target" in line for line in lines)


def test_an_unterminated_string_is_named_with_file_and_line(config, campaigns_dir):
    path = campaigns_dir / "broken.toml"
    path.write_text('title = "Free Awa\nreference = "UA 1"\n')
    assert errors(config, path) == [f"{path}:1: not valid TOML: unterminated string: a quote is not closed on its line"]


@pytest.mark.parametrize("text, key, line", [
    ('title = "a"\ntitle = "b"\n', "title", 2),
    ('[ask]\nen = "a"\nes = "b"\nen = "c"\n', "ask.en", 4),
    ('[[messages.call_to_action]]\ntext.es = "a"\ntext.es = "b"\n', "messages.call_to_action.text.es", 3),
])
def test_a_duplicated_key_is_named(config, campaigns_dir, text, key, line):
    path = campaigns_dir / "broken.toml"
    path.write_text(text)
    assert any(f"{path}:{line}: not valid TOML: {key!r} is set twice" in msg for msg in errors(config, path))


def test_a_config_toml_in_the_campaigns_folder_is_not_a_campaign(campaigns_dir):
    write_campaign(campaigns_dir)
    (campaigns_dir / "config.toml").write_text('[accounts.a1]\nnetwork = "console"\n')
    assert [p.name for p in campaign_files(campaigns_dir)] == ["test.toml"]


def test_validate_accepts_a_folder(tmp_path, campaigns_dir, monkeypatch):
    write_campaign(campaigns_dir)
    (campaigns_dir / "config.toml").write_text('[accounts.a1]\nnetwork = "console"\n')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate", "campaigns"])
    assert result.exit_code == 0, result.output
    assert "1 campaign(s) valid, 0 invalid" in result.output


# -- absurd sizes are refused early, in one line ------------------------------------------------------------

def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(config, campaigns_dir):
    path = campaigns_dir / "huge.toml"
    path.write_text(campaign_toml(ask='ask = "' + "a" * MAX_FILE_BYTES + '"'))
    assert errors(config, path) == [f"{path}: the file is 257 kB; a campaign file may be at most 256 kB"]


def test_a_field_over_the_size_limit_is_refused_without_rendering(config, campaigns_dir):
    path = write_campaign(campaigns_dir, ask='ask = { es = "Actúe", en = "' + "a" * (MAX_TEXT + 1) + '" }')
    assert errors(config, path) == [f"{path}: ask.en: 10,001 characters; a text may have at most 10,000 "
                                    "(every network's limit is far shorter)"]


def test_too_many_variants_are_refused_in_one_line(config, campaigns_dir):
    variants = '[[messages.call_to_action]]\ntext = "x {{ ask }}"\n' * 101
    path = write_campaign(campaigns_dir, messages=variants + MESSAGES_TAIL.split("\n", 2)[2])
    assert errors(config, path) == [f"{path}: messages.call_to_action: 101 messages; a campaign may have at most 100"]


def test_a_hostile_template_fails_validate_with_one_line(config, campaigns_dir):
    path = write_campaign(campaigns_dir, messages=one_message("text = \"{{ 'a' * 100000000 }}\""))
    lines = errors(config, path)
    assert any("messages.call_to_action[0].text: (en, console) the template builds a value of 100,000,000" in line
               for line in lines), lines


def test_validate_says_when_the_deadline_has_passed_and_the_campaign_stays_valid(config, campaigns_dir):
    path = write_campaign(campaigns_dir, extra="act_by = 2026-11-01")
    result = load_campaigns(config, NOW, [path])
    assert result.errors == [] and "test" in result.campaigns
    assert any(i.field == "act_by" and "the deadline has passed" in i.message for i in result.issues)


def test_a_template_using_the_deadline_renders_in_validate_when_act_by_is_set(config, campaigns_dir):
    text = ('text = { es = "Hasta el {{ deadline }}: {{ ask }}", '
            'en = "By {{ deadline }}, {{ days_left }} days: {{ ask }}" }')
    path = write_campaign(campaigns_dir, extra="act_by = 2026-12-05", messages=one_message(text))
    assert errors(config, path) == []
    path = write_campaign(campaigns_dir, messages=one_message(text))
    assert any("'deadline', which needs act_by" in line for line in errors(config, path))


@pytest.mark.parametrize("value, shown", [('"tomorrow"', "'tomorrow'"), ("5", "5")])
def test_an_act_by_that_is_not_a_date_says_how_to_write_one_in_one_line(config, campaigns_dir, value, shown):
    path = write_campaign(campaigns_dir, extra=f"act_by = {value}")
    assert errors(config, path) == [f"{path}: act_by: {shown} is not a date: write 2026-12-05, or "
                                    "2026-12-05T18:00:00 for a time too"]


def test_a_quiet_hour_written_as_a_number_is_not_read_as_seconds(config, campaigns_dir):
    path = write_campaign(campaigns_dir, extra='quiet_hours = { start = 20, end = "08:00" }')
    assert any("quiet_hours.start: 20 is not a time of day" in line for line in errors(config, path))
