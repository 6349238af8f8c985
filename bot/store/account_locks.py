"""PostgreSQL advisory locks, one worker per account at a time (so an account's posts stay in order when
several workers share the database), held on one connection per worker. On SQLite there is one worker, so
account locks always succeed."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import select as sockets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import BigInteger, Connection, Engine, bindparam, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from bot.store.raw import Raw

log = logging.getLogger(__name__)
T = TypeVar("T")
# The locks of accounts not kept are taken by the runs waiting for them, together (AccountLocks.take): one account
# (as a rule) runs raw, as the hot path's statements do (bot/store/raw.py); several, one statement over an array.
_TRY_LOCK = Raw(select(func.pg_try_advisory_lock(bindparam("b_key", type_=BigInteger())).label("got")))
_UNLOCK_ALL = Raw(select(func.pg_advisory_unlock_all().label("done")))
_TRY_LOCKS = text("SELECT k, pg_try_advisory_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k")
_UNLOCK = text("SELECT count(*) FILTER (WHERE pg_advisory_unlock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k")



def idle_keep(concurrency: int) -> int:
    """How many idle account locks a worker keeps, all on its one lock connection (each is an entry of
    PostgreSQL's shared lock table, 64 per allowed connection by default: a few workers' worth fit easily)."""
    return max(4 * concurrency, 256)



def account_key(account_id: str) -> int:
    """A stable signed 64-bit key for an account's lock."""
    return int.from_bytes(hashlib.blake2b(f"account:{account_id}".encode(), digest_size=8).digest(), "big",
                          signed=True)



@dataclass
class _Want:
    """A run waiting for its account's lock (AccountLocks.take): its answer once ``done``; ``lead``: it takes
    the locks wanted (AccountLocks._lead). ``ready`` is set for either."""

    account_id: str
    hold: Hold | None = None
    error: BaseException | None = None
    done: bool = False
    lead: bool = False
    ready: threading.Event = field(default_factory=threading.Event)

    def answer(self, hold: Hold | None, error: BaseException | None = None) -> None:
        self.hold, self.error, self.done = hold, error, True
        self.ready.set()


@dataclass(frozen=True)
class Hold:
    """An account's lock, as a run holds it: ``fresh``, taken for this run (not kept from an earlier one);
    ``epoch``, the lock connection's life it was taken in (see AccountLocks.holds)."""

    account_id: str
    fresh: bool
    epoch: int


