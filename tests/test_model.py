"""The promise, where features meet: a model-based test (Hypothesis's stateful testing) that drives the real
actions, worker and recovery code on the injected clock, against fake Mastodon, Bluesky and X servers spoken
to by the real client libraries, through whole sequences of people's actions, worker crashes at any point of a
send, a second worker, and server faults; after every step it checks what a user would sign:

- nothing is published twice, and nothing recorded sent is missing from the server;
- nothing is silently dropped: every post ends sent, cancelled by someone's action (with why), missed with the
  time it was due, failed or unknown with a reason;
- no call to action goes out while its campaign is closed, and each closing message replies under the last
  post that went out on that account;
- what goes out after an approval is the text approved, and what awaits approval never goes out;
- a closed campaign has nothing pending but its closing messages and supporters' take-backs;
- and once the worker has settled everything, every post on the servers is recorded sent, and `status`
  counts what the servers hold.

CI runs a bounded number of examples on SQLite and PostgreSQL (derandomized: the same sequences each run);
CAMPAIGN_BOT_MODEL_EXAMPLES=500 runs more. Each counterexample it found is a plain test in tests/test_seams.py.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from bot.actions import accounts as account_actions
from bot.actions import approvals, campaigns, emergency, posts, supporters
from bot.actions.base import Actor, Approvals, Via
from bot.actions.errors import ActionError
from bot.bootstrap import App, bootstrap
from bot.clock import FakeClock, as_utc
from bot.config import load_config
from bot.networks.base import NetworkError, Post
from bot.outbox.workers import beat, leave
from bot.queries import reports
from bot.states import Action, CampaignState, Decision, ErrorKind, Kind, Role, Status
from bot.store.access import ApprovalRow
from bot.store.models import CampaignRow, DeliveryRow
from bot.supporters.waves import tick as waves
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests.conftest import START, write_campaign
from tests.fake_networks import FakeBluesky, FakeMastodon, FakeX
from tests.httpfake import Response
from tests.pg import empty

EXAMPLES = int(os.environ.get("CAMPAIGN_BOT_MODEL_EXAMPLES", "0"))
ORGANISER = Actor("olga", Role.ORGANISER, Via.WEB)
STAFF = Actor("sam", Role.STAFF, Via.WEB)
STAFF2 = Actor("sara", Role.STAFF, Via.API)
SUPPORTER = Actor("supporter (web)", None, Via.SUPPORTER)
ORG_ACCOUNTS = ("org_m", "org_b", "org_x")
LEASE = 60
REASONED = {ErrorKind.CLOSED, ErrorKind.CANCELLED_BY_HAND, ErrorKind.REJECTED, ErrorKind.UNSCHEDULED,
            ErrorKind.RESOLVED, ErrorKind.AUTH_REVOKED}
"""Why a post may end cancelled: someone's action (a close, a cancel, a rejection, an edited schedule, a person
settling it, a supporter disconnecting)."""
CLOSINGS = {"No further action is requested. Many thanks to all who sent appeals.", "No further action is requested."}
MESSAGES = """[[messages.call_to_action]]
text = "Please act: {{ ask }}"
[messages.closing.success]
text = "No further action is requested. Many thanks to all who sent appeals."
[messages.closing.no_further_action]
text = "No further action is requested."
"""


class Servers:
    def __init__(self, clock: FakeClock) -> None:
        self.mastodon = FakeMastodon(clock=clock.now).start()
        self.bluesky = FakeBluesky(handle="org.bsky.social", password="abcd-efgh-ijkl-mnop", clock=clock.now).start()
        self.x = FakeX(clock=clock.now).start()

    def stop(self) -> None:
        for server in (self.mastodon, self.bluesky, self.x):
            server.stop()

    def config(self) -> str:
        return (f'[accounts.org_m]\nnetwork = "mastodon"\napi_base_url = "{self.mastodon.url}"\n'
                'access_token_env = "MODEL_ORG_TOKEN"\nrequest_timeout = 10\n'
                f'[accounts.org_b]\nnetwork = "bluesky"\nhandle = "org.bsky.social"\n'
                f'service_url = "{self.bluesky.url}"\napp_password_env = "MODEL_BSKY_PASSWORD"\nrequest_timeout = 10\n'
                '[accounts.org_x]\nnetwork = "x"\nconsumer_key_env = "MODEL_X_CK"\n'
                'consumer_secret_env = "MODEL_X_CS"\naccess_token_env = "MODEL_X_AT"\n'
                'access_token_secret_env = "MODEL_X_ATS"\nrequest_timeout = 10\n'
                '[amplify]\nwindow = "0s"\n')

    def boosted(self) -> list[dict[str, Any]]:
        """The statuses supporters reblogged, in the order they did."""
        by_id = {st["id"]: st for st in self.mastodon.statuses}
        return [by_id[status] for (_token, status) in self.mastodon.reblogged if status in by_id]

    def marks(self) -> dict[str, int]:
        """How many posts each account, and supporters' reblogs, count on the servers now."""
        return {**{a: len(p) for a, p in self.published().items()}, "reblogs": len(self.boosted())}

    def published(self) -> dict[str, list[tuple[str, str, datetime | None]]]:
        """Per organisation account: (remote id, text, when) of what the server holds."""
        org = [st for st in self.mastodon.statuses if st["token"] == "Bearer model_org_token"]
        return {
            "org_m": [(st["id"], st["content"], _when(st["created_at"])) for st in org],
            "org_b": [(r["uri"], r["value"]["text"], self.bluesky.created.get(r["uri"])) for r in
                      self.bluesky.records.values()],
            "org_x": [(t["id"], t["text"], t.get("at")) for t in self.x.tweets],
        }


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class Model(RuleBasedStateMachine):
    """One organisation (Mastodon, Bluesky and X accounts), one campaign, staff, an organiser, supporters."""

    def __init__(self, base: Path, database_url: str, clock_start: datetime = START) -> None:
        super().__init__()
        self.clock = FakeClock(clock_start)
        self.servers = Servers(self.clock)
        self.dir = base / f"example-{next(_examples)}"
        self.dir.mkdir()
        campaigns_dir = self.dir / "campaigns"
        campaigns_dir.mkdir()
        (campaigns_dir / "targets.toml").write_text("", encoding="utf-8")
        write_campaign(campaigns_dir, accounts=f"accounts = {list(ORG_ACCOUNTS)!r}".replace("'", '"'),
                       languages='languages = ["en"]', ask='ask = "Grant them status"', targets="", link="",
                       hashtags="", schedule='[[schedule]]\nid = "later"\nat = [2027-06-01T09:00:00]',
                       messages=MESSAGES)
        url = database_url if database_url.startswith("postgresql") else f"sqlite:///{self.dir / 'bot.db'}"
        config = self.dir / "config.toml"
        config.write_text(f'[bot]\ndatabase_url = "{url}"\ncampaigns_dir = "{campaigns_dir}"\nlease_seconds = {LEASE}\n'
                          f'horizon_days = 2\nmax_attempts = 3\nretry_base_seconds = 5\n' + self.servers.config(),
                          encoding="utf-8")
        self.config = load_config(config)
        self.workers: list[App] = [self._worker()]
        plan(self.workers[0])
        self.texts = itertools.count(1)
        self.closed_since: dict[str, int] | None = None
        self.closed_spans: list[tuple[dict[str, int], dict[str, int] | None]] = []
        """While the campaign was closed: how many posts each account (and supporters' reblogs) had on the
        servers when it closed, and when it reopened (the clock stands still within a step: order, not time)."""
        self.approved: dict[int, dict[int, str]] = {}
        """approval id -> {delivery id: the text approved}."""
        self.supporters: list[int] = []
        self.revoked: set[str] = set()

    # -- the world ---------------------------------------------------------------------------------------

    def _worker(self) -> App:
        app = bootstrap(self.config, clock=self.clock)
        self.servers.x.mount(app.network("org_x"))
        return app

    @property
    def app(self) -> App:
        return self.workers[0]

    def teardown(self) -> None:
        try:
            self.settle()
            self.everything_on_the_servers_is_recorded_and_counted()
        finally:
            for app in self.workers:
                app.engine.dispose()
            self.servers.stop()

    def rows(self, **where: Any) -> list[DeliveryRow]:
        with self.app.sessions() as s:
            stmt = select(DeliveryRow).order_by(DeliveryRow.id)
            for k, v in where.items():
                stmt = stmt.where(getattr(DeliveryRow, k) == v)
            return list(s.scalars(stmt))

    def state(self) -> str:
        with self.app.sessions() as s:
            row = s.get(CampaignRow, "test")
            assert row is not None
            return row.state

    def run_worker(self) -> None:
        waves(self.app)
        Dispatcher(self.app).run_once()
        waves(self.app)
        Dispatcher(self.app).run_once()

    def settle(self) -> None:
        """Time passes with the servers well and every account enabled: the worker recovers, reads back and
        sends what it may (people's choices stay as they are: a stop, a pause, a close)."""
        for server in (self.servers.mastodon, self.servers.bluesky, self.servers.x):
            server.faults.clear()
        for account in list(self.revoked):
            account_actions.enable_account(self.app, Actor("admin", Role.ADMIN, Via.CLI), account)
        self.revoked.clear()
        for _ in range(4):
            self.clock.advance(timedelta(seconds=LEASE + 61))
            self.run_worker()

    # -- what people do ----------------------------------------------------------------------------------

    def _try(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ActionError:  # refused as a person would be: nothing changed
            return None

    @rule(when=st.sampled_from(["now", "later", "past"]), by_organiser=st.booleans(), needs_approval=st.booleans(),
          account=st.sampled_from([None, *ORG_ACCOUNTS]))
    def queue(self, when: str, by_organiser: bool, needs_approval: bool, account: str | None) -> None:
        at = {"now": self.clock.now(), "later": self.clock.now() + timedelta(minutes=30),
              "past": self.clock.now() - timedelta(hours=2)}[when]
        who = ORGANISER if by_organiser else STAFF
        before = len(self.rows(kind=Kind.QUEUED))
        self._try(posts.queue, self.app, who, "test", at=at, text=f"Appeal {next(self.texts)}: write to the minister",
                  account=account, approvals=Approvals(posts=needs_approval))
        if when == "past":
            assert len(self.rows(kind=Kind.QUEUED)) == before  # refused: a time in the past

    def _unsent(self) -> list[DeliveryRow]:
        return [d for d in self.rows(kind=Kind.QUEUED) if d.status in (Status.PLANNED, Status.AWAITING_APPROVAL)]

    @precondition(lambda self: bool(self._unsent()))
    @rule(pick=st.integers(0, 50), new_text=st.booleans(), by_organiser=st.booleans())
    def edit(self, pick: int, new_text: bool, by_organiser: bool) -> None:
        rows = self._unsent()
        d = rows[pick % len(rows)]
        who = ORGANISER if by_organiser else STAFF
        if new_text:
            self._try(posts.edit, self.app, who, d.id, text=f"Appeal {next(self.texts)}, reworded")
        else:
            self._try(posts.edit, self.app, who, d.id, at=self.clock.now() + timedelta(minutes=10))

    @precondition(lambda self: bool(self._unsent()))
    @rule(pick=st.integers(0, 50))
    def cancel(self, pick: int) -> None:
        rows = self._unsent()
        self._try(posts.cancel, self.app, STAFF, rows[pick % len(rows)].id)

    def _waiting(self) -> list[int]:
        with self.app.sessions() as s:
            return list(s.scalars(select(ApprovalRow.id).where(ApprovalRow.decision.is_(None))
                                  .order_by(ApprovalRow.id)))

    @precondition(lambda self: bool(self._waiting()))
    @rule(pick=st.integers(0, 50), approve=st.booleans())
    def decide(self, pick: int, approve: bool) -> None:
        waiting = self._waiting()
        approval = waiting[pick % len(waiting)]
        texts = {d.id: d.text for d in self.rows(approval_id=approval) if d.status == Status.AWAITING_APPROVAL}
        for decider in (STAFF2, STAFF):  # whoever did not ask for it
            result = self._try(approvals.decide, self.app, decider, approval, approve, "not now")
            if result is not None:
                if approve and result.changed:
                    self.approved[approval] = texts
                return

    @rule(change=st.sampled_from(["pause", "resume"]))
    def pause_or_resume(self, change: str) -> None:
        getattr(campaigns, change)(self.app, STAFF, "test")

    @rule(outcome=st.sampled_from(["success", "no_further_action"]), second_person=st.booleans(),
          a_supporter_undoes_then=st.booleans())
    def close(self, outcome: str, second_person: bool, a_supporter_undoes_then: bool) -> None:
        """Staff close the case (or ask a second person to); meanwhile a supporter may take their boosts back."""
        result = campaigns.close(self.app, STAFF, "test", outcome, None, Approvals(closes=second_person))
        if result.code == "closed":
            self.closed_since = self.servers.marks()
        if a_supporter_undoes_then and self.supporters:
            self.a_supporter_takes_their_boosts_back(0)

    @rule()
    def reopen(self) -> None:
        if campaigns.reopen(self.app, STAFF, "test").changed and self.closed_since is not None:
            self.closed_spans.append((self.closed_since, self.servers.marks()))
            self.closed_since = None

    @rule(stop=st.booleans())
    def emergency_stop(self, stop: bool) -> None:
        if stop:
            emergency.stop_everything(self.app, STAFF, "checking")
        else:
            emergency.lift_stop(self.app, STAFF)

    @initialize()
    def a_supporter_has_boosted_the_first_appeal(self) -> None:
        """Every example starts from a campaign under way: a supporter connected, one appeal out and boosted."""
        self.a_supporter_connects()
        self.queue("now", by_organiser=False, needs_approval=False, account=None)
        self.run_worker()

    @precondition(lambda self: len(self.supporters) < 2)
    @rule()
    def a_supporter_connects(self) -> None:
        n = len(self.supporters) + 1
        _, connected = supporters.connect(self.app, SUPPORTER, network="mastodon", name=f"supporter{n}",
                                          credentials={"access_token": f"supporter_{n}"}, instance="fake.local",
                                          api_base_url=self.servers.mastodon.url, handle=f"user{n}@fake.local",
                                          campaigns=None)
        self.supporters.append(connected.supporter.id)

    @precondition(lambda self: bool(self.supporters))
    @rule(pick=st.integers(0, 5))
    def a_supporter_takes_their_boosts_back(self, pick: int) -> None:
        self._try(supporters.undo_boosts, self.app, SUPPORTER, self.supporters[pick % len(self.supporters)])

    @precondition(lambda self: bool(self.supporters))
    @rule(pick=st.integers(0, 5))
    def a_supporter_leaves(self, pick: int) -> None:
        supporter = self.supporters[pick % len(self.supporters)]
        supporters.disconnect(self.app, SUPPORTER, supporter, "leaving")
        self.supporters.remove(supporter)

    # -- time, the worker, crashes, faults ---------------------------------------------------------------

    @rule(seconds=st.sampled_from([5, 61, 600, 3 * 3600]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    @rule()
    def the_worker_runs(self) -> None:
        self.run_worker()

    @rule(pick=st.integers(0, 50), went_out=st.booleans())
    def a_worker_dies_during_a_send(self, pick: int, went_out: bool) -> None:
        """Killed before the request left, or after the server answered and before the outcome was written."""
        dying = Dispatcher(self.app)
        due = dying.due_accounts()
        if not due:
            return
        claimed = dying.claim_next(due[pick % len(due)])
        if claimed is None:
            return
        if went_out:
            post: Post = dying.prepare(claimed)
            net = self.app.network(claimed.account_id)
            try:
                if claimed.action == Action.POST:
                    net.publish(post)
                elif claimed.action == Action.BOOST:
                    net.boost(post)  # type: ignore[attr-defined]
                else:
                    net.unboost(post)  # type: ignore[attr-defined]
            except NetworkError:
                pass  # a fault of the server's: it may or may not have gone out
        self.workers[0] = self._worker()  # a new worker (a new owner) starts; the dead one never beats

    @rule(pick=st.integers(0, 50))
    def a_slow_send_outlives_its_lease(self, pick: int) -> None:
        """A live worker's send takes longer than its lease (a slow server): another worker's recovery must not
        take it from it, and its outcome is recorded when it ends."""
        slow = Dispatcher(self.app)
        due = slow.due_accounts()
        if not due:
            return
        claimed = slow.claim_next(due[pick % len(due)])
        if claimed is None:
            return
        with self.app.engine.begin() as conn:
            beat(conn, self.app.owner, self.clock.now())
        self.clock.advance(timedelta(seconds=LEASE + 5))
        with self.app.engine.begin() as conn:
            beat(conn, self.app.owner, self.clock.now())  # still alive
        other = self._worker()
        Dispatcher(other).expire_leases()
        Dispatcher(other).run_once()
        [row] = self.rows(id=claimed.id)
        assert row.status == Status.SENDING and row.lease_owner == self.app.owner, \
            f"a live worker's send was taken from it: delivery {row.id} is {row.status}"
        slow.send(claimed)
        other.engine.dispose()
        with self.app.engine.begin() as conn:
            leave(conn, self.app.owner)

    @rule()
    def a_second_worker_takes_turns(self) -> None:
        """Two workers on one database, the next pass run by the other one."""
        if len(self.workers) == 1:
            self.workers.append(self._worker())
        self.workers.reverse()

    @rule(network=st.sampled_from(["org_m", "org_b", "org_x"]),
          fault=st.sampled_from(["lost_answer", "rate_limited", "error_after_write", "revoked"]))
    def a_server_fault(self, network: str, fault: str) -> None:
        server, method, path = {"org_m": (self.servers.mastodon, "POST", "/api/v1/statuses"),
                                "org_b": (self.servers.bluesky, "POST", "/xrpc/com.atproto.repo.createRecord"),
                                "org_x": (self.servers.x, "POST", "/2/tweets")}[network]
        if fault == "lost_answer":
            server.fail_next(method, path, None, went_through=True)
        elif fault == "rate_limited":
            server.fail_next(method, path, Response(429, {"error": "Too many requests"}, {"Retry-After": "60"}))
        elif fault == "error_after_write":
            server.fail_next(method, path, Response(500, {"error": "InternalServerError"}), went_through=True)
        elif network != "org_b":  # a revoked token (Bluesky's session logic is tested on its own)
            server.fail_next(method, path, Response(401, {"error": "The access token was revoked"}), count=1000)
            self.revoked.add(network)

    @precondition(lambda self: bool(self.revoked))
    @rule()
    def staff_fix_the_credentials(self) -> None:
        for server in (self.servers.mastodon, self.servers.x):
            server.faults.clear()
        for account in list(self.revoked):
            account_actions.enable_account(self.app, Actor("admin", Role.ADMIN, Via.CLI), account)
        self.revoked.clear()

    @rule()
    def everything_settles(self) -> None:
        self.settle()
        self.everything_on_the_servers_is_recorded_and_counted()

    # -- what must hold after every step -----------------------------------------------------------------

    @invariant()
    def nothing_is_published_twice_and_nothing_recorded_sent_is_missing(self) -> None:
        rows = [d for d in self.rows() if d.action == Action.POST]
        for account, held in self.servers.published().items():
            mine = [d for d in rows if d.account_id == account]
            for text_ in {t for _, t, _ in held}:
                on_server = sum(1 for _, t, _ in held if t == text_)
                maybe = [d for d in mine if _same(d.text, text_) and (
                    d.status in (Status.SENT, Status.UNKNOWN, Status.SENDING) or d.error_kind == ErrorKind.IN_DOUBT)]
                assert on_server <= len(maybe), f"{account}: {text_!r} published {on_server} times"
            ids = {rid for rid, _, _ in held}
            for d in mine:
                if d.status == Status.SENT:
                    assert d.remote_id in ids, f"delivery {d.id} recorded sent as {d.remote_id}, not on {account}"

    @invariant()
    def nothing_is_silently_dropped(self) -> None:
        for d in self.rows():
            if d.status == Status.CANCELLED:
                assert d.error_kind in REASONED and d.error, f"delivery {d.id} cancelled without a reason: {d.error}"
            elif d.status == Status.MISSED:
                assert d.error and "was due at" in d.error
            elif d.status in (Status.FAILED, Status.UNKNOWN):
                assert d.error, f"delivery {d.id} is {d.status} without a reason"

    @invariant()
    def no_call_to_action_goes_out_while_the_campaign_is_closed(self) -> None:
        spans = [*self.closed_spans, *([(self.closed_since, None)] if self.closed_since is not None else [])]
        seen: dict[str, list[tuple[str, str, datetime | None]]] = {
            **self.servers.published(), "reblogs": [("", st["content"], None) for st in self.servers.boosted()]}
        for start, end in spans:
            for account, posts_ in seen.items():
                upto = end[account] if end is not None else len(posts_)
                late = [t for _, t, _ in posts_[start[account]:upto] if t not in CLOSINGS]
                assert not late, f"{account}: {late} went out while the campaign was closed"

    @invariant()
    def each_closing_replies_under_the_last_post_that_went_out(self) -> None:
        sent = sorted((d for d in self.rows(status=Status.SENT) if d.action == Action.POST),
                      key=lambda d: (as_utc(d.sent_at), d.id))  # type: ignore[arg-type]
        for closing in (d for d in sent if d.kind == Kind.CLOSING):
            before = [d for d in sent if d.account_id == closing.account_id and d.id != closing.id
                      and (as_utc(d.sent_at), d.id) < (as_utc(closing.sent_at), closing.id)]  # type: ignore[arg-type]
            expected = before[-1].remote_id if before else None
            assert closing.in_reply_to == expected, f"closing {closing.id} replies under {closing.in_reply_to}"

    @invariant()
    def what_goes_out_after_an_approval_is_what_was_approved(self) -> None:
        with self.app.sessions() as s:
            decided = {a.id: a.decision for a in s.scalars(select(ApprovalRow))}
        for d in self.rows():
            if d.approval_id is None or d.status in (Status.AWAITING_APPROVAL, Status.CANCELLED):
                continue
            assert decided.get(d.approval_id) == Decision.APPROVED, f"delivery {d.id} is {d.status} unapproved"
            assert self.approved[d.approval_id].get(d.id) == d.text, f"delivery {d.id} changed after its approval"

    @invariant()
    def a_closed_campaign_has_nothing_pending_but_its_closings_and_take_backs(self) -> None:
        if self.state() != CampaignState.CLOSED:
            return
        for d in self.rows():
            if d.status in (Status.PLANNED, Status.AWAITING_APPROVAL):
                assert d.kind == Kind.CLOSING or d.action == Action.UNBOOST, \
                    f"closed, yet delivery {d.id} ({d.kind}, {d.action}) is {d.status}"

    def everything_on_the_servers_is_recorded_and_counted(self) -> None:
        """Once settled: nothing is in flight, every post on the servers is recorded sent (or, on X, which
        cannot always tell, left to a person), and `status` counts what the servers hold."""
        rows = self.rows()
        assert not [d.id for d in rows if d.status == Status.SENDING]
        for account, held in self.servers.published().items():
            recorded = {d.remote_id for d in rows if d.account_id == account and d.status == Status.SENT
                        and d.action == Action.POST}
            unrecorded = [t for rid, t, _ in held if rid not in recorded]
            unknown = [d for d in rows if d.account_id == account and d.status == Status.UNKNOWN]
            assert len(unrecorded) <= (len(unknown) if account == "org_x" else 0), \
                f"{account}: on the server but not recorded sent: {unrecorded}"
        readable = {"org_m", "org_b"} | {f"supporter:{n}" for n in self.supporters}
        unsettled = [(d.id, d.account_id) for d in rows if d.status == Status.UNKNOWN and d.account_id in readable]
        assert not unsettled, f"left to a person though the network can tell: {unsettled}"
        if not reports.status(self.app)["emergency_stop"]["active"]:
            state, now = self.state(), self.clock.now()
            waiting = [(d.id, d.kind, d.action) for d in rows if d.status == Status.PLANNED and as_utc(d.due_at) <= now
                       and (d.action == Action.UNBOOST or (state == CampaignState.CLOSED and d.kind == Kind.CLOSING)
                            or (state == CampaignState.ACTIVE and d.kind != Kind.CLOSING))]
            assert not waiting, f"due, free to go, and still waiting: {waiting}"
        counts = next(c for c in reports.status(self.app)["campaigns"] if c["id"] == "test")
        org_sent = [d for d in rows if d.status == Status.SENT]
        assert counts["sent"] == len(org_sent)
        on_servers = sum(len(v) for v in self.servers.published().values())
        posts_sent = [d for d in org_sent if d.action == Action.POST]
        assert on_servers >= len(posts_sent) and on_servers - len(posts_sent) <= counts["unknown"]


def _same(recorded: str, published: str) -> bool:
    """A text as the server shows it (X shortens links; none of these texts has one)."""
    return recorded.strip() == published.strip()


_examples = itertools.count()


@pytest.fixture
def model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.supporters.crypto import new_key

    monkeypatch.setenv("MODEL_ORG_TOKEN", "model_org_token")
    monkeypatch.setenv("MODEL_BSKY_PASSWORD", "abcd-efgh-ijkl-mnop")
    for name in ("CK", "CS", "AT", "ATS"):
        monkeypatch.setenv(f"MODEL_X_{name}", f"model-{name.lower()}")
    monkeypatch.setenv("CAMPAIGN_BOT_SECRET_KEY", new_key())


@pytest.mark.parametrize("database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_every_promise_holds_through_actions_crashes_and_faults(database_url: str, tmp_path: Path,
                                                               model_env: None) -> None:
    postgres = database_url.startswith("postgresql")
    examples = EXAMPLES or (15 if postgres else 30)

    def machine() -> Model:
        if postgres:
            empty(database_url)
        return Model(tmp_path, database_url)

    run_state_machine_as_test(machine, settings=settings(  # type: ignore[arg-type]  # a factory works as well
        max_examples=examples, stateful_step_count=40, deadline=None, derandomize=not EXAMPLES,
        database=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))


def test_the_model_test_is_not_vacuous(tmp_path: Path, model_env: None) -> Iterator[None] | None:
    """The model's worker does send: a queued post goes out on all three networks and is recorded sent."""
    model = Model(tmp_path, "sqlite")
    try:
        model.queue("now", by_organiser=False, needs_approval=False, account=None)
        model.run_worker()
        assert {d.account_id for d in model.rows(status=Status.SENT)} == set(ORG_ACCOUNTS)
        assert all(len(v) == 1 for v in model.servers.published().values())
        model.nothing_is_published_twice_and_nothing_recorded_sent_is_missing()
    finally:
        model.teardown()
    return None
