from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.queries.reports import preview
from bot.states import Kind, Status
from bot.store.models import CampaignRow, DeliveryRow
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests.conftest import write_campaign


def rows(app, **where):
    with app.sessions() as s:
        stmt = select(DeliveryRow).order_by(DeliveryRow.due_at, DeliveryRow.account_id, DeliveryRow.language)
        for k, v in where.items():
            stmt = stmt.where(getattr(DeliveryRow, k) == v)
        return list(s.scalars(stmt))


def test_plan_makes_one_row_per_slot_account_and_language(make_app, campaigns_dir):
    write_campaign(campaigns_dir)
    app = make_app(horizon_days=2)
    report = plan(app)
    # 2 slots a day x (2 days + 1 day of slack past the horizon) x 2 accounts x 2 languages
    assert report.inserted == 24
    planned = rows(app)
    assert {(d.account_id, d.language) for d in planned} == {("a1", "es"), ("a1", "en"), ("a2", "es"), ("a2", "en")}
    assert all(d.kind == Kind.CALL_TO_ACTION and d.status == Status.PLANNED for d in planned)
    first = planned[0]
    assert first.due_at.isoformat() == "2026-11-30T14:00:00+00:00"  # 09:00 in Lima
    assert (first.account_id, first.language, first.variant) == ("a1", "en", 0)
    assert first.text == "CTA one @CancilleriaPeru Act now https://example.org/ua"


def test_replanning_with_nothing_changed_changes_nothing(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir)
    app = make_app(horizon_days=3)
    plan(app)
    before = [(d.id, d.text, d.due_at) for d in rows(app)]
    again = plan(app)
    assert (again.inserted, again.updated, again.cancelled) == (0, 0, 0)
    assert [(d.id, d.text, d.due_at) for d in rows(app)] == before


def test_rotation_never_repeats_a_text_for_an_account_and_accounts_start_apart(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir)
    app = make_app(horizon_days=7)
    plan(app)
    for account in ("a1", "a2"):
        texts = [d.text for d in rows(app, account_id=account, language="en")]
        assert len(texts) == 16  # 7 days + 1 of slack, twice a day
        assert all(a != b for a, b in zip(texts, texts[1:], strict=False))
    first_a1 = rows(app, account_id="a1", language="en")[0]
    first_a2 = rows(app, account_id="a2", language="en")[0]
    assert first_a1.variant != first_a2.variant


def test_rotation_carries_on_from_the_last_sent_post_as_the_horizon_rolls(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir, extra="grace_minutes = 600")
    app = make_app(horizon_days=1)
    plan(app)
    dispatcher = Dispatcher(app)
    for _ in range(3 * 4):  # three days, posting everything as it comes due (well within the grace)
        clock.advance(timedelta(hours=6))
        plan(app)
        dispatcher.run_once()
    sent = [d.variant for d in rows(app, account_id="a1", language="es", status=Status.SENT)]
    assert len(sent) >= 5
    assert all(a != b for a, b in zip(sent, sent[1:], strict=False))
    assert all(b == (a + 1) % 3 for a, b in zip(sent, sent[1:], strict=False))


def test_editing_the_file_updates_unsent_rows_and_never_sent_ones(make_app, campaigns_dir, clock):
    path = write_campaign(campaigns_dir)
    app = make_app(horizon_days=2)
    plan(app)
    clock.advance(timedelta(hours=1, minutes=1))  # past the first slot (14:00 UTC)
    Dispatcher(app).run_once()
    sent_before = {d.id: d.text for d in rows(app, status=Status.SENT)}
    assert len(sent_before) == 4

    path.write_text(path.read_text().replace("CTA three", "CTA three, edited"), encoding="utf-8")
    report = plan(app)
    assert report.updated > 0
    assert {d.id: d.text for d in rows(app, status=Status.SENT)} == sent_before
    assert any(d.text == "CTA three, edited" for d in rows(app, status=Status.PLANNED))
    assert not any(d.text == "CTA three" for d in rows(app, status=Status.PLANNED))


def test_removing_a_rule_cancels_its_future_rows(make_app, campaigns_dir):
    path = write_campaign(campaigns_dir, schedule='[[schedule]]\nid = "daily"\ncron = "0 9 * * *"\n'
                                                 '[[schedule]]\nid = "evening"\ncron = "0 17 * * *"')
    app = make_app(horizon_days=2)
    plan(app)
    assert rows(app, rule_id="evening")
    path.write_text(path.read_text().replace('[[schedule]]\nid = "evening"\ncron = "0 17 * * *"', ""))
    report = plan(app)
    assert report.cancelled == len(rows(app, rule_id="evening")) > 0
    assert all(d.status == Status.CANCELLED and "no longer" in d.error for d in rows(app, rule_id="evening"))


