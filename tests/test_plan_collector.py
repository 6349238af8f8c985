"""The cyclic garbage collector is paused while a plan runs (bot/planning/collector.py), and given back as it
was found: the setting is process-wide, so pauses nest and overlap across threads."""

from __future__ import annotations

import gc
import threading

import pytest

from bot.planning.collector import collector_paused
from bot.worker.plan import plan
from tests.conftest import write_campaign


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_runs_again_only_when_the_last_of_overlapping_pauses_ends(collector_on):
    first, second = collector_paused(), collector_paused()
    first.__enter__()
    assert not gc.isenabled()
    second.__enter__()
    first.__exit__(None, None, None)  # the first to begin ends first: the second still runs
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_pauses_in_several_threads_give_the_collector_back_when_all_have_ended(collector_on):
    inside, release = threading.Barrier(5), threading.Event()
    seen: list[bool] = []

    def planner() -> None:
        with collector_paused():
            inside.wait()
            seen.append(gc.isenabled())
            release.wait(5)

    threads = [threading.Thread(target=planner) for _ in range(4)]
    for t in threads:
        t.start()
    inside.wait()
    assert not gc.isenabled()
    release.set()
    for t in threads:
        t.join()
    assert seen == [False] * 4 and gc.isenabled()


def test_a_collector_someone_else_disabled_stays_disabled(collector_on):
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_a_pause_that_fails_gives_the_collector_back(collector_on):
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the files could not be read")
    assert gc.isenabled()


def test_a_plan_runs_no_cyclic_collection_until_it_ends(make_app, campaigns_dir, collector_on):
    for n in range(3):
        write_campaign(campaigns_dir, f"c{n}")
    app = make_app()
    collections: list[int] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    thresholds = gc.get_threshold()
    gc.set_threshold(100, 1, 1)  # without the pause, a plan of three campaigns would start dozens
    gc.collect()  # counts from zero
    gc.callbacks.append(seen)
    try:
        report = plan(app)
    finally:
        gc.callbacks.remove(seen)
        gc.set_threshold(*thresholds)
    assert report.inserted > 0
    # None while it ran (without the pause: about 70); what it held back is looked at once, as it ends.
    assert collections in ([], [0]) and gc.isenabled()
