"""The public share kit (/c/<id>), its short links (/s/<code>) and the campaign's Atom feed."""

from __future__ import annotations

import html
import textwrap
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest
from sqlalchemy import inspect, select

from bot.campaigns.templates import render
from bot.clock import FakeClock
from bot.queries.kit import ShareText, build_kit, loaded_campaign
from bot.reach.clicks import ShareClickRow, click_counts
from bot.reach.report import campaign_report
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import REPO, write_campaign
from tests.web_fixtures import Web, load, web  # noqa: F401 - the fixture

__all__ = ["web"]
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

BASE = "http://127.0.0.1"
# Characters a query string must escape, right-to-left and CJK text, an emoji sequence, a line break.
WORLD_MESSAGES = textwrap.dedent("""\
    [[messages.call_to_action]]
    text.zh = "{{ targets[0].mention }}：{{ ask }}！儿童 & 家庭 #难民 50% + ? {{ link }}"
    text.fa = "{{ targets[0].mention }}: {{ ask }}. کودکان پناهجو ۵۰٪ & # + ? 👩‍👩‍👧\\nامضا کنید: {{ link }}"
    [messages.closing.success]
    text = { zh = "谢谢大家：不再需要行动。", fa = "از همه سپاسگزاریم: اقدام دیگری لازم نیست." }
    [messages.closing.no_further_action]
    text = { zh = "不再需要行动。", fa = "اقدام دیگری لازم نیست." }
    """)


def world(web: Web) -> None:
    write_campaign(web.core.config.campaigns_dir, "world", languages='languages = ["zh", "fa"]',
                   ask='ask = { zh = "立即释放他们", fa = "آنها را آزاد کنید" }', messages=WORLD_MESSAGES,
                   link='link = "https://example.org/ua?lang=x&ref=kit#act"')
    load(web.core)


def query_text(url: str, name: str = "text") -> str:
    values = parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)[name]
    assert len(values) == 1
    return values[0]


def short_link_in(text: str) -> str:
    return next(word for word in text.split() if "/s/" in word).rstrip(".")


def expected_text(web: Web, campaign_id: str, language: str, network: str) -> str:
    """The campaign's first call to action rendered for the network, with the kit's short link for its link."""
    with web.core.sessions() as session:
        _row, campaign = loaded_campaign(session, campaign_id)
    shown = next(t.text for lang in build_kit(web.core, campaign_id, BASE).languages
                 if lang.language == language for t in lang.texts if t.network == network)
    model = campaign.model.model_copy(update={"link": short_link_in(shown)})
    return render(campaign.model.messages.call_to_action[0], model, campaign.targets, language, network,
                  web.core.clock.now())


def shares_exactly(t: ShareText) -> None:
    """What the button hands to the network is the text as shown (or, where only a link is shared, its link)."""
    assert t.intent is not None
    if t.network == "telegram":
        short = short_link_in(t.text)
        assert query_text(t.intent, "url") == short
        assert query_text(t.intent) == " ".join(t.text.replace(short, " ").split())
    elif t.network in ("facebook", "linkedin"):
        assert query_text(t.intent, "u" if t.network == "facebook" else "url") == short_link_in(t.text)
    else:
        assert query_text(t.intent) == t.text


