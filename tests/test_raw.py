"""Raw (bot/outbox/raw.py) runs the hot path's statements on the driver's cursor: what it sends must be what
SQLAlchemy's own conn.execute sends for the same statement (captured by a before_cursor_execute event), and
what it reads back what SQLAlchemy's result gives, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event

from bot.outbox import budgets, claim, record
from bot.outbox import tick as ticks
from tests.conftest import deliveries
from tests.test_dispatch import one_post_app


def by_sqlalchemy(conn, steps) -> list[tuple[str, Any, int, Any]]:
    """What conn.execute gives the driver for each step, rows changed and the row read back (rolled back)."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, sql, parameters, _context, _many):
        seen.append((sql, parameters))

    done = []
    event.listen(conn.engine, "before_cursor_execute", capture)
    try:
        with conn.begin() as transaction:
            for raw, params in steps:
                result = conn.execute(raw.statement, params)
                row = result.one() if result.returns_rows else None
                done.append((result.rowcount, row))
            transaction.rollback()
    finally:
        event.remove(conn.engine, "before_cursor_execute", capture)
    return [(sql, parameters, changed, row) for (sql, parameters), (changed, row) in zip(seen, done, strict=True)]


def by_raw(conn, steps) -> list[tuple[int, Any]]:
    with conn.begin() as transaction:
        done = [raw.execute(conn, params) for raw, params in steps]
        transaction.rollback()
    return done