def test_an_invalid_edit_keeps_the_last_good_version_running(make_app, campaigns_dir, clock):
    path = write_campaign(campaigns_dir)
    write_campaign(campaigns_dir, "other")
    app = make_app(horizon_days=1)
    plan(app)
    count = len(rows(app))
    path.write_text(path.read_text().replace('timezone = "America/Lima"', 'timezone = "Mars/Olympus"'))
    clock.advance(timedelta(days=2))  # past the planned horizon and its slack
    report = plan(app)
    assert any("Mars/Olympus" in str(i) for i in report.issues)
    assert "test" in report.campaigns  # from the database's last good definition
    assert len(rows(app, campaign_id="test")) > count // 2  # the rolling horizon went on for it
    assert len(rows(app, campaign_id="other")) > count // 2


def test_a_file_that_never_loaded_plans_nothing_and_others_go_on(make_app, campaigns_dir):
    write_campaign(campaigns_dir, "broken", timezone='timezone = "Nowhere/Land"')
    write_campaign(campaigns_dir, "good")
    app = make_app(horizon_days=1)
    report = plan(app)
    assert "broken" not in report.campaigns
    assert rows(app, campaign_id="good")
    assert not rows(app, campaign_id="broken")


def test_updates_with_a_time_are_planned_as_replies(make_app, campaigns_dir):
    extra = ('[[messages.update]]\nid = "news"\nat = 2026-12-01T10:00:00\n'
             'text = { es = "Novedad", en = "News" }\n')
    write_campaign(campaigns_dir, messages=__import__("tests.conftest", fromlist=["x"]).campaign_toml()
                   .split("\n\n", 2)[2] + extra)
    app = make_app(horizon_days=3)
    plan(app)
    updates = rows(app, kind="update")
    assert len(updates) == 4
    assert all(u.reply_in_thread and u.due_at.isoformat() == "2026-12-01T15:00:00+00:00" for u in updates)


def test_a_slot_passed_within_the_grace_window_when_the_file_first_loads_is_still_sent(make_app, campaigns_dir,
                                                                                     clock):
    write_campaign(campaigns_dir, extra="grace_minutes = 60")
    clock.advance(timedelta(hours=1, minutes=30))  # 09:30 in Lima: the 09:00 slot passed half an hour ago
    app = make_app(horizon_days=1)
    plan(app)
    assert Dispatcher(app).run_once() == 4
    assert {d.due_at.isoformat() for d in rows(app, status=Status.SENT)} == {"2026-11-30T14:00:00+00:00"}


def test_a_preview_of_a_rule_every_minute_is_not_cut_off_at_twenty_thousand_slots(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir, languages='languages = ["en"]', accounts='accounts = ["a1"]',
                   schedule='[[schedule]]\nid = "often"\ncron = "* * * * *"')
    app = make_app(accounts=("a1",))
    rows_, _ = preview(app, "test", 15)
    assert len(rows_) == 15 * 24 * 60
    assert rows_[-1]["due_at"] > rows_[0]["due_at"]


def test_a_first_plan_across_new_yorks_spring_change_posts_at_three_and_keeps_1_april(make_app, campaigns_dir,
                                                                                     clock):
    write_campaign(campaigns_dir, timezone='timezone = "America/New_York"',
                   schedule='[[schedule]]\nid = "gap"\ncron = "30 2 8 3 *"\n'
                            '[[schedule]]\nid = "monthly"\ncron = "0 0 1 * *"')
    clock.set(datetime(2026, 3, 1, 12, tzinfo=UTC))
    app = make_app(horizon_days=40)
    plan(app)
    assert {d.due_at.isoformat() for d in rows(app, rule_id="gap")} == {"2026-03-08T07:00:00+00:00"}  # 03:00 EDT
    assert {d.due_at.isoformat() for d in rows(app, rule_id="monthly")} == {"2026-04-01T04:00:00+00:00"}


def test_calls_to_action_stop_at_act_by_and_say_the_days_left_on_the_day_they_go_out(make_app, campaigns_dir):
    # act_by 2 December (Lima): 30 Nov, 1 Dec and 2 Dec post; the 3rd, inside the horizon, does not.
    write_campaign(campaigns_dir, languages='languages = ["en"]', accounts='accounts = ["a1"]',
                   extra="act_by = 2026-12-02",
                   messages='[[messages.call_to_action]]\ntext = "{{ days_left }} days left to act by {{ deadline }}"\n'
                            '[messages.closing.success]\ntext = "Thanks"\n'
                            '[messages.closing.no_further_action]\ntext = "Thanks"\n')
    app = make_app(accounts=("a1",), horizon_days=5)
    plan(app)
    planned = rows(app, kind=Kind.CALL_TO_ACTION)
    lima = [(d.due_at - timedelta(hours=5)).strftime("%m-%d %H:%M") for d in planned]
    assert lima == ["11-30 09:00", "11-30 15:00", "12-01 09:00", "12-01 15:00", "12-02 09:00", "12-02 15:00"]
    assert [d.text for d in planned[::2]] == ["2 days left to act by 2 December", "1 days left to act by 2 December",
                                               "0 days left to act by 2 December"]