@SQLITE
def test_every_share_link_decodes_back_to_the_exact_message_in_every_language(web: Web) -> None:
    world(web)
    seed = "peru-children-humanitarian-status"
    text = (REPO / "campaigns" / f"{seed}.toml").read_text(encoding="utf-8")  # the seed case, on our accounts
    text = text.replace('accounts = ["org_x", "org_mastodon", "org_bluesky", "org_threads", "org_telegram", '
                        '"org_facebook"]', 'accounts = ["a1", "a2"]')
    assert 'accounts = ["a1", "a2"]' in text
    (web.core.config.campaigns_dir / f"{seed}.toml").write_text(text, encoding="utf-8")
    load(web.core)
    client = web.client()
    for campaign_id, languages in (("test", ("es", "en")), ("world", ("zh", "fa")), (seed, ("es", "en"))):
        page = client.get(f"/c/{campaign_id}")
        assert page.status_code == 200
        kit = build_kit(web.core, campaign_id, BASE)
        assert [lang.language for lang in kit.languages] == list(languages)
        for lang in kit.languages:
            assert [t.network for t in lang.texts] == ["x", "mastodon", "bluesky", "threads", "whatsapp", "telegram",
                                                      "facebook", "linkedin"]
            for t in lang.texts:
                assert t.problem is None and t.length <= t.limit
                assert t.text == expected_text(web, campaign_id, lang.language, t.network)
                assert html.escape(t.text) in page.text  # the text shown for "copy text"
                if t.network == "mastodon":
                    answer = client.get(f"/c/{campaign_id}/mastodon",
                                        params={"language": lang.language, "instance": "https://Mastodon.Social/"})
                    assert answer.status_code == 303
                    location = answer.headers["location"]
                    assert location.startswith("https://mastodon.social/share?text=")
                    assert query_text(location) == t.text
                else:
                    assert t.intent is not None and html.escape(t.intent) in page.text
                    shares_exactly(t)
    x_es = next(t for t in build_kit(web.core, "test", BASE).languages[0].texts if t.network == "x")
    assert x_es.intent is not None and x_es.intent.startswith("https://x.com/intent/post?text=")
    assert "@CancilleriaPeru" in x_es.text  # the target's handle on that network
    mastodon_es = next(t for t in build_kit(web.core, "test", BASE).languages[0].texts if t.network == "mastodon")
    assert "Ministerio de Relaciones Exteriores del Perú" in mastodon_es.text  # no Mastodon handle: the name
    fa = build_kit(web.core, "world", BASE).languages[1]
    bluesky_fa = next(t for t in fa.texts if t.network == "bluesky")
    assert bluesky_fa.intent is not None and bluesky_fa.intent.startswith("https://bsky.app/intent/compose?text=")
    assert "👩‍👩‍👧\nامضا کنید" in bluesky_fa.text


@SQLITE
def test_a_text_over_a_networks_limit_gets_no_one_click_link(web: Web) -> None:
    long = "x" * 290
    write_campaign(web.core.config.campaigns_dir, "long", messages=textwrap.dedent(f"""\
        [[messages.call_to_action]]
        text = {{ es = "{long} {{{{ link }}}}", en = "short {{{{ link }}}}" }}
        [messages.closing.success]
        text = "Gracias"
        [messages.closing.no_further_action]
        text = "Gracias"
        """))
    load(web.core)
    es, en = build_kit(web.core, "long", BASE).languages
    by_network = {t.network: t for t in es.texts}
    assert by_network["x"].intent is None and by_network["x"].problem and "too long for X" in by_network["x"].problem
    assert by_network["bluesky"].intent is None and by_network["mastodon"].mastodon_path is not None
    assert all(t.problem is None for t in en.texts)
    page = web.client().get("/c/long").text
    assert "too long for X" in page