def same(ours: Any, theirs: Any) -> None:
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and ours.keys() == theirs.keys()
        for name in theirs:
            same(ours[name], theirs[name])
    elif isinstance(theirs, list | tuple):
        assert isinstance(ours, list | tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            same(a, b)
    elif hasattr(theirs, "obj"):  # psycopg's Json wrapper (no equality of its own)
        assert type(ours) is type(theirs) and ours.obj == theirs.obj
    else:
        assert type(ours) in (type(theirs), str) and ours == theirs, (ours, theirs)


def test_raw_sends_what_sqlalchemy_sends_and_reads_what_it_reads(make_app, campaigns_dir, clock):
    app, _ = one_post_app(make_app, campaigns_dir, clock)
    [delivery] = deliveries(app, kind="queued")
    now = clock.now() + timedelta(microseconds=123456)  # microseconds: a SQLite text without them compares wrong
    claim_params = {"b_id": delivery.id, "b_now": now, "b_owner": "w1", "b_lease": now + timedelta(minutes=5),
                    "b_read_since": now - timedelta(minutes=10)}
    sent_params = {"b_id": delivery.id, "b_owner": "w1", "b_now": now, "b_remote_id": "r1", "b_url": "https://x/r1",
                   "b_ref": {"cid": "c1", "n": [1, 2]}, "b_reply": "r0", "b_root": {"id": "r0", "ref": {}}}
    steps = [(claim._TAKE_ONE, claim_params), (record._SENT_REPLY, sent_params)]
    with app.engine.connect() as conn:
        theirs, ours = by_sqlalchemy(conn, steps), by_raw(conn, steps)
        for (raw, params), (sql, parameters, changed, row), (our_changed, our_row) in zip(steps, theirs, ours,
                                                                                          strict=True):
            our_sql, our_parameters = raw.render(conn.dialect, params)
            assert our_sql == sql
            same(our_parameters, parameters)
            assert our_changed == 1
            if row is None:
                assert changed == 1
            else:  # (SQLAlchemy's rowcount of an UPDATE ... RETURNING on sqlite3 is 0, taken before the fetch)
                assert tuple(our_row) == tuple(row) and our_row._fields == tuple(row._fields)
                assert our_row.due_at == delivery.due_at and our_row.due_at.tzinfo is not None
                assert (our_row.media, our_row.text, our_row.attempts) == ([], delivery.text, 1)


def test_the_batch_read_and_the_ticks_queries_read_every_row_as_sqlalchemy_does(make_app, campaigns_dir, clock):
    """The reads of the hot path (the account's due batch, the tick's due accounts and next due time) run raw
    too: the same SQL and parameters as conn.execute, and every row read back the same, types included (a
    media list from JSON, a boolean, a datetime with its zone)."""
    app, _ = one_post_app(make_app, campaigns_dir, clock)
    [delivery] = deliveries(app, kind="queued")
    due_now = delivery.due_at + timedelta(microseconds=1)
    steps = [(claim._DUE, {"b_account": delivery.account_id, "b_now": due_now, "b_limit": 20}, 1),
             (ticks._TICK, {"b_now": delivery.due_at - timedelta(minutes=1), "b_until": delivery.due_at
                            - timedelta(minutes=1), "b_ahead": 0, "b_cap": 10, "b_after": ""},
              1),  # no account due, the next time
             (ticks._TICK, {"b_now": delivery.due_at - timedelta(minutes=1), "b_until": due_now,
                            "b_ahead": 10, "b_cap": 10, "b_after": ""}, 2),  # the post in the look-ahead, the next time
             (ticks._TICK, {"b_now": due_now, "b_until": due_now, "b_ahead": 0, "b_cap": 10, "b_after": ""},
              2),  # its account, no next time
             (budgets._used_statement(2), {"b_account": delivery.account_id, "b_since_0": due_now - timedelta(hours=1),
                                           "b_since_1": due_now - timedelta(days=1),
                                           "b_widest": due_now - timedelta(days=1)}, 1)]  # a rate budget's counts
    with app.engine.connect() as conn:
        for raw, params, count in steps:
            seen: list[tuple[str, Any]] = []

            def capture(_conn, _cursor, sql, parameters, _context, _many, seen=seen):
                seen.append((sql, parameters))

            event.listen(conn.engine, "before_cursor_execute", capture)
            try:
                theirs = conn.execute(raw.statement, params).all()
            finally:
                event.remove(conn.engine, "before_cursor_execute", capture)
            conn.rollback()
            ours = raw.all(conn, params)
            conn.rollback()
            [(sql, parameters)] = seen
            our_sql, our_parameters = raw.render(conn.dialect, params)
            assert our_sql == sql
            same(our_parameters, parameters)
            assert len(ours) == len(theirs) == count
            for our_row, row in zip(ours, theirs, strict=True):
                assert tuple(our_row) == tuple(row) and our_row._fields == tuple(row._fields)
                assert [type(v) for v in our_row] == [type(v) for v in row]
    with app.engine.connect() as conn:
        [row] = claim._DUE.all(conn, steps[0][1])
        assert (row.id, row.media, bool(row.misconfigured)) == (delivery.id, [], False)
        assert row.due_at == delivery.due_at and row.due_at.tzinfo is not None
        assert ticks.tick(conn, delivery.due_at - timedelta(minutes=1)) == ticks.Tick([], delivery.due_at)
        assert ticks.tick(conn, due_now) == ticks.Tick([delivery.account_id], None)
        before = delivery.due_at - timedelta(minutes=1)
        ahead = ticks.tick(conn, before, ahead=timedelta(minutes=2))
        assert [(u.due_at, u.account_id, u.id, u.misconfigured) for u in ahead.upcoming] == [
            (delivery.due_at, delivery.account_id, delivery.id, False)]
        assert ahead.known_until == before + timedelta(minutes=2) and ahead.next_due == delivery.due_at


def test_the_planners_bulk_insert_stores_what_sqlalchemys_insert_stores(make_app, campaigns_dir, clock):
    """The planner's insert runs on the driver's cursor, each distinct value processed once: every column reads
    back as it does after SQLAlchemy's own insert of the same rows (datetimes, enums, JSON, booleans, NULLs)."""
    from sqlalchemy import insert, select

    from bot.outbox.new import new_delivery
    from bot.outbox.staff import insert_planned
    from bot.outbox.tables import DELIVERIES
    from bot.states import Kind

    app, _ = one_post_app(make_app, campaigns_dir, clock)
    now = clock.now() + timedelta(microseconds=654321)
    media = [{"path": "/tmp/a b\\c.png", "alt": "A \"quoted\"\ttab\nline\\N é 🙂"}]
    # What PostgreSQL's COPY text format escapes or reads specially (the planner writes it there itself).
    texts = ["Text", "tab\there", "new\nline\r\nand CR\r", "back\\slash \\N \\t \\.", "\\N", "",
             "é ünïcode 🙂 中文", "\\\n\t\\"]

    def rows(prefix: str) -> list:
        return [new_delivery(plan_key=f"{prefix}|{i}", campaign_id="test", account_id="a1", network="console",
                             kind=Kind.CALL_TO_ACTION if i % 2 else Kind.UPDATE, language="en", text=text,
                             due_at=now + timedelta(minutes=i % 2), now=now, rule_id=None if i == 0 else "r",
                             variant=i if i else None, media=media if i == 2 else [], reply_in_thread=i == 1,
                             text_length=i if i % 3 else None)
                for i, text in enumerate(texts)]

    def alike(prefix: str) -> list:  # every column the same in each row but the key (SQLite: literals)
        return [new_delivery(plan_key=f"{prefix}|{i}", campaign_id="test", account_id="a1", network="console",
                             kind=Kind.UPDATE, language="en", text="it's 'quoted'); DROP TABLE deliveries; --",
                             due_at=now, now=now, rule_id="r'", variant=-2**31, media=media, reply_in_thread=True,
                             text_length=2**31 - 1) for i in range(3)]

    columns = [c for c in DELIVERIES.c if c.name not in ("id", "plan_key")]
    with app.engine.begin() as conn:
        insert_planned(conn, rows("ours"))
        conn.execute(insert(DELIVERIES), [r.values() for r in rows("theirs")])
        insert_planned(conn, alike("ours-alike"))
        insert_planned(conn, alike("ours-one")[:1])
        conn.execute(insert(DELIVERIES), [r.values() for r in alike("theirs-alike")])
        read = {r.plan_key: r for r in conn.execute(select(DELIVERIES.c.plan_key, *columns))}
    for i, text in enumerate(texts):
        ours, theirs = read[f"ours|{i}"], read[f"theirs|{i}"]
        assert tuple(ours)[1:] == tuple(theirs)[1:]
        assert ours.text == text
    for i in range(3):
        assert tuple(read[f"ours-alike|{i}"])[1:] == tuple(read[f"theirs-alike|{i}"])[1:]
    assert tuple(read["ours-one|0"])[1:] == tuple(read["theirs-alike|0"])[1:]
    assert read["ours-alike|0"].text == "it's 'quoted'); DROP TABLE deliveries; --"
    assert read["ours|2"].media == media and read["ours|0"].due_at.tzinfo is not None


def test_postgresql_placeholders_name_each_parameter_once_and_keep_escaped_percent_signs():
    """Raw statements go to psycopg with PostgreSQL's own placeholders (psycopg parsed the text of every
    execution over 4 kB again: the tick, the first claim); a name used twice is one parameter."""
    from bot.store.raw import _native

    sql, names = _native("SELECT %(b_a)s::INTEGER, x LIKE 'a%%', %(b_b)s, %(b_a)s::INTEGER WHERE y = %(status_1)s")
    assert sql == "SELECT $1::INTEGER, x LIKE 'a%', $2, $1::INTEGER WHERE y = $3"
    assert names == ("b_a", "b_b", "status_1")
