"""Per-network behaviour beyond the shared contract: sessions, duplicates, rate-limit headers, settling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.accounts.state import DbAccountStore
from bot.bootstrap import bootstrap
from bot.config.settings import load_config
from bot.networks.base import Misconfigured, OutcomeUnknown, PermanentError, RateLimited, TransientError
from bot.networks.bluesky.adapter import BlueskyNetwork, BlueskySettings
from bot.networks.mastodon.adapter import MastodonNetwork, MastodonSettings
from bot.networks.x.adapter import XNetwork, XSettings
from tests.fake_networks import FakeBluesky, FakeX
from tests.httpfake import Response
from tests.test_network_contract import post


@pytest.fixture
def app(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[bot]\ndatabase_url = "sqlite:///{tmp_path}/bot.db"\n')
    a = bootstrap(load_config(cfg))
    yield a
    a.engine.dispose()


@pytest.fixture
def bluesky(monkeypatch):
    server = FakeBluesky(access_ttl=60).start()  # short-lived access tokens: every call refreshes first
    monkeypatch.setenv("BSKY_PASSWORD", server.password)
    yield server
    server.stop()


def store(app, account_id):
    return DbAccountStore(app.sessions, app.clock, account_id)


def bsky_network(server, app):
    return BlueskyNetwork("bsky", BlueskySettings(network="bluesky", handle=server.handle,
                                                  app_password_env="BSKY_PASSWORD", service_url=server.url),
                          store(app, "bsky"))


def test_bluesky_logs_in_once_and_keeps_the_session_in_the_database_across_restarts(bluesky, app):
    net = bsky_network(bluesky, app)
    for n in range(1, 4):
        net.publish(post(n, f"post {n}"))
    restarted = bsky_network(bluesky, app)  # a new process: only the database is shared
    restarted.publish(post(4, "post 4"))
    assert bluesky.logins == 1
    assert bluesky.refreshes >= 1  # expiring access tokens were refreshed, not replaced by new logins
    assert len(bluesky.records) == 4


def test_bluesky_logs_in_again_only_when_the_stored_session_is_dead(bluesky, app):
    bsky_network(bluesky, app).publish(post(1, "one"))
    bluesky.valid_refresh.clear()
    bluesky.revoke_access_tokens()
    bsky_network(bluesky, app).publish(post(2, "two"))
    assert bluesky.logins == 2 and len(bluesky.records) == 2


def test_bluesky_posts_have_langs_and_clickable_facets(bluesky, app):
    text = "Pide a @amnesty.bsky.social actuar #NiñezRefugiada https://example.org/ua"
    bsky_network(bluesky, app).publish(post(1, text))
    [record] = bluesky.posts()
    assert record["langs"] == ["es"]
    kinds = {f["features"][0]["$type"] for f in record["facets"]}
    assert kinds == {"app.bsky.richtext.facet#mention", "app.bsky.richtext.facet#tag",
                     "app.bsky.richtext.facet#link"}
    mention = next(f for f in record["facets"] if f["features"][0]["$type"].endswith("#mention"))
    assert mention["features"][0]["did"] == "did:plc:amnesty"
    assert text.encode()[mention["index"]["byteStart"]:mention["index"]["byteEnd"]] == b"@amnesty.bsky.social"


def test_bluesky_reply_names_both_root_and_parent(bluesky, app):
    from bot.networks.base import ThreadRef

    net = bsky_network(bluesky, app)
    root = net.publish(post(1, "root"))
    middle = net.publish(post(2, "update", in_reply_to=ThreadRef(root.remote_id, root.ref, root.remote_id, root.ref)))
    net.publish(post(3, "thanks", in_reply_to=ThreadRef(middle.remote_id, middle.ref, root.remote_id, root.ref)))
    reply = bluesky.posts()[-1]["reply"]
    assert reply["root"]["uri"] == root.remote_id and reply["parent"]["uri"] == middle.remote_id


@pytest.fixture
def fake_x(monkeypatch):
    server = FakeX().start()
    for name in ("CK", "CS", "AT", "ATS", "BEARER"):
        monkeypatch.setenv(f"X_{name}", "placeholder")
    yield server
    server.stop()


def x_network(server, **kw):
    settings = XSettings(network="x", consumer_key_env="X_CK", consumer_secret_env="X_CS", access_token_env="X_AT",
                         access_token_secret_env="X_ATS", request_timeout=30, **kw)
    net = XNetwork("x", settings)
    server.mount(net)
    return net


def test_x_duplicate_content_is_reported_as_such(fake_x):
    net = x_network(fake_x)
    net.publish(post(1, "Free them now"))
    with pytest.raises(PermanentError, match="duplicate post.*add call_to_action variants"):
        net.publish(post(2, "Free them now"))


def test_x_rate_limit_waits_for_the_latest_exhausted_reset_including_the_24_hour_user_limit(fake_x):
    now = int(datetime.now(UTC).timestamp())
    fake_x.fail_next("POST", "/2/tweets", Response(429, {"title": "Too Many Requests"}, {
        "x-rate-limit-remaining": "12", "x-rate-limit-reset": str(now + 900),
        "x-user-limit-24hour-limit": "17", "x-user-limit-24hour-remaining": "0",
        "x-user-limit-24hour-reset": str(now + 20000)}))
    with pytest.raises(RateLimited) as caught:
        x_network(fake_x).publish(post(1, "hello"))
    assert caught.value.until == datetime.fromtimestamp(now + 20000, UTC)


def test_x_unknown_outcome_is_settled_by_reading_recent_posts_when_the_tier_allows(fake_x):
    net = x_network(fake_x, tier="basic")
    text = "Act now https://example.org/ua"
    fake_x.fail_next("POST", "/2/tweets", None, went_through=True)
    with pytest.raises(OutcomeUnknown):
        net.publish(post(1, text))
    found = net.find_published(post(1, text))
    assert found is not None and found.remote_id == fake_x.tweets[0]["id"]
    assert net.find_published(post(2, "never posted")) is None


def test_x_free_tier_does_not_read_so_unknown_outcomes_go_to_a_person(fake_x):
    net = x_network(fake_x, tier="free")
    fake_x.fail_next("POST", "/2/tweets", None, went_through=True)
    with pytest.raises(OutcomeUnknown):
        net.publish(post(1, "hello"))
    assert net.find_published(post(1, "hello")) is None
    assert not [r for r in fake_x.requests if r.path.endswith("/tweets") and r.method == "GET"]


def test_x_oauth2_token_posts_text_but_validate_refuses_its_images():
    settings = XSettings(network="x", bearer_token_env="X_BEARER")
    assert "OAuth 1.0a" in XNetwork.media_problem(settings)
    with pytest.raises(ValueError, match="not both"):
        XSettings(network="x", bearer_token_env="B", consumer_key_env="C")


def test_a_missing_secret_names_the_account_and_the_variable(monkeypatch):
    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    net = MastodonNetwork("org_mastodon", MastodonSettings(network="mastodon", api_base_url="http://127.0.0.1:9",
                                                           access_token_env="NOPE_TOKEN"))
    with pytest.raises(Misconfigured) as caught:
        net.client()
    assert str(caught.value) == ("account org_mastodon: environment variable $NOPE_TOKEN (or $NOPE_TOKEN_FILE) "
                                 "is not set")


def test_a_secret_can_come_from_a_file(monkeypatch, tmp_path):
    from bot.networks.secrets import read_secret

    (tmp_path / "token").write_text("s3cret\n")
    monkeypatch.delenv("TOK", raising=False)
    monkeypatch.setenv("TOK_FILE", str(tmp_path / "token"))
    assert read_secret("a", "TOK") == "s3cret"


def test_mastodon_length_follows_the_instance_and_is_cached_in_the_database(app, monkeypatch):
    from mastodon_mock.testing.server import MockServer

    with MockServer() as server:
        monkeypatch.setenv("MOCK_TOKEN", "alice_token")
        net = MastodonNetwork("m", MastodonSettings(network="mastodon", api_base_url=server.base_url,
                                                    access_token_env="MOCK_TOKEN"), store(app, "m"))
        limit = net.limit()
    again = MastodonNetwork("m", net.settings, store(app, "m"))  # server gone: the cached limits answer
    assert again.limit() == limit > 0
    assert again.length("https://example.org/" + "a" * 100) == net.instance_limits()["characters_reserved_per_url"]


def test_a_disabled_account_can_be_enabled_again(app):
    from bot.accounts import state as account_state
    from bot.store.models import AccountStateRow

    with app.sessions.begin() as s:
        s.add(AccountStateRow(account_id="x", disabled=True, disabled_reason="401"))
    assert account_state.enable(app, "x")
    assert not account_state.enable(app, "x")
    _ = timedelta


# -- Bluesky: a duplicate rkey, as a real PDS answers it -------------------------------------------------------

def test_the_fake_pds_answers_a_duplicate_rkey_with_500_as_the_real_one_does(bluesky, app):
    import httpx

    net = bsky_network(bluesky, app)
    first = net.publish(post(1, "once"))
    rkey = first.remote_id.rsplit("/", 1)[1]
    token = next(iter(bluesky.valid_access))
    answer = httpx.post(f"{bluesky.url}/xrpc/com.atproto.repo.createRecord", timeout=10,
                        headers={"authorization": f"Bearer {token}"},
                        json={"repo": bluesky.DID, "collection": "app.bsky.feed.post", "rkey": rkey,
                              "record": {"text": "again"}})
    assert (answer.status_code, answer.json()["error"]) == (500, "InternalServerError")


def test_a_retry_of_a_bluesky_post_that_went_out_reads_it_back_and_returns_its_uri_and_cid(bluesky, app):
    net = bsky_network(bluesky, app)
    bluesky.fail_next("POST", "/xrpc/com.atproto.repo.createRecord", None, went_through=True)
    with pytest.raises(OutcomeUnknown):  # a dropped answer: the record may exist
        net.publish(post(1, "Free them now"))
    [record] = bluesky.records.values()
    creates_before = _creates(bluesky)
    again = net.publish(post(1, "Free them now", attempt=2))
    assert (again.remote_id, again.ref) == (record["uri"], {"uri": record["uri"], "cid": record["cid"]})
    assert len(bluesky.records) == 1
    assert _creates(bluesky) == creates_before  # read back by its rkey first: no second createRecord


def test_a_bluesky_retry_not_known_as_one_still_settles_the_500_by_reading_the_record(bluesky, app):
    net = bsky_network(bluesky, app)
    first = net.publish(post(1, "Free them now"))
    again = net.publish(post(1, "Free them now"))  # attempt 1: the dispatcher did not say it is a retry
    assert again.remote_id == first.remote_id and again.ref["cid"] == first.ref["cid"]
    assert len(bluesky.records) == 1


def test_a_real_bluesky_server_error_with_no_record_stays_a_transient_error(bluesky, app):
    net = bsky_network(bluesky, app)
    bluesky.fail_next("POST", "/xrpc/com.atproto.repo.createRecord",
                      Response(500, {"error": "InternalServerError", "message": "Internal Server Error"}))
    with pytest.raises(TransientError):
        net.publish(post(1, "Free them now"))
    assert not bluesky.records


def test_an_unknown_bluesky_outcome_is_settled_by_the_record_at_the_deliverys_rkey(bluesky, app):
    net = bsky_network(bluesky, app)
    bluesky.fail_next("POST", "/xrpc/com.atproto.repo.createRecord", None, went_through=True)
    with pytest.raises(OutcomeUnknown):  # a dropped answer: the record may exist
        net.publish(post(1, "Free them now"))
    [record] = bluesky.records.values()
    found = net.find_published(post(1, "Free them now"))
    assert found is not None and found.ref == {"uri": record["uri"], "cid": record["cid"]}
    assert net.find_published(post(2, "never sent")) is None


def _creates(server) -> int:
    return len([r for r in server.requests if r.path.endswith("com.atproto.repo.createRecord")])


# -- a secret that cannot be read: Misconfigured, never sent, fine again once fixed -----------------------------

def test_a_missing_bluesky_app_password_is_misconfigured_and_works_once_set_without_a_restart(bluesky, app,
                                                                                             monkeypatch):
    monkeypatch.delenv("BSKY_PASSWORD")
    net = bsky_network(bluesky, app)
    with pytest.raises(Misconfigured, match=r"\$BSKY_PASSWORD"):
        net.publish(post(1, "hello"))
    assert not bluesky.records and bluesky.logins == 0
    monkeypatch.setenv("BSKY_PASSWORD", bluesky.password)
    net.publish(post(1, "hello"))
    assert len(bluesky.records) == 1


def test_a_missing_x_secret_is_misconfigured_and_works_once_set_without_a_restart(fake_x, monkeypatch):
    monkeypatch.delenv("X_ATS")
    settings = XSettings(network="x", consumer_key_env="X_CK", consumer_secret_env="X_CS", access_token_env="X_AT",
                         access_token_secret_env="X_ATS", request_timeout=10)
    net = XNetwork("org_x", settings)
    with pytest.raises(Misconfigured, match=r"account org_x: environment variable \$X_ATS"):
        net.publish(post(1, "hello"))
    assert not fake_x.requests
    monkeypatch.setenv("X_ATS", "placeholder")
    fake_x.mount(net)
    net.publish(post(1, "hello"))
    assert [t["text"] for t in fake_x.tweets] == ["hello"]


def test_a_mastodon_token_file_that_disappears_is_misconfigured_and_works_once_restored(monkeypatch, tmp_path,
                                                                                         app):
    from tests.fake_networks import FakeMastodon

    server = FakeMastodon().start()
    try:
        token = tmp_path / "token"
        monkeypatch.delenv("M_TOKEN", raising=False)
        monkeypatch.setenv("M_TOKEN_FILE", str(token))
        net = MastodonNetwork("org_mastodon", MastodonSettings(network="mastodon", api_base_url=server.url,
                                                               access_token_env="M_TOKEN", request_timeout=10),
                              store(app, "org_mastodon"))
        with pytest.raises(Misconfigured, match=r"cannot read \$M_TOKEN_FILE"):
            net.publish(post(1, "hello"))
        assert not server.statuses
        token.write_text("tok\n")
        net.publish(post(1, "hello"))
        assert [s["content"] for s in server.statuses] == ["hello"]
    finally:
        server.stop()


def test_an_x_text_is_parsed_by_twitter_text_once_for_its_length_and_its_validity():
    from bot.networks.x.adapter import parse_text

    text = "Una sola vez, por favor https://example.org/ua #Perú 👍🏽"
    before = parse_text.cache_info()
    assert XNetwork.measure(text) == 24 + 23 + 7 + 2  # what validate asks first: the weighted length
    assert XNetwork.text_problem(text) is None  # then whether X would accept it
    after = parse_text.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)


def test_a_mastodon_post_whose_outcome_is_unknown_is_found_among_the_accounts_recent_statuses(app, monkeypatch):
    """mastodon-mock renders statuses as HTML like the real server: links, hashtags and a mention are matched."""
    from mastodon_mock.testing.server import MockServer

    text = "@someone@example.org please act now #FreeThem https://example.org/ua/2026/long-link-to-the-case"
    with MockServer() as server:
        monkeypatch.setenv("MOCK_TOKEN", "alice_token")
        net = MastodonNetwork("m", MastodonSettings(network="mastodon", api_base_url=server.base_url,
                                                    access_token_env="MOCK_TOKEN"), store(app, "m"))
        sent = net.publish(post(7, text))
        found = net.find_published(post(7, text))
        assert found is not None and found.remote_id == sent.remote_id
        assert net.find_published(post(8, "a post that never went out")) is None


def test_a_status_rendered_as_mastodon_renders_it_reads_back_as_the_text_we_posted():
    """The markup of Mastodon's TextFormatter (app/lib/text_formatter.rb): links split into invisible and ellipsis
    spans, mentions as h-cards showing @user, hashtags with the tag in a span."""
    from bot.networks.mastodon.adapter import _comparable, _html_text

    content = ('<p><span class="h-card" translate="no"><a href="https://example.org/@someone" class="u-url mention">'
               '@<span>someone</span></a></span> please act now <a href="https://m.example/tags/FreeThem" '
               'class="mention hashtag" rel="tag">#<span>FreeThem</span></a><br /><a '
               'href="https://example.org/ua/2026/long-link-to-the-case" target="_blank" rel="nofollow noopener" '
               'translate="no"><span class="invisible">https://</span><span class="ellipsis">example.org/ua/2026/'
               'long-lin</span><span class="invisible">k-to-the-case</span></a></p>')
    posted = "@someone@example.org please act now #FreeThem\nhttps://example.org/ua/2026/long-link-to-the-case"
    assert _comparable(_html_text(content)) == _comparable(posted)


def test_mastodon_posts_go_through_the_proxy_the_environment_names(app, monkeypatch):
    """The proxy settings are read from the environment once, when the client is made (requests walked the
    whole environment on every request: issue 23), and still honoured: a post goes through HTTP_PROXY, and
    a later change of the environment does not reach a running worker's client."""
    import http.client
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import urlsplit

    from mastodon_mock.testing.server import MockServer

    seen: list[str] = []

    class Proxy(BaseHTTPRequestHandler):  # a forwarding HTTP proxy: the request line holds the whole URL
        def do_POST(self) -> None:
            seen.append(self.path)
            target = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            upstream = http.client.HTTPConnection(target.hostname or "", target.port, timeout=10)
            upstream.request("POST", target.path, body=body,
                             headers={k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"})
            answer = upstream.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for k, v in answer.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        with MockServer() as server:
            monkeypatch.setenv("MOCK_TOKEN", "alice_token")
            for name in ("NO_PROXY", "no_proxy"):
                monkeypatch.delenv(name, raising=False)
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
            net = MastodonNetwork("m", MastodonSettings(network="mastodon", api_base_url=server.base_url,
                                                        access_token_env="MOCK_TOKEN", mastodon_version="4.5.0"),
                                  store(app, "m"))
            net.client()
            monkeypatch.delenv("HTTP_PROXY")  # read once: the client keeps what it was made with
            published = net.publish(post(1, "Through the proxy"))
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert published.remote_id
    assert [urlsplit(p).path for p in seen] == ["/api/v1/statuses"]