def test_a_click_on_a_short_link_is_counted_and_redirects_with_the_source_and_stores_nothing_personal(
        web: Web, clock: FakeClock) -> None:
    world(web)
    kit = build_kit(web.core, "world", BASE)
    x_zh = next(t for t in kit.languages[0].texts if t.network == "x")
    short = next(word for word in x_zh.text.split() if "/s/" in word)
    client = web.client()
    for _ in range(3):
        answer = client.get(urlsplit(short).path, headers={"User-Agent": "Supporter/1.0", "X-Forwarded-For": "1.2.3.4"})
        assert answer.status_code == 302
        assert answer.headers["location"] == "https://example.org/ua?lang=x&ref=kit&source=x#act"
        assert "set-cookie" not in answer.headers and answer.headers["cache-control"] == "no-store"
    assert not client.cookies
    bluesky_fa = next(t for t in kit.languages[1].texts if t.network == "bluesky")
    client.get(urlsplit(next(w for w in bluesky_fa.text.split() if "/s/" in w)).path)
    clock.advance(timedelta(days=1))
    client.get(urlsplit(short).path)
    with web.core.sessions() as session:
        assert click_counts(session, "world") == {"zh": {"x": 4}, "fa": {"bluesky": 1}}
        assert click_counts(session.connection(), "test") == {}
        rows = list(session.scalars(select(ShareClickRow)))
    assert sorted((r.language, r.network, r.clicks) for r in rows) == [("fa", "bluesky", 1), ("zh", "x", 1),
                                                                       ("zh", "x", 3)]
    with web.core.engine.connect() as conn:  # the reach report counts them per network
        totals = campaign_report(conn, "world")["networks"]
    assert {n: totals[n]["share_clicks"] for n in totals if totals[n]["share_clicks"]} == {"x": 4, "bluesky": 1}
    columns = {c["name"] for c in inspect(web.core.engine).get_columns("share_clicks")}
    assert columns == {"campaign_id", "kind", "language", "network", "day", "clicks"}
    assert client.get("/s/nosuchcode").status_code == 404


