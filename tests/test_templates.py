"""Templates: a field with no value is an error, not a hole; a template cannot exhaust the machine; deadlines."""

from __future__ import annotations

import tomllib
import tracemalloc
from datetime import UTC, date, datetime

import pytest

from bot.campaigns.deadlines import (
    calls_to_action,
    deadline_passed,
    deadline_words,
    rule_active_on,
    slot_allowed,
)
from bot.campaigns.schema import Campaign, Rule, Target
from bot.campaigns.templates import TemplateError, render, render_source
from tests.conftest import campaign_toml

TARGETS = {"cancilleria-peru": Target(name="Ministerio", x="@CancilleriaPeru")}


def campaign(**overrides: str) -> Campaign:
    return Campaign.model_validate(tomllib.loads(campaign_toml(**overrides)))


def render_text(text: str, language: str = "en", network: str = "x", on: date | datetime | None = None,
                **overrides: str) -> str:
    model = campaign(**overrides)
    message = model.messages.call_to_action[0].model_copy(update={"text": text, "networks": {}})
    return render(message, model, TARGETS, language, network, on)


# -- blank fields -------------------------------------------------------------------------------------------

def test_an_ask_missing_its_english_text_is_an_error_naming_the_field_and_the_language():
    with pytest.raises(TemplateError, match=r"^the template uses 'ask', which has no text for 'en' \(add ask.en\)"):
        render_text("Write to them: {{ ask }}.", ask='ask = { es = "Actúe ya" }')


def test_a_template_using_link_when_the_campaign_has_none_is_an_error():
    with pytest.raises(TemplateError, match="'link', which is not set"):
        render_text("Act: {{ link }}", link="")


def test_a_template_using_reference_when_the_campaign_has_none_is_an_error():
    with pytest.raises(TemplateError, match="'reference', which is not set"):
        render_text("{{ reference }}: act now", reference="")


def test_hashtags_with_no_tags_for_the_language_are_an_error():
    with pytest.raises(TemplateError, match="'hashtags', which has no tags for 'en'"):
        render_text("Act {{ hashtags }}", hashtags='hashtags = { es = ["Peru"] }')


def test_a_template_may_do_without_a_blank_field_when_it_says_so():
    assert render_text("Act now{% if link %} {{ link }}{% endif %}.", link="") == "Act now."
    assert render_text("{{ reference | default('Urgent') }}: act", reference="") == "Urgent: act"


def test_a_filled_template_still_renders_every_field():
    text = render_text("{{ reference }} {{ ask }} {{ hashtags }} {{ link }} {{ targets[0].mention }}")
    assert text == "UA 1/26 Act now #Peru https://example.org/ua @CancilleriaPeru"


def test_a_localised_target_name_is_written_in_the_language_of_the_post():
    model = campaign()
    message = model.messages.call_to_action[0].model_copy(update={"text": "{{ targets[0].name }}"})
    targets = {"cancilleria-peru": Target(name={"es": "Cancillería", "en": "Foreign Ministry"})}
    assert render(message, model, targets, "en", "x") == "Foreign Ministry"
    assert render(message, model, targets, "es", "x") == "Cancillería"


# -- a template cannot exhaust the machine ------------------------------------------------------------------

