"""The wall clock jumping forward and back (NTP corrections, a suspended VM): no burst, no double post."""

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from bot.states import Status
from bot.store.models import DeliveryRow
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests.conftest import write_campaign
from tests.fakes import FakeNetwork


def statuses(app):
    with app.sessions() as s:
        return Counter(s.scalars(select(DeliveryRow.status)))


def test_jumps_forward_and_back_never_burst_or_repeat(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir, languages='languages = ["en"]', ask='ask = "Act"', accounts='accounts = ["a1"]',
                   schedule='[[schedule]]\nid = "hourly"\ncron = "0 * * * *"', extra="grace_minutes = 30")
    net = FakeNetwork("a1", idempotent=False)  # count every publish: a resend would show
    app = make_app(networks={"a1": net}, accounts=("a1",), horizon_days=1, lease_seconds=300)
    d = Dispatcher(app)

    def tick(minutes: int, steps: int) -> None:
        for _ in range(steps):
            clock.advance(timedelta(minutes=minutes))
            plan(app)
            d.run_once()

    tick(10, 12)  # two normal hours from 13:00: the 13:00 (within grace), 14:00 and 15:00 posts
    assert len(net.posts) == 3
    clock.advance(timedelta(hours=5))  # jump forward 5 h
    plan(app)
    d.run_once()
    # Only the slot within the 30-minute grace goes out; the older ones are missed, not a burst.
    assert len(net.posts) == 3 + 1 and statuses(app)[Status.MISSED] == 4
    clock.advance(timedelta(hours=-3))  # jump back 3 h: those slots were decided already
    tick(10, 18)
    assert statuses(app)[Status.SENT] == len(net.posts)
    clock.advance(timedelta(hours=3))
    tick(10, 6)
    sent_ids = [p.post.delivery_id for p in net.posts]
    assert len(sent_ids) == len(set(sent_ids))  # never the same delivery twice
    assert len(net.texts) == statuses(app)[Status.SENT]


def test_a_jump_back_while_a_post_is_claimed_does_not_duplicate_it(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir, languages='languages = ["en"]', ask='ask = "Act"', accounts='accounts = ["a1"]')
    net = FakeNetwork("a1", idempotent=False)
    app = make_app(networks={"a1": net}, accounts=("a1",), horizon_days=1, lease_seconds=60)
    other = make_app(networks={"a1": net}, accounts=("a1",), horizon_days=1, lease_seconds=60)
    assert other.owner != app.owner  # a second worker on the same database, posting to the same account
    plan(app)
    clock.advance(timedelta(hours=1))
    first = Dispatcher(app)
    claimed = first.claim_next("a1")
    clock.advance(timedelta(hours=-2))  # the lease now looks two hours long: nobody else takes it
    assert Dispatcher(other).run_once() == 0
    first.send(claimed, first.prepare(claimed))
    clock.advance(timedelta(hours=2, minutes=5))
    first.run_once()
    assert [p.post.delivery_id for p in net.posts].count(claimed.id) == 1