def test_a_rule_with_from_days_left_posts_only_as_the_deadline_nears(make_app, campaigns_dir):
    write_campaign(campaigns_dir, languages='languages = ["en"]', accounts='accounts = ["a1"]',
                   extra="act_by = 2026-12-04",
                   schedule='[[schedule]]\nid = "daily"\ncron = "0 9 * * *"\n'
                            '[[schedule]]\nid = "final-push"\ncron = "0 15 * * *"\nfrom_days_left = 1')
    app = make_app(accounts=("a1",), horizon_days=6)
    plan(app)
    push = [(d.due_at - timedelta(hours=5)).strftime("%m-%d") for d in rows(app, rule_id="final-push")]
    assert push == ["12-03", "12-04"]
    assert len(rows(app, rule_id="daily")) == 5  # 30 Nov to 4 Dec


def test_rows_of_many_campaigns_inserted_in_batches_are_those_planned_in_one(make_app, campaigns_dir, monkeypatch):
    from bot.planning import planner

    for n in range(5):
        write_campaign(campaigns_dir, cid=f"c{n}")
    app = make_app(horizon_days=2)
    assert plan(app).inserted == 5 * 24
    whole = sorted((d.plan_key, d.due_at, d.text, d.variant, d.text_length, d.length_for) for d in rows(app))
    with app.engine.begin() as conn:  # as if never planned: the same files planned again, 7 rows per insert
        conn.execute(DeliveryRow.__table__.delete())
        conn.execute(CampaignRow.__table__.update().values(planned_hash=None, planned_until=None))
    monkeypatch.setattr(planner, "INSERT_BATCH", 7)
    assert plan(app).inserted == 5 * 24
    assert sorted((d.plan_key, d.due_at, d.text, d.variant, d.text_length, d.length_for) for d in rows(app)) == whole


def test_a_planned_call_to_action_is_the_named_tuple_with_the_defaults_of_its_other_fields():
    from bot.outbox.new import NewDelivery, planned_calls

    now = datetime(2026, 12, 1, tzinfo=UTC)
    at = [now + timedelta(hours=1), now + timedelta(hours=2)]
    for length in (42, None):
        built = planned_calls("c", "a1", "x", "en", now, ["c|r|09:00|a1|en", "c|s|10:00|a1|en"],
                              [(at[0], "r"), (at[1], "s")], [1, 0], [("Text", length, []), ("Other", 7, [{"a": "b"}])])
        assert built == [
            NewDelivery("c|r|09:00|a1|en", "c", "a1", "x", Kind.CALL_TO_ACTION, "en", "Text", at[0], now, now,
                        rule_id="r", variant=1, media=[], text_length=length,
                        length_for=None if length is None else "x"),
            NewDelivery("c|s|10:00|a1|en", "c", "a1", "x", Kind.CALL_TO_ACTION, "en", "Other", at[1], now, now,
                        rule_id="s", variant=0, media=[{"a": "b"}], text_length=7, length_for="x")]
        assert all(type(b) is NewDelivery and b.status == Status.PLANNED for b in built)


def test_a_closing_message_names_a_target_as_the_calls_to_action_did(make_app, campaigns_dir):
    """Found by a review: the stored definition's text had its keys sorted (10f6a69), and a text with no version
    in the campaign's language falls back to the first one written. Calls to action are rendered from the file
    and a closing message from the stored definition: a French campaign whose target is named in Spanish, then
    English, asked "Écrivez à Ministerio del Interior" and thanked "Interior Ministry"."""
    from tests import staff as lifecycle

    (campaigns_dir / "targets.toml").write_text(
        '[interior]\nname = { es = "Ministerio del Interior", en = "Interior Ministry" }\n', encoding="utf-8")
    messages = ('[[messages.call_to_action]]\ntext = "Écrivez à {{ targets[0].name }}"\n'
                '[messages.closing.success]\ntext = "Merci : {{ targets[0].name }} a répondu"\n'
                '[messages.closing.no_further_action]\ntext = "Merci"\n')
    write_campaign(campaigns_dir, languages='languages = ["fr"]', ask='ask = "Agissez"',
                   targets='targets = ["interior"]', hashtags="", messages=messages)
    app = make_app()
    plan(app)
    with app.sessions() as s:
        first = s.scalars(select(DeliveryRow).where(DeliveryRow.kind == Kind.CALL_TO_ACTION)).first()
    assert first is not None and first.text == "Écrivez à Ministerio del Interior"
    lifecycle.close(app, "test", "success", by="ana")
    with app.sessions() as s:
        closings = s.scalars(select(DeliveryRow.text).where(DeliveryRow.kind == Kind.CLOSING)).all()
    assert closings and set(closings) == {"Merci : Ministerio del Interior a répondu"}