HOSTILE = {
    "repeated string": "{{ 'a' * 100000000 }}",
    "repeated list": "{{ [1] * 100000000 }}",
    "huge range": "{% for i in range(100000000) %}x{% endfor %}",
    "nested loops": "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
    "loops over a repeated string": "{% for c in 'abcdefghij' * 1000 %}{% for d in 'abcdefghij' * 1000 %}"
                                    "{% endfor %}{% endfor %}",
    "wide filter": "{{ 'a' | center(100000000) }}",
    "wide method": "{{ 'a'.ljust(100000000) }}",
    "percent width": "{{ '%99999999s' % 'a' }}",
    "format width": "{{ '{:>99999999}'.format('a') }}",
    "format filter width": "{{ '%99999999s' | format('a') }}",
    "huge power": "{{ 2 ** 100000000 }}",
    "doubling": "{% set ns = namespace(x='ab') %}{% for i in range(40) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}"
                "{{ ns.x }}",
    "replace blow-up": "{% set x = 'abcdefghij' %}{{ x | replace('a', x * 900) | replace('b', x * 900) }}",
    "long output": "{% for i in range(1000) %}{{ 'abcdefghijklmnopqrstuvwxyz' }}{% endfor %}",
}


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_template_cannot_build_more_than_a_post_can_hold(source):
    tracemalloc.start()
    try:
        with pytest.raises(TemplateError) as caught:
            render_source(source, {"ask": "Act"})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "\n" not in str(caught.value)
    assert peak < 5_000_000, f"rendering took {peak:,} bytes"


def test_the_limits_leave_ordinary_templates_alone():
    source = ("{% for t in targets %}{{ t }} {% endfor %}{{ ask | upper }} {{ '%s%%' % 100 }} "
              "{{ '{} left'.format(3) }} {{ ('x' * 3) ~ '!' }} {{ 'abc' | replace('b', 'B') }}")
    assert render_source(source, {"ask": "act", "targets": ["@A", "@B"]}) == "@A @B ACT 100% 3 left xxx! aBc"


# -- deadlines ----------------------------------------------------------------------------------------------

def test_the_deadline_is_written_the_way_each_language_writes_a_date():
    assert deadline_words(date(2026, 12, 5), "en") == "5 December"
    assert deadline_words(date(2026, 12, 5), "es") == "5 de diciembre"
    assert deadline_words(date(2026, 12, 5), "zh") == "12月5日"
    assert deadline_words(date(2026, 12, 5), "pt-BR") == "5 de dezembro"


def test_deadline_and_days_left_render_for_the_day_each_post_goes_out():
    extra = "act_by = 2026-12-05"
    source = "Act by {{ deadline }}: {{ days_left }} days left"
    assert render_text(source, on=date(2026, 11, 30), extra=extra) == "Act by 5 December: 5 days left"
    assert render_text(source, "es", on=date(2026, 12, 4), extra=extra) == "Act by 5 de diciembre: 1 days left"
    # 03:00 UTC on 5 December is still the 4th in Lima: the slot's local date counts.
    assert render_text(source, on=datetime(2026, 12, 5, 3, tzinfo=UTC), extra=extra).endswith(": 1 days left")


def test_a_template_using_the_deadline_without_act_by_is_an_error():
    with pytest.raises(TemplateError, match="'days_left', which needs act_by"):
        render_text("{{ days_left }} days left")


def test_a_rule_posts_more_often_as_the_deadline_nears():
    calm = Rule(id="calm", cron="0 9 * * *", until_days_left=3)
    urgent = Rule(id="urgent", cron="0 9,12,16 * * *", from_days_left=3)
    act_by = date(2026, 12, 10)
    days = [date(2026, 12, d) for d in range(5, 13)]
    assert [d.day for d in days if rule_active_on(calm, d, act_by)] == [5, 6]
    assert [d.day for d in days if rule_active_on(urgent, d, act_by)] == [7, 8, 9, 10]
    plain = Rule(id="plain", cron="0 9 * * *")
    assert [d.day for d in days if rule_active_on(plain, d, act_by)] == [5, 6, 7, 8, 9, 10]
    assert all(rule_active_on(plain, d, None) for d in days)


def test_calls_to_action_stop_at_act_by_and_the_campaign_stays_open():
    model = campaign(extra="act_by = 2026-12-05")  # a date: acting all that day (Lima) counts
    rule = model.schedule[0]
    assert slot_allowed(model, rule, datetime(2026, 12, 6, 4, 59, tzinfo=UTC))  # 23:59 on the 5th in Lima
    assert not slot_allowed(model, rule, datetime(2026, 12, 6, 5, 0, tzinfo=UTC))
    assert deadline_passed(model, datetime(2026, 12, 6, 5, 0, tzinfo=UTC))
    assert model.status == "active"
    timed = campaign(extra="act_by = 2026-12-05T18:00:00")
    assert slot_allowed(timed, rule, datetime(2026, 12, 5, 22, 59, tzinfo=UTC))
    assert not slot_allowed(timed, rule, datetime(2026, 12, 5, 23, 0, tzinfo=UTC))


