"""A delivery is an action an account performs: `post` today; the dispatcher routes each claimed delivery's
action to the adapter, and an adapter that does not perform an action fails that delivery with a reason."""

from sqlalchemy import update

from bot.networks.base import Booster, Post, Published
from bot.states import Action, Status
from bot.store.models import DeliveryRow
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import deliveries, write_campaign
from tests.fakes import FakeNetwork
from tests.test_dispatch import LATER


class BoostingNetwork(FakeNetwork, Booster):
    """A network that declares it can also boost (reblog/repost); records what it boosted."""

    def __init__(self, account_id: str) -> None:
        super().__init__(account_id)
        self.boosted: list[int] = []

    def boost(self, post: Post) -> Published:
        self.boosted.append(post.delivery_id)
        return Published(f"boost-{post.delivery_id}", None)

    def unboost(self, post: Post) -> Published:
        self.boosted.remove(int(post.text))
        return Published(f"unboost-{post.delivery_id}", None)


def queued_app(make_app, campaigns_dir, clock, net):
    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]', ask='ask = "Act"',
                   schedule=LATER)
    app = make_app(networks={"a1": net}, accounts=("a1",))
    plan(app)
    lifecycle.queue(app, "test", clock.now(), "first", "t")
    lifecycle.queue(app, "test", clock.now(), "second", "t")
    return app


def test_new_deliveries_are_posts_and_are_published(make_app, campaigns_dir, clock):
    net = FakeNetwork("a1")
    app = queued_app(make_app, campaigns_dir, clock, net)
    Dispatcher(app).run_once()
    assert {d.action for d in deliveries(app, kind="queued")} == {Action.POST}
    assert net.texts == ["first", "second"]


def test_each_action_goes_to_the_adapter_method_that_performs_it(make_app, campaigns_dir, clock):
    net = BoostingNetwork("a1")
    app = queued_app(make_app, campaigns_dir, clock, net)
    first, second = deliveries(app, kind="queued")
    with app.engine.begin() as conn:
        conn.execute(update(DeliveryRow).where(DeliveryRow.id == second.id).values(action=Action.BOOST))
    Dispatcher(app).run_once()
    assert net.texts == ["first"] and net.boosted == [second.id]
    assert [d.status for d in deliveries(app, kind="queued")] == [Status.SENT, Status.SENT]


def test_an_action_the_adapter_does_not_perform_fails_with_a_reason_and_the_rest_go_on(make_app, campaigns_dir,
                                                                                        clock):
    net = FakeNetwork("a1")
    app = queued_app(make_app, campaigns_dir, clock, net)
    first, second = deliveries(app, kind="queued")
    with app.engine.begin() as conn:
        conn.execute(update(DeliveryRow).where(DeliveryRow.id == first.id).values(action=Action.UNBOOST))
    Dispatcher(app).run_once()
    failed, sent = deliveries(app, kind="queued")
    assert failed.status == Status.FAILED and "cannot unboost" in failed.error and net.calls == 1
    assert sent.status == Status.SENT and net.texts == ["second"]
