"""Contract tests against what the real services answered: the recordings in shared/recordings (made by
Mastodon.py's and tweepy's maintainers against a real Mastodon 4.5 and the real X API), replayed with vcrpy
through our adapters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import vcr
import yaml

from bot.networks.base import Media, OutcomeUnknown, PermanentError, Post, ThreadRef
from bot.networks.mastodon.adapter import MastodonNetwork, MastodonSettings
from bot.networks.x.adapter import XNetwork, XSettings
from tests.conftest import SHARED, shared
from tests.test_network_contract import png

RECORDINGS = SHARED / "recordings"


@pytest.fixture(autouse=True)
def _recordings() -> None:
    shared("recordings")  # skipped without ../shared; under CI=true that is a failure


class Sent:
    """A vcr matcher that matches everything and keeps the live requests our adapters made."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.seen: set[Any] = set()

    def __call__(self, live: Any, recorded: Any) -> None:
        key = (live.method, live.uri, live.body)
        if key not in self.seen:
            self.seen.add(key)
            self.requests.append(live)


def replayer(folder: Path, sent: Sent, match_on: list[str], **kw: Any) -> Any:
    recorder = vcr.VCR(cassette_library_dir=str(folder), record_mode="none", match_on=[*match_on, "sent"], **kw)
    recorder.register_matcher("sent", lambda live, recorded: sent(live, recorded))
    return recorder


def mastodon_vcr(sent: Sent) -> Any:
    return replayer(RECORDINGS / "mastodon", sent, ["method", "path"])


@pytest.fixture
def mastodon(monkeypatch: pytest.MonkeyPatch) -> MastodonNetwork:
    monkeypatch.setenv("MASTODON_TOKEN", "__MASTODON_PY_TEST_ACCESS_TOKEN")
    return MastodonNetwork("masto", MastodonSettings(network="mastodon", api_base_url="http://localhost:3000",
                                                     access_token_env="MASTODON_TOKEN", mastodon_version="4.5.0"))


def post(n: int, text: str, **kw: Any) -> Post:
    return Post(n, f"campaign-bot-{n}", text, kw.pop("language", "en"),
                scheduled_at=datetime(2026, 8, 1, 13, tzinfo=UTC), **kw)


def form(request: Any) -> str:
    from urllib.parse import unquote_plus

    body = request.body or b""
    return unquote_plus(body.decode() if isinstance(body, bytes) else body)


def test_mastodon_post_returns_the_servers_id_and_url(mastodon):
    sent = Sent()
    with mastodon_vcr(sent).use_cassette("status_post_public.yaml"):
        published = mastodon.publish(post(1, "Toot!"))
    assert published.remote_id == "117020585924712638"
    assert published.url == "http://localhost:3000/@mastodonpy_test/117020585924712638"
    body = form(sent.requests[0])
    assert "status=Toot!" in body and "language=en" in body
    assert sent.requests[0].headers["Idempotency-Key"] == "campaign-bot-1"


def test_mastodon_reply_sends_in_reply_to_id(mastodon):
    sent = Sent()
    with mastodon_vcr(sent).use_cassette("status_reply.yaml"):
        parent = mastodon.publish(post(1, "Toot, finally!"))
        mastodon.client().account_verify_credentials()
        reply = mastodon.publish(post(2, "@mastodonpy_test_2 same!",
                                      in_reply_to=ThreadRef(parent.remote_id, root_id=parent.remote_id)))
    assert parent.remote_id == "117020583245459824"
    assert f"in_reply_to_id={parent.remote_id}" in form(sent.requests[-1])
    assert reply.remote_id == "117020583258292382"


