"""The example campaign on six networks: X, Mastodon and Bluesky (recording fakes) and Threads, Telegram and
Facebook through their adapters against their local fakes: posts, the closing thread, lengths as each service
counts, budgets and reach."""

from __future__ import annotations

import textwrap
from datetime import timedelta

from bot.campaigns.validate import load_campaigns
from bot.networks.budgets import BudgetWindow
from bot.reach.collect import collect
from bot.reach.report import report
from bot.states import Kind, Status
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import START, deliveries
from tests.fakes import FakeNetwork
from tests.new_networks import EXAMPLE, OLD_NETWORKS, copy_example, fakes  # noqa: F401 - the fixture

__all__ = ["fakes"]
NEW = ("org_threads", "org_telegram", "org_facebook")


def six(make_app, campaigns_dir, fakes, targets: str | None = None):
    copy_example(campaigns_dir)
    if targets is not None:
        (campaigns_dir / "targets.toml").write_text(targets, encoding="utf-8")
    app = make_app(networks={a: FakeNetwork(a) for a in OLD_NETWORKS}, accounts=(), config_extra=fakes.config())
    plan(app)
    return app


def test_the_example_campaign_posts_on_six_networks_and_closes_each_thread_with_a_reply(make_app, campaigns_dir,
                                                                                        clock, fakes):
    app = six(make_app, campaigns_dir, fakes)
    clock.advance(timedelta(hours=1, minutes=15))  # 09:15 in Lima: the first slot, jitter included
    assert Dispatcher(app).run_once() == 12  # six accounts, two languages
    sent = {(d.account_id, d.language): d for d in deliveries(app, status=Status.SENT)}
    assert {a for a, _ in sent} == {*OLD_NETWORKS, *NEW}
    threads = {m["text"]: m for m in fakes.threads.posts()}
    telegram = {m["text"]: m for m in fakes.telegram.posted()}
    facebook = {p["message"]: p for p in fakes.facebook.posts.values()}
    for language in ("es", "en"):
        assert threads[sent[("org_threads", language)].text]["id"] == sent[("org_threads", language)].remote_id
        assert "#Perú" not in sent[("org_threads", language)].text  # its variant: one topic tag
        assert str(telegram[sent[("org_telegram", language)].text]["message_id"]) == \
            sent[("org_telegram", language)].remote_id
        assert facebook[sent[("org_facebook", language)].text]["id"] == sent[("org_facebook", language)].remote_id
        assert facebook[sent[("org_facebook", language)].text]["link"].startswith("https://www.amnesty.org.uk/")
    assert all(d.remote_url and d.remote_url.startswith("https://") for (a, _), d in sent.items() if a in NEW)

    lifecycle.close(app, EXAMPLE, "success", "ana")
    clock.advance(timedelta(minutes=1))
    assert Dispatcher(app).run_once() == 12
    closing = {(d.account_id, d.language): d for d in deliveries(app, kind=Kind.CLOSING, status=Status.SENT)}
    for language in ("es", "en"):
        cta = sent[("org_threads", language)].remote_id
        reply = next(m for m in fakes.threads.posts() if m["id"] == closing[("org_threads", language)].remote_id)
        assert reply["reply_to"] == cta and ("4.244" in reply["text"] or "4,244" in reply["text"])
        message = next(m for m in fakes.telegram.posted()
                       if str(m["message_id"]) == closing[("org_telegram", language)].remote_id)
        assert str(message["reply_to_message"]["message_id"]) == sent[("org_telegram", language)].remote_id
        comment = fakes.facebook.comments[closing[("org_facebook", language)].remote_id]
        assert comment["parent"] == sent[("org_facebook", language)].remote_id
    assert len(fakes.facebook.posts) == 2  # the thanks went as comments, not posts


def test_lengths_and_budgets_are_each_services(make_app, campaigns_dir, clock, fakes):
    app = six(make_app, campaigns_dir, fakes)
    result = load_campaigns(app.config, clock.now())
    assert [i for i in result.issues if i.severity == "error"] == []
    assert [str(i) for i in result.issues if "threads" in str(i)] == []  # its variants have one topic tag each
    limits = {app.network(a).kind: app.network(a).limit() for a in NEW}
    assert limits == {"threads": 500, "telegram": 4096, "facebook": 63_206}
    family = "👩‍👩‍👧"  # a family emoji: Threads counts its 18 bytes of UTF-8, Telegram its 5 code points
    assert app.network("org_threads").length(f"Free them {family}") == 10 + 18
    assert app.network("org_telegram").length(f"Free them {family}") == 10 + 5
    assert app.accounts.budget("org_threads") == (BudgetWindow(limit=250, per_seconds=86400),)
    assert app.accounts.budget("org_telegram")[0].describe() == "20 posts per 1 min"
    assert app.accounts.budget("org_facebook")[0].describe() == "25 posts per 1 h"


