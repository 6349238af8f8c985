"""The policy, as a table: what the network answered -> what is recorded. No database."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.outbox.policy import Answer, Hold, Retry, decide, key_may_be_forgotten
from bot.states import ErrorKind, Status

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RESET = NOW + timedelta(minutes=15)
RETRY = Retry(base_seconds=30, max_seconds=3600, max_attempts=3)

# answer, idempotent, attempts -> status, error kind, refund, hold, maybe sent, deferred by
TABLE = [
    (Answer.PUBLISHED, False, 1, Status.SENT, None, False, None, False, None),
    (Answer.RATE_LIMITED, True, 1, Status.PLANNED, ErrorKind.RATE_LIMITED, True, Hold.RATE_LIMITED, False,
     timedelta(minutes=15)),
    (Answer.TRANSIENT, True, 1, Status.PLANNED, ErrorKind.TRANSIENT, False, None, False, timedelta(seconds=30)),
    (Answer.TRANSIENT, False, 2, Status.PLANNED, ErrorKind.TRANSIENT, False, None, False, timedelta(seconds=60)),
    (Answer.TRANSIENT, True, 3, Status.FAILED, ErrorKind.TRANSIENT, False, None, False, None),
    (Answer.PERMANENT, True, 1, Status.FAILED, ErrorKind.PERMANENT, False, None, False, None),
    (Answer.TOO_LONG, False, 1, Status.FAILED, ErrorKind.PERMANENT, False, None, False, None),
    (Answer.UNSUPPORTED, True, 1, Status.FAILED, ErrorKind.UNSUPPORTED, False, None, False, None),
    (Answer.AUTH_REVOKED, True, 1, Status.PLANNED, ErrorKind.AUTH_REVOKED, True, Hold.DISABLED, False, None),
    (Answer.MISCONFIGURED, False, 1, Status.PLANNED, ErrorKind.MISCONFIGURED, True, Hold.MISCONFIGURED, False, None),
    (Answer.MISCONFIGURED, False, 3, Status.PLANNED, ErrorKind.MISCONFIGURED, True, Hold.MISCONFIGURED, False, None),
    (Answer.OUTCOME_UNKNOWN, True, 1, Status.PLANNED, ErrorKind.IN_DOUBT, False, None, True, timedelta(seconds=30)),
    (Answer.OUTCOME_UNKNOWN, False, 1, Status.UNKNOWN, ErrorKind.OUTCOME_UNKNOWN, False, Hold.COOLDOWN, True, None),
    (Answer.UNEXPECTED, False, 1, Status.UNKNOWN, ErrorKind.OUTCOME_UNKNOWN, False, Hold.COOLDOWN, True, None),
    (Answer.UNEXPECTED, True, 3, Status.UNKNOWN, ErrorKind.OUTCOME_UNKNOWN, False, None, True, None),
    (Answer.NOT_RESENT, True, 2, Status.UNKNOWN, ErrorKind.OUTCOME_UNKNOWN, False, None, True, None),
]


@pytest.mark.parametrize(("answer", "idempotent", "attempts", "status", "kind", "refund", "hold", "maybe_sent",
                          "deferred"), TABLE)
def test_each_answer_is_recorded_as_the_policy_table_says(answer, idempotent, attempts, status, kind, refund, hold,
                                                          maybe_sent, deferred):
    d = decide(answer, "what the network said", delivery_id=7, idempotent=idempotent, attempts=attempts,
               retry=RETRY, now=NOW, jitter=1.0, until=RESET if answer is Answer.RATE_LIMITED else None)
    assert (d.status, d.error_kind, d.refund, d.hold, d.maybe_sent) == (status, kind, refund, hold, maybe_sent)
    assert d.not_before == (NOW + deferred if deferred else None)
    assert d.stops_account == (hold is not None)
    if status != Status.SENT:
        assert "what the network said" in (d.error or "")


def test_a_misconfigured_account_is_retried_about_once_a_minute_and_never_failed_or_unknown():
    for attempts in range(1, 10):
        d = decide(Answer.MISCONFIGURED, "TOKEN_M is not set", delivery_id=1, idempotent=False, attempts=attempts,
                   retry=RETRY, now=NOW)
        assert d.status == Status.PLANNED and d.hold_until == NOW + timedelta(minutes=1)


def test_an_unknown_outcome_tells_the_person_which_delivery_to_resolve():
    d = decide(Answer.OUTCOME_UNKNOWN, "read timeout", delivery_id=42, idempotent=False, attempts=1, retry=RETRY,
               now=NOW)
    assert "campaign-bot resolve 42 --sent URL" in (d.error or "")


def test_a_rate_limit_without_a_reset_time_waits_a_minute():
    d = decide(Answer.RATE_LIMITED, "429", delivery_id=1, idempotent=True, attempts=1, retry=RETRY, now=NOW)
    assert d.not_before == d.hold_until == NOW + timedelta(minutes=1)


@pytest.mark.parametrize(("memory", "late", "read_first"), [
    (None, timedelta(days=30), False),  # a key kept as long as it matters (Bluesky's record key)
    (timedelta(hours=1), timedelta(minutes=5), False),  # a retry within Mastodon's hour: the key answers
    (timedelta(hours=1), timedelta(minutes=49), False),
    (timedelta(hours=1), timedelta(minutes=50), True),  # ten minutes' margin for the two clocks
    (timedelta(hours=1), timedelta(hours=3), True),
])
def test_a_retry_in_doubt_reads_back_first_once_the_network_may_have_forgotten_its_key(memory, late, read_first):
    assert key_may_be_forgotten(memory, NOW, NOW + late) is read_first