class AccountLocks:
    """Every busy account's advisory lock, held on one autocommit connection of this worker's (the lock
    connection), kept between the account's runs: a post costs no lock, unlock or pool checkout. The work runs
    on other connections (each sender thread's own). A lock idle for ``idle_seconds`` is let go (another worker
    may then take the account), and about ``keep`` idle ones are held (each is one entry of PostgreSQL's
    shared lock table; a quarter more before the oldest are let go together). On SQLite, with one worker,
    there is nothing to lock.

    The lock connection can die alone (a restart of the server, pg_terminate_backend), every lock with it,
    while the work goes on elsewhere: `holds`, asked before each claim, looks whether the server has said
    anything on that connection (a terminated backend sends its reason and closes the socket; an idle lock
    connection is otherwise silent), without a round trip; when it has, the connection is tested and, dead,
    every run ends before its next claim and takes its lock again."""

    def __init__(self, engine: Engine, keep: int, idle_seconds: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic, stopping: threading.Event | None = None) -> None:
        self.engine = engine
        self.stopping = stopping or threading.Event()  # set: every lock given back is let go at once
        self.keep = keep
        self.idle_seconds = idle_seconds
        self._monotonic = monotonic
        self._postgres = engine.dialect.name == "postgresql"
        self._conn: Connection | None = None
        self._epoch = 0
        self._idle: OrderedDict[str, float] = OrderedDict()  # held, not running: when each was last used
        self._busy: set[str] = set()  # held, running
        self._slack = max(16, keep // 4)
        # Two mutexes: ``_lock`` for the state above, held for no round trip; ``_talking`` for the lock
        # connection, one statement at a time. A thread that needs both takes ``_talking`` first. A run that
        # ends (give_back) or asks whether its lock holds never waits for another account's lock being taken.
        self._lock = threading.Lock()
        self._talking = threading.Lock()
        self._wanted: list[_Want] = []  # runs waiting for their account's lock to be taken
        self._leading = False  # a run is taking the wanted locks, or about to (see take)

    def take(self, account_id: str) -> Hold | None:
        """The account's lock for a run, or None when another worker holds it. Raises the database's error
        when the lock connection cannot be had (the run does not start).

        Locks not kept are taken on the one lock connection, one statement at a time; runs that start while a
        statement is under way wait for the connection, and the first to get it takes every lock wanted by
        then in one statement (a wave of supporters' boosts starts hundreds of runs a second, each for an
        account of its own: one round trip each, in turn, capped the wave at the connection's rate)."""
        if not self._postgres:
            return Hold(account_id, False, 0)
        self._check()
        kept = self._kept(account_id)
        if kept is not None:
            return kept
        want = _Want(account_id)
        with self._lock:
            self._wanted.append(want)
            if not self._leading:
                self._leading = want.lead = True
        if not want.lead:
            try:
                want.ready.wait()  # answered, or made the next to take the locks wanted
            except BaseException:  # interrupted while waiting: nobody may wait for this run to lead
                self._abandon(want)
                raise
        if not want.done:
            self._lead()
        if want.error is not None:
            raise want.error
        return want.hold

    def _lead(self) -> None:
        """Take every lock wanted so far (this run's among them), then hand the lead to a run that came
        meanwhile: no run waits for more than the statement under way and its own."""
        try:
            with self._talking:
                self._take_wanted()
        finally:
            with self._lock:
                following = self._pass_lead()
            if following is not None:
                following.ready.set()

    def _pass_lead(self) -> _Want | None:
        """Under ``_lock``: the lead to the first run still waiting (returned, to be woken), or to none: the
        next run to come takes it."""
        following = self._wanted[0] if self._wanted else None
        if following is None:
            self._leading = False
        else:
            following.lead = True
        return following

    def _abandon(self, want: _Want) -> None:
        """A run that stopped waiting for its lock: out of the queue, and the lead passed on if it had it."""
        with self._lock:
            if want in self._wanted:
                self._wanted.remove(want)
            if not want.lead or want.done:
                return
            following = self._pass_lead()
        if following is not None:
            following.ready.set()

    def _take_wanted(self) -> None:
        """Under ``_talking``: every lock wanted so far, in one statement; each waiting run gets its answer."""
        with self._lock:
            wanted, self._wanted = self._wanted, []
            asked: dict[str, list[_Want]] = {}
            for want in wanted:
                kept = self._kept_locked(want.account_id)  # another run took it meanwhile: held already
                if kept is not None:
                    want.answer(kept)
                else:
                    asked.setdefault(want.account_id, []).append(want)
        if not asked:
            return
        keys = [account_key(a) for a in asked]
        try:
            got: dict[int, bool] = dict(self._on_lock_connection(
                lambda conn: [(keys[0], bool(_TRY_LOCK.execute(conn, {"b_key": keys[0]})[1].got))] if len(keys) == 1
                else [(r[0], r[1]) for r in conn.execute(_TRY_LOCKS, {"keys": keys})]))
        except BaseException as exc:
            if not isinstance(exc, SQLAlchemyError):  # (that one ran _lost) the server may hold some of them now
                self._lost()
            for wants in asked.values():
                for want in wants:
                    want.answer(None, exc)
            raise
        with self._lock:  # the epoch cannot have changed: it changes with the connection, which is ours now
            for account_id, wants in asked.items():
                if got.get(account_key(account_id)):
                    self._busy.add(account_id)
                    wants[0].answer(Hold(account_id, True, self._epoch))
                    for other in wants[1:]:  # a second run of the same account: the lock is held, not fresh
                        other.answer(Hold(account_id, False, self._epoch))
                else:
                    for want in wants:
                        want.answer(None)

    def _kept(self, account_id: str) -> Hold | None:
        with self._lock:
            return self._kept_locked(account_id)

    def _kept_locked(self, account_id: str) -> Hold | None:
        """Under ``_lock``: the account's lock for a run when this worker holds it already."""
        if self._idle.pop(account_id, None) is not None or account_id in self._busy:
            self._busy.add(account_id)
            return Hold(account_id, False, self._epoch)
        return None

    def holds(self, hold: Hold) -> bool:
        """Whether the run's lock is still held (asked before each claim): no round trip unless the server
        spoke on the lock connection."""
        if not self._postgres:
            return True
        with self._lock:
            if hold.epoch != self._epoch:
                return False
        self._check()
        with self._lock:
            return hold.epoch == self._epoch

    def give_back(self, hold: Hold) -> None:
        """The run ended: its lock is kept, idle, for the account's next run (let go at once while stopping)."""
        if not self._postgres:
            return
        with self._lock:
            if hold.epoch != self._epoch:
                return  # lost with the connection that held it
            self._busy.discard(hold.account_id)
            self._idle[hold.account_id] = self._monotonic()
            self._idle.move_to_end(hold.account_id)  # oldest first: see sweep
            if self.stopping.is_set():
                going = self._pop_idle(list(self._idle))
            elif len(self._idle) > self.keep + self._slack:  # the least recently used, down to keep: in one
                # statement for every `slack` runs (with more accounts than kept, not one per run)
                going = self._pop_idle(list(self._idle)[:len(self._idle) - self.keep])
            else:
                return
        self._unlock(*going)

    def sweep(self) -> None:
        """Let go of the locks of accounts idle for longer than ``idle_seconds`` (one statement when any). The
        dispatch loop sweeps on every pass (about one per post in steady state): the idle locks are kept oldest
        first, so a sweep looks at the ones it lets go and one more, not at every lock kept."""
        if not self._postgres:
            return
        cutoff = self._monotonic() - self.idle_seconds
        with self._lock:
            going = self._pop_idle(list(itertools.takewhile(lambda a: self._idle[a] < cutoff, self._idle)))
        self._unlock(*going)

    def release(self, account_ids: Iterable[str]) -> None:
        """Let go of these accounts' idle locks, if we keep them (they wait for a free sender: another worker
        may take them meanwhile). One statement."""
        if not self._postgres:
            return
        with self._lock:
            going = self._pop_idle([a for a in account_ids if a in self._idle])
        self._unlock(*going)

    def close(self) -> None:
        """Let go of every lock and close the lock connection."""
        with self._talking:
            with self._lock:
                conn, self._conn = self._conn, None
                self._idle.clear()
                self._busy.clear()
                self._epoch += 1
            if conn is not None:
                _let_go(conn)

    @property
    def held(self) -> set[str]:
        with self._lock:
            return set(self._idle) | self._busy

    def _pop_idle(self, account_ids: list[str]) -> tuple[list[str], int]:
        """Under ``_lock``: these idle locks are no longer kept; (them, the connection's epoch) for _unlock."""
        for account_id in account_ids:
            self._idle.pop(account_id, None)
        return account_ids, self._epoch

    # -- on the lock connection: under self._talking, never under self._lock -------------------------------

    def _unlock(self, account_ids: list[str], epoch: int) -> None:
        """Let go of locks _pop_idle took out of the state. A take of one of them meanwhile is safe either way:
        a session's advisory locks count (the take before the unlock holds it once more; after, takes it again)."""
        if not account_ids:
            return
        keys = [account_key(a) for a in account_ids]
        with self._talking:
            if epoch != self._epoch:
                return  # they died with the connection that held them
            try:
                self._on_lock_connection(lambda conn: conn.execute(_UNLOCK, {"keys": keys}))
            except SQLAlchemyError:  # the connection died, and every lock with it
                log.warning("could not let %d account lock(s) go: their connection was lost (so were they)",
                            len(keys))

    def _on_lock_connection(self, step: Callable[[Connection], T]) -> T:
        if self._conn is None:
            self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            return step(self._conn)
        except SQLAlchemyError:
            self._lost()
            raise

    def _check(self) -> None:
        """Has the server said something on the idle lock connection (its end, as a rule)? Then test it. Not
        while another thread's statement is under way on it (its answer is on the socket; that statement finds
        a dead connection itself)."""
        if not self._talking.acquire(blocking=False):
            return
        try:
            conn = self._conn
            if conn is None:
                return
            driver = conn.connection.driver_connection
            try:
                spoke = driver is None or driver.closed or bool(sockets.select([driver.fileno()], [], [], 0)[0])
            except (OSError, ValueError):  # a closed socket
                spoke = True
            if spoke:
                with contextlib.suppress(SQLAlchemyError):  # dead: _lost() has run
                    self._on_lock_connection(lambda c: c.execute(text("SELECT 1")))
        finally:
            self._talking.release()

    def _lost(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if self._idle or self._busy:
                log.warning("the connection holding %d account lock(s) was lost, and the locks with it: the "
                            "accounts' runs end before their next post and take their locks again",
                            len(self._idle) + len(self._busy))
            self._idle.clear()
            self._busy.clear()
            self._epoch += 1
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.invalidate()
            with contextlib.suppress(SQLAlchemyError):
                conn.close()


def _let_go(conn: Connection) -> None:
    try:
        _UNLOCK_ALL.execute(conn, {})
        conn.close()
    except SQLAlchemyError:  # a dead connection: its locks died with it
        conn.invalidate()
        conn.close()