def test_reach_reads_threads_insights_and_facebook_reactions_and_says_telegram_has_no_counts(
        make_app, campaigns_dir, clock, fakes):
    app = six(make_app, campaigns_dir, fakes, targets=(
        '[cancilleria-peru]\nname = "Ministerio"\nthreads = "@cancilleriaperu"\nfacebook = "@CancilleriaPeru"\n'
        'postal = "Jr. Lampa 545, Lima"\n'))
    clock.advance(timedelta(hours=1, minutes=15))
    Dispatcher(app).run_once()
    threads_es = next(d for d in deliveries(app, account_id="org_threads") if d.language == "es")
    facebook_es = next(d for d in deliveries(app, account_id="org_facebook") if d.language == "es")
    fakes.threads.insights[threads_es.remote_id] = {"likes": 12, "replies": 3, "reposts": 4, "quotes": 1}
    fakes.threads.mention("cancilleriaperu", "Estamos revisando el caso.", replied_to=threads_es.remote_id)
    fakes.threads.mention("someone", "Compartido", replied_to=threads_es.remote_id)
    fakes.facebook.posts[facebook_es.remote_id].update(reactions=30, shares=5)
    fakes.facebook.visitor_comments(facebook_es.remote_id, "Cancillería del Perú", "CancilleriaPeru", "Recibido.")
    clock.advance(timedelta(minutes=10))
    done = collect(app)
    assert done.responses == 2 and done.others == 1
    with app.engine.connect() as conn:
        [r] = report(conn, EXAMPLE)
    assert {k: r["networks"]["threads"][k] for k in ("likes", "replies", "boosts", "quotes")} == \
        {"likes": 12, "replies": 3, "boosts": 4, "quotes": 1}
    assert {k: r["networks"]["facebook"][k] for k in ("likes", "replies", "boosts")} == \
        {"likes": 30, "replies": 1, "boosts": 5}
    assert {(a["network"], a["kind"], a["delivery_id"]) for a in r["responses"]} == {
        ("threads", "reply", threads_es.id), ("facebook", "reply", facebook_es.id)}
    assert r["unavailable"] == {"org_telegram": "not available (telegram's API gives none)"}


def test_validate_holds_each_new_network_to_its_own_rules_in_console_mode(tmp_path, monkeypatch):
    """No config: the accounts' ids name their networks; each text is checked as that network would take it."""
    from bot.campaigns.schema import Target
    from bot.config.settings import load_config
    from tests.conftest import write_campaign

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAMPAIGN_BOT_CONFIG", raising=False)
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "targets.toml").write_text('[cancilleria-peru]\nname = "Ministerio"\ntelegram = "@cancilleria_pe"\n',
                                            encoding="utf-8")
    (campaigns / "poster.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    long = "x" * 1100
    messages = textwrap.dedent(f"""\
        [[messages.call_to_action]]
        text = "{{{{ targets[0].mention }}}} {{{{ hashtags }}}} {{{{ link }}}}"
        [[messages.call_to_action]]
        text = "{long}"
        image = {{ path = "poster.png", alt = "A poster" }}
        [messages.closing.success]
        text = "Gracias"
        [messages.closing.no_further_action]
        text = "Gracias"
        """)
    write_campaign(campaigns, accounts='accounts = ["org_threads", "org_telegram"]', hashtags='hashtags = ["A", "B"]',
                   messages=messages)
    result = load_campaigns(load_config(None), START)
    issues = {(i.severity, i.field, i.message.split(" ", 2)[2][:50]) for i in result.issues}
    assert ("warning", "messages.call_to_action[0].text",
            "Threads makes only the first hashtag (#A) the post") in issues
    assert ("error", "messages.call_to_action[1].text", "1,100/1,024 characters: with an image the text is ") in issues
    assert ("warning", "messages.call_to_action[1].image.alt",
            "telegram has no place for an image's alt text: the") in issues
    target = Target(name="Ministerio", threads="cancilleria.pe", telegram="cancilleria_pe", facebook="CancilleriaPeru")
    assert [target.handle(n) for n in ("threads", "telegram", "facebook", "whatsapp")] == [
        "@cancilleria.pe", "@cancilleria_pe", "@CancilleriaPeru", None]  # no handle: the name is mentioned