def test_the_planner_helper_keeps_only_slots_before_the_deadline_and_in_their_rules_window():
    from bot.campaigns.schedule import campaign_slots

    model = campaign(extra="act_by = 2026-12-05", schedule='[[schedule]]\nid = "calm"\ncron = "0 9 * * *"\n'
                     'until_days_left = 2\n[[schedule]]\nid = "urgent"\ncron = "0 9,15 * * *"\nfrom_days_left = 2')
    slots = campaign_slots(model, datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 9, tzinfo=UTC))
    kept = [(s.rule_id, s.local_key) for s in calls_to_action(model, slots)]
    assert kept == [("calm", "2026-12-01T09:00"), ("calm", "2026-12-02T09:00"),
                    ("urgent", "2026-12-03T09:00"), ("urgent", "2026-12-03T15:00"),
                    ("urgent", "2026-12-04T09:00"), ("urgent", "2026-12-04T15:00"),
                    ("urgent", "2026-12-05T09:00"), ("urgent", "2026-12-05T15:00")]
    assert calls_to_action(campaign(), slots) == slots


def test_a_template_naming_a_target_the_campaign_does_not_have_says_so():
    with pytest.raises(TemplateError, match=r"^the template uses an item the list does not have .*no element 1"):
        render_text("{{ targets[1].mention }}: act")


# -- plain templates, rendered without Jinja -------------------------------------------------------------------

PLAIN = [
    "Case 7: {{ targets[0].mention }}, {{ ask }} {{ link }}",
    "{{targets[0].name}} ({{ targets[0].role }}) {{ title }}\n\nSecond line {{ hashtags }}",
    "No fields at all { not one } }} here",
    "  {{ ask }}  ",
    "{{ targets[1].mention }} is not there",
    "{{ reference }} is blank",
    "{{ targets[0].nope }} is no field of a target",
    "{{ unknown }} is a typo",
    "{{ targets.0 }} is Jinja's business",
    "Windows\r\nline ends {{ ask }}",
    "{% if link %}{{ link }}{% endif %} {{ ask | upper }}",
    "{{ days_left }} days",
]


def _jinja_only(source: str, ctx: dict[str, object]) -> str:
    from bot.campaigns import templates
    from bot.campaigns.sandbox import render_bounded

    try:
        return render_bounded(templates._compile(source), ctx).strip()
    except Exception as exc:  # noqa: BLE001 - compared with what render_source says
        return f"error: {type(exc).__name__}"


@pytest.mark.parametrize("source", PLAIN)
def test_a_template_of_plain_fields_renders_exactly_as_jinja_renders_it(source):
    from bot.campaigns.templates import context

    model = campaign(ask='ask = { en = "Release {them} now" }', hashtags='hashtags = ["#free", "now"]')
    ctx = context(model, TARGETS, "en", "x", date(2026, 12, 1))
    try:
        ours = render_source(source, ctx)
    except TemplateError:
        ours = None
    expected = _jinja_only(source, ctx)
    if ours is None:
        assert expected.startswith("error:")
    else:
        assert ours == expected


def test_the_common_templates_are_rendered_without_compiling_them():
    from bot.campaigns.templates import _render_plain, context

    ctx = context(campaign(), TARGETS, "en", "x", date(2026, 12, 1))
    assert _render_plain(PLAIN[0], ctx) == "Case 7: @CancilleriaPeru, Act now https://example.org/ua"
    assert _render_plain("{% if link %}{{ link }}{% endif %}", ctx) is None