@SQLITE
def test_link_previews_fetched_by_servers_are_followed_but_not_counted(web: Web) -> None:
    kit = build_kit(web.core, "test", BASE)
    mastodon_en = next(t for t in kit.languages[1].texts if t.network == "mastodon")
    path = urlsplit(next(word for word in mastodon_en.text.split() if "/s/" in word)).path
    client = web.client()
    for agent in ("http.rb/5.2.0 (Mastodon/4.3.2; +https://mastodon.social/)", "Twitterbot/1.0",
                  "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)"):
        answer = client.get(path, headers={"User-Agent": agent})
        assert answer.status_code == 302 and answer.headers["location"] == "https://example.org/ua?source=mastodon"
    client.get(path, headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"})
    with web.core.sessions() as session:
        assert click_counts(session, "test") == {"en": {"mastodon": 1}}


@SQLITE
def test_the_kit_page_sets_no_cookie_and_offers_the_feed(web: Web) -> None:
    answer = web.client().get("/c/test")
    assert answer.status_code == 200 and "set-cookie" not in answer.headers
    assert 'href="/c/test/feed.atom"' in answer.text
    assert web.client().get("/c/nosuch").status_code == 404
    staff_page = web.client("organiser").get("/campaigns/test").text  # staff find the public pages to hand out
    assert 'href="/c/test"' in staff_page and 'href="/c/test/feed.atom"' in staff_page


def _send_due(web: Web, clock: FakeClock) -> None:
    """The test campaign's first two slots of the day (09:00 and 15:00 in Lima), sent by both accounts."""
    plan(web.core)
    for hours in (1, 6):
        clock.advance(timedelta(hours=hours, minutes=1))
        Dispatcher(web.core).run_once()


@SQLITE
def test_the_atom_feed_lists_the_published_posts_and_parses(web: Web, clock: FakeClock) -> None:
    _send_due(web, clock)
    parsed = feedparser.parse(web.client().get("/c/test/feed.atom").content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Test campaign"
    assert parsed.entries, "nothing published"
    texts = {e.content[0].value for e in parsed.entries}
    sent = _sent(web)
    assert texts == {d.text for d in sent}
    assert len(parsed.entries) == len(sent) == 8  # 2 slots, 2 accounts, 2 languages: each its own variant
    assert {e.link for e in parsed.entries} == {d.remote_url for d in sent}
    dates = [e.updated_parsed for e in parsed.entries]
    assert dates == sorted(dates, reverse=True)


def _sent(web: Web) -> list:
    from tests.conftest import deliveries
    return deliveries(web.core, status="sent")


@SQLITE
def test_after_the_close_the_kit_and_the_feed_show_the_closing_message_and_no_call_to_action(
        web: Web, clock: FakeClock) -> None:
    _send_due(web, clock)
    lifecycle.close(web.core, "test", "success", "test")
    client = web.client()
    page = client.get("/c/test").text
    assert "No further action is requested. Many thanks to all who sent appeals." in page
    assert "Gracias: no se requieren más acciones." in page
    assert "CTA" not in page and "intent" not in page and "Share on Mastodon" not in page
    for before_and_after_sending in (1, 2):
        parsed = feedparser.parse(client.get("/c/test/feed.atom").content)
        assert not parsed.bozo
        newest = sorted(parsed.entries, key=lambda e: e.updated_parsed, reverse=True)[:2]
        assert {e.content[0].value for e in newest} == {
            "Gracias: no se requieren más acciones.",
            "No further action is requested. Many thanks to all who sent appeals."}
        assert parsed.entries[:2] == newest
        if before_and_after_sending == 1:
            clock.advance(timedelta(minutes=5))
            Dispatcher(web.core).run_once()
            assert any(d.kind == "closing" for d in _sent(web))


@SQLITE
def test_the_kit_offers_the_call_to_action_the_organisation_posted_last(web: Web, clock: FakeClock) -> None:
    before = next(t.text for t in build_kit(web.core, "test", BASE).languages[1].texts if t.network == "x")
    assert before.startswith("CTA one")  # nothing sent yet: the first one
    _send_due(web, clock)
    last = max((d for d in _sent(web) if d.language == "en"), key=lambda d: (d.sent_at, d.id))
    now = next(t.text for t in build_kit(web.core, "test", BASE).languages[1].texts if t.network == "x")
    assert now.split()[:2] == last.text.split()[:2] and now.split()[1] != "one"


@SQLITE
def test_a_paused_campaign_has_nothing_to_share_and_an_unknown_one_no_feed(web: Web) -> None:
    lifecycle.set_state(web.core, "test", "pause", "test")
    page = web.client().get("/c/test")
    assert page.status_code == 200 and "paused" in page.text and "share-card" not in page.text
    assert web.client().get("/c/nosuch/feed.atom").status_code == 404
    lifecycle.set_state(web.core, "test", "resume", "test")
    assert "share-card" in web.client().get("/c/test").text


@SQLITE
def test_a_feed_entry_posted_on_several_networks_has_one_alternate_link_and_the_others_related(
        web: Web, clock: FakeClock) -> None:
    """RFC 4287 4.2.7.2: at most one rel="alternate" link per type and hreflang in an entry."""
    import xml.etree.ElementTree as ET

    plan(web.core)
    lifecycle.queue(web.core, "test", clock.now(), "The same call everywhere {{ link }}", "tester")
    Dispatcher(web.core).run_once()
    sent = [d for d in _sent(web) if d.text.startswith("The same call everywhere")]
    assert len({d.account_id for d in sent}) == 2  # the same text from both accounts: one entry per language
    body = web.client().get("/c/test/feed.atom").content
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    atom = "{http://www.w3.org/2005/Atom}"
    entries = [e for e in ET.fromstring(body).iter(f"{atom}entry")
               if (e.findtext(f"{atom}content") or "").startswith("The same call everywhere")]
    for entry in entries:
        links = [(link.get("rel", "alternate"), link.get("type"), link.get("hreflang"), link.get("href"))
                 for link in entry.iter(f"{atom}link")]
        alternates = [(t, h) for rel, t, h, _ in links if rel == "alternate"]
        assert len(alternates) == len(set(alternates)) == 1, links
    multi = [e for e in entries if len(list(e.iter(f"{atom}link"))) > 1]
    assert multi, "no entry links to several posts"
    [first] = [e for e in parsed.entries if e.content[0].value.startswith("The same call everywhere")][:1]
    assert first.link in {d.remote_url for d in sent}
    assert {link.rel for link in first.links} == {"alternate", "related"}