def test_mastodon_media_answered_202_is_polled_until_processed(mastodon, tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    sent = Sent()
    with mastodon_vcr(sent).use_cassette("media_post_video_async.yaml"):
        published = mastodon.publish(post(1, "LOL check this out", media=(Media(clip, "A short clip"),)))
    assert [r.method for r in sent.requests] == ["POST", "GET", "POST"]
    assert sent.requests[1].path == "/api/v1/media/117020619601888181"
    assert "media_ids[]=117020619601888181" in form(sent.requests[2])
    assert published.remote_id == "117020620300441304"


def _clip(folder: Path) -> Path:
    clip = folder / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    return clip


@pytest.mark.parametrize(("cassette", "reply_to", "media"), [
    ("status_post_public.yaml", None, None),
    ("status_reply.yaml", "117020583245459824", None),
    ("media_post_video_async.yaml", None, "117020619601888181"),
])
def test_mastodon_post_sends_what_status_post_sends(mastodon, tmp_path, cassette, reply_to, media):
    """The adapter posts through Mastodon.py's request without its typed answer (bot/networks/mastodon/
    transport.py): the status's request is the one Mastodon.py's status_post makes, field for field, header for
    header, for a plain post, a reply and a post with media."""
    one = post(7, "Toot, with an accent: café & co", language="fr",
               in_reply_to=ThreadRef(reply_to, root_id=reply_to) if reply_to else None,
               media=(Media(_clip(tmp_path), "A short clip"),) if media else ())
    ours, theirs = Sent(), Sent()
    with mastodon_vcr(ours).use_cassette(cassette, allow_playback_repeats=True):
        mastodon.publish(one)
    with mastodon_vcr(theirs).use_cassette(cassette, allow_playback_repeats=True):
        mastodon.client().status_post(one.text, in_reply_to_id=reply_to, media_ids=[media] if media else None,
                                      language="fr", visibility="public", idempotency_key=one.idempotency_key)
    [mine] = [r for r in ours.requests if r.path == "/api/v1/statuses"]
    [reference] = [r for r in theirs.requests if r.path == "/api/v1/statuses"]
    assert (mine.method, mine.body) == (reference.method, reference.body)
    header_names = {"Idempotency-Key", "Authorization", "Content-Type", "User-Agent"}
    assert ({k: v for k, v in mine.headers.items() if k in header_names}
            == {k: v for k, v in reference.headers.items() if k in header_names})
    assert mine.headers["Idempotency-Key"] == "campaign-bot-7"


def test_mastodon_post_answer_is_read_as_json_not_typed(mastodon, monkeypatch):
    """Typing a status's answer into Mastodon.py's entities cost about a third of a post's CPU (bench dispatch);
    the adapter reads two fields of it and asks for it untyped."""
    from mastodon import internals

    from bot.networks.mastodon.transport import Answer

    types: list[Any] = []
    typed = internals.try_cast_recurse

    def spy(kind: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        types.append(kind)
        return typed(kind, value, *args, **kwargs)

    monkeypatch.setattr(internals, "try_cast_recurse", spy)
    with mastodon_vcr(Sent()).use_cassette("status_post_public.yaml"):
        published = mastodon.publish(post(1, "Toot!"))
    assert published.remote_id == "117020585924712638"
    assert types and all(kind is Answer for kind in types)


def test_mastodon_post_whose_answer_asks_for_an_async_refresh_is_published(mastodon, tmp_path):
    """Mastodon.py sets an attribute on an answer that carries a Mastodon-Async-Refresh header: the adapter's
    untyped answer takes it (a plain dict would raise after the status was made, at every retry)."""
    recorded = yaml.safe_load((RECORDINGS / "mastodon" / "status_post_public.yaml").read_text())
    [made] = [i for i in recorded["interactions"] if i["request"]["method"] == "POST"]
    made["response"]["headers"]["Mastodon-Async-Refresh"] = ['id="abc", retry=5']
    (tmp_path / "refresh.yaml").write_text(yaml.safe_dump(recorded))
    with replayer(tmp_path, Sent(), ["method", "path"]).use_cassette("refresh.yaml"):
        published = mastodon.publish(post(1, "Toot!"))
    assert published.remote_id == "117020585924712638"


def test_mastodon_post_whose_answer_is_not_json_may_have_been_made(mastodon, tmp_path):
    """A success code with a body that is not JSON (a proxy's page): the status may exist, so the outcome is
    unknown (read back or retried under the same Idempotency-Key), never a refusal a person would retry by hand."""
    recorded = yaml.safe_load((RECORDINGS / "mastodon" / "status_post_public.yaml").read_text())
    [made] = [i for i in recorded["interactions"] if i["request"]["method"] == "POST"]
    made["response"]["body"]["string"] = "<html>Bad gateway, or was it?</html>"
    (tmp_path / "garbled.yaml").write_text(yaml.safe_dump(recorded))
    with (replayer(tmp_path, Sent(), ["method", "path"]).use_cassette("garbled.yaml"),
          pytest.raises(OutcomeUnknown, match="could not be read")):
        mastodon.publish(post(1, "Toot!"))


def test_mastodon_post_falls_back_to_status_post_when_the_request_changed(mastodon, monkeypatch):
    """If an upgrade of Mastodon.py changes its private request, posts go through status_post: the same request,
    decided before anything is sent."""
    from bot.networks.mastodon import transport

    ours, theirs = Sent(), Sent()
    with mastodon_vcr(ours).use_cassette("status_post_public.yaml"):
        untyped = mastodon.publish(post(1, "Toot!"))
    monkeypatch.setattr(transport, "_takes_override_type", lambda cls: False)
    with mastodon_vcr(theirs).use_cassette("status_post_public.yaml"):
        typed = mastodon.publish(post(1, "Toot!"))
    assert typed == untyped and typed.remote_id == "117020585924712638"
    [mine], [reference] = ([r for r in sent.requests if r.method == "POST"] for sent in (ours, theirs))
    assert mine.body == reference.body and mine.headers == reference.headers


@pytest.mark.parametrize(("cassette", "wording"), [
    ("status_empty.yaml", "Textを入力してください"),
    ("lang_for_errors.yaml", "Text上限は500文字です"),
])
def test_mastodon_validation_errors_are_permanent_with_the_servers_words(mastodon, cassette, wording):
    with mastodon_vcr(Sent()).use_cassette(cassette), pytest.raises(PermanentError) as caught:
        mastodon.publish(post(1, "x"))
    assert wording in str(caught.value) and "422" in str(caught.value)


def test_mastodon_limits_come_from_the_instance_and_check_names_the_account(mastodon):
    with mastodon_vcr(Sent()).use_cassette("instance.yaml"):
        assert mastodon.limit() == 500
    with mastodon_vcr(Sent()).use_cassette("verify_credentials.yaml"):
        info = mastodon.check()
    assert info.handle == "@mastodonpy_test"
    assert info.limits == {"max_characters": 500, "characters_reserved_per_url": 23}


@pytest.fixture
def x(monkeypatch: pytest.MonkeyPatch) -> XNetwork:
    for name in ("CK", "CS", "AT", "ATS"):
        monkeypatch.setenv(f"X_{name}", "1072250532645998596-placeholder" if name == "AT" else "placeholder")
    return XNetwork("x", XSettings(network="x", consumer_key_env="X_CK", consumer_secret_env="X_CS",
                                   access_token_env="X_AT", access_token_secret_env="X_ATS"))


def x_vcr() -> Any:
    return vcr.VCR(cassette_library_dir=str(RECORDINGS / "x"), record_mode="none",
                   decode_compressed_response=True)


def test_x_create_tweet_returns_the_tweet_id(x):
    with x_vcr().use_cassette("create_and_delete_tweet.yaml"):
        published = x.publish(post(1, "Test Tweet"))
    assert published.remote_id == "1456012973835788293"
    assert published.url == "https://x.com/i/status/1456012973835788293"


def test_x_image_is_uploaded_described_and_attached(x, tmp_path):
    """The recorded v1.1 upload and v2 create, with the alt-text call between them. That call has no recording
    (tweepy's suite never made it), so its one interaction is written here: 200 with an empty body, as X
    documents for POST media/metadata/create."""
    upload = yaml.safe_load((RECORDINGS / "x" / "v1_media_upload_png.yaml").read_text())["interactions"]
    create = yaml.safe_load((RECORDINGS / "x" / "create_and_delete_tweet.yaml").read_text())["interactions"][:1]
    metadata = {"request": {"body": None, "headers": {}, "method": "POST",
                            "uri": "https://upload.twitter.com/1.1/media/metadata/create.json"},
                "response": {"body": {"string": ""}, "headers": {}, "status": {"code": 200, "message": "OK"}}}
    (tmp_path / "merged.yaml").write_text(yaml.safe_dump({"interactions": upload + [metadata] + create,
                                                         "version": 1}))
    sent = Sent()
    recorder = replayer(tmp_path, sent, ["method", "scheme", "host", "port", "path", "query"],
                        decode_compressed_response=True)
    with recorder.use_cassette("merged.yaml"):
        published = x.publish(post(1, "Test Tweet", media=(Media(png(tmp_path / "p.png"), "A poster"),)))
    assert published.remote_id == "1456012973835788293"
    metadata_body = sent.requests[1].body
    assert b"1349010955083132928" in metadata_body and b"A poster" in metadata_body
    assert b'"media_ids": ["1349010955083132928"]' in sent.requests[2].body
