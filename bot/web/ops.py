"""/healthz for the load balancer and /metrics for Prometheus, both read straight from the database.

/metrics answers anyone with the totals (deliveries by status, lateness, the worker's heartbeat): nothing about
which accounts exist or how each fares. Per-account figures (failures, rate-limit deferrals) need a token or a
session (organiser or more): Prometheus sends one with `authorization: { credentials_file: ... }`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.actions.base import Actor
from bot.queries import liveness as heartbeat
from bot.queries.deps import Reads
from bot.states import Role, Status
from bot.store.models import DeliveryRow
from bot.web.auth import PUBLIC, require

router = APIRouter()
LATENESS_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)


class Health(BaseModel):
    ok: bool
    database: str
    worker: str


@router.get("/healthz", response_model=Health, dependencies=[Depends(require(PUBLIC))],
            responses={503: {"model": Health, "description": "the database or the worker is not well"}})
def healthz(request: Request) -> Response:
    core = request.app.state.core
    try:
        with core.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return JSONResponse(Health(ok=False, database=f"unreachable: {reason}", worker="unknown").model_dump(), 503)
    alive, worker = heartbeat.worker_alive(core)
    body = Health(ok=alive, database="reachable", worker=worker)
    return JSONResponse(body.model_dump(), 200 if alive else 503)


class DatabaseCollector:
    """Computed at scrape time, so every web process reports the same numbers: the database knows them."""

    def __init__(self, core: Reads, *, per_account: bool = False) -> None:
        self.core = core
        self.per_account = per_account

    def collect(self) -> Iterator[Metric]:
        now = self.core.clock.now()
        with self.core.sessions() as session:
            by_status = GaugeMetricFamily("campaign_bot_deliveries", "Deliveries by status", labels=["status"])
            for status, n in session.execute(select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)):
                by_status.add_metric([status], n)
            yield by_status
            if self.per_account:
                yield from self._per_account(session, now)
            pairs = session.execute(select(DeliveryRow.due_at, DeliveryRow.sent_at)
                                    .where(DeliveryRow.status == Status.SENT, DeliveryRow.sent_at.is_not(None))).all()
        late = [max((sent - due).total_seconds(), 0.0) for due, sent in pairs if sent is not None]
        buckets = [(str(b), sum(1 for x in late if x <= b)) for b in LATENESS_BUCKETS] + [("+Inf", len(late))]
        yield HistogramMetricFamily("campaign_bot_lateness_seconds", "How late sent posts went out",
                                    buckets=buckets, sum_value=sum(late))
        last = heartbeat.last_heartbeat(self.core)
        age = GaugeMetricFamily("campaign_bot_worker_heartbeat_age_seconds",
                                "Seconds since a worker last beat (-1: never)")
        age.add_metric([], (now - last).total_seconds() if last else -1.0)
        yield age

    def _per_account(self, session: Session, now: datetime) -> Iterator[Metric]:
        failures = GaugeMetricFamily("campaign_bot_failures", "Failed or unknown deliveries by account and "
                                     "error kind", labels=["account", "error_kind"])
        for account, kind, n in session.execute(
                select(DeliveryRow.account_id, DeliveryRow.error_kind, func.count())
                .where(DeliveryRow.status.in_((Status.FAILED, Status.UNKNOWN)))
                .group_by(DeliveryRow.account_id, DeliveryRow.error_kind)):
            failures.add_metric([account, kind or "unknown"], n)
        yield failures
        deferred = GaugeMetricFamily("campaign_bot_rate_limit_deferrals",
                                     "Planned deliveries held back by a rate limit or budget", labels=["account"])
        for account, n in session.execute(
                select(DeliveryRow.account_id, func.count())
                .where(DeliveryRow.status == Status.PLANNED, DeliveryRow.not_before > now)
                .group_by(DeliveryRow.account_id)):
            deferred.add_metric([account], n)
        yield deferred


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
def metrics(request: Request, who: Annotated[Actor | None, Depends(require(PUBLIC))]) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    per_account = who is not None and who.can(Role.ORGANISER)
    registry.register(DatabaseCollector(request.app.state.core, per_account=per_account))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


