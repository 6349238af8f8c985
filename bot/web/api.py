"""The JSON API: the same actions as the pages and the CLI, for scripts holding a token (which act as the
person who created them). A refusal is ``{"detail": sentence, "code": ..., "pointer": "/field", "params": {...}}``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from bot.actions import approvals, campaigns, emergency, posts
from bot.actions.base import Actor, Approvals, Result
from bot.actions.errors import NotFound
from bot.actions.times import parse_time
from bot.queries import attention, reports
from bot.queries import pages as views
from bot.queries.liveness import worker_alive
from bot.queries.texts import close_confirmation, measure
from bot.states import Role, Settlement, Status
from bot.web.auth import require
from bot.web.i18n import action_message


class Problem(BaseModel):
    detail: Any
    code: str | None = None
    pointer: str | None = None
    """A JSON pointer to the field of the request body it is about."""
    params: dict[str, Any] | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "bad input: `pointer` names the field"},
    401: {"model": Problem, "description": "no or unknown token"},
    403: {"model": Problem, "description": "the token's role is not enough"},
    404: {"model": Problem, "description": "no such campaign, delivery or approval"},
    409: {"model": Problem, "description": "it changed meanwhile (sent, cancelled, decided): look again"},
    422: {"model": Problem, "description": "the request does not match the schema"},
}
router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)
Organiser = Annotated[Actor, Depends(require(Role.ORGANISER))]
Staff = Annotated[Actor, Depends(require(Role.STAFF))]
CampaignId = Annotated[str, Path(min_length=1, max_length=200)]
DeliveryId = Annotated[int, Path(ge=1, le=2**62)]
Text = Annotated[str, Field(min_length=1, max_length=5000)]


class ResultOut(BaseModel):
    changed: bool
    message: str
    code: str


def _out(request: Request, result: Result) -> ResultOut:
    """An action's result; its message in the language the client accepts (code and params do not change)."""
    return ResultOut(changed=result.changed, message=action_message(request, result.code, result.params),
                     code=result.code)


def _defaults(request: Request) -> Approvals:
    policy: Approvals = request.app.state.approvals
    return policy


class StatusOut(BaseModel):
    emergency_stop: dict[str, Any]
    campaigns: list[dict[str, Any]]
    accounts: list[dict[str, Any]]
    needs_attention: list[dict[str, Any]]
    worker: dict[str, Any]
    """{"alive": bool, "message": str}: whether a worker's heartbeat is fresh."""
    now: str
    invalid_files: list[dict[str, Any]] = []
    """Campaign files that do not load (path, problems, since, running_last_good)."""
    alerts_failing: list[dict[str, Any]] = []
    """Alert destinations that keep failing: destination, waiting, failed, error, last_attempt_at."""


@router.get("/status", response_model=StatusOut)
def status(request: Request, who: Organiser) -> StatusOut:
    return StatusOut(**reports.status(request.app.state.core))


class CampaignOut(BaseModel):
    id: str
    title: str
    state: str
    outcome: str | None
    zone: str
    languages: list[str]
    accounts: list[str]
    act_by: str | None = None
    """The deadline (UTC, ISO 8601), if the campaign has one."""
    deadline_passed: bool = False
    timeline: list[dict[str, Any]]
    """One page of posts in due order (``shown_status``: "held" while the emergency stop or a pause holds a
    planned post, "rejected" for a post a staff member rejected)."""
    page: int = 1
    pages: int = 1
    total: int = 0


@router.get("/campaigns/{campaign}", response_model=CampaignOut)
def campaign(request: Request, campaign: CampaignId, who: Organiser,
             status: Annotated[Status | None, Query()] = None,
             account: Annotated[str | None, Query(max_length=200)] = None,
             language: Annotated[str | None, Query(max_length=20)] = None,
             page: Annotated[int | None, Query(ge=1, le=10**6, description="default: where coming posts start")] = None,
             size: Annotated[int, Query(ge=1, le=500)] = views.PAGE_SIZE) -> CampaignOut:
    view = views.TimelineFilter(status=status, account=account, language=language, page=page, size=size)
    data = views.campaign(request.app.state.core, campaign, view)
    if data is None:
        raise NotFound("no_campaign", "campaign", campaign=campaign, suggestion="")
    return CampaignOut(**{k: data[k] for k in CampaignOut.model_fields})


class AttentionOut(BaseModel):
    posts: list[dict[str, Any]]
    """Missed, failed and unknown posts nobody has settled (POST /api/deliveries/{id}/resolve settles one)."""
    files: list[dict[str, Any]]
    """Campaign files that do not load: path, problems, since; the last good version runs on meanwhile."""
    worker: dict[str, Any]
    console: dict[str, Any]
    """Whether posts are printed instead of published (the whole app, or some accounts)."""


@router.get("/attention", response_model=AttentionOut)
def needs_a_person(request: Request, who: Organiser) -> AttentionOut:
    core = request.app.state.core
    alive, message = worker_alive(core)
    return AttentionOut(posts=attention.unsettled_posts(core), files=attention.file_problems(core),
                        worker={"alive": alive, "message": message}, console=attention.console_mode(core))


class ResolveIn(BaseModel):
    action: Settlement
    """sent (give ``url``), resend (now), or cancel."""
    url: str | None = Field(None, max_length=2000)


@router.post("/deliveries/{delivery_id}/resolve", response_model=ResultOut)
def resolve(request: Request, delivery_id: DeliveryId, body: ResolveIn, who: Staff) -> ResultOut:
    return _out(request, posts.resolve(request.app.state.core, who, delivery_id,
                              sent_url=(body.url or "").strip() if body.action == Settlement.SENT else None,
                              resend=body.action == Settlement.RESEND))


class QueueIn(BaseModel):
    text: Text
    at: str = Field("now", max_length=100, description="ISO 8601 with offset (not in the past), or now")
    account: str | None = Field(None, max_length=200)
    language: str | None = Field(None, max_length=20)


@router.post("/campaigns/{campaign}/queue", response_model=ResultOut)
def queue(request: Request, campaign: CampaignId, body: QueueIn, who: Organiser) -> ResultOut:
    core = request.app.state.core
    when = parse_time(body.at, core.clock.now())
    return _out(request, posts.queue(core, who, campaign, at=when, text=body.text, account=body.account,
                            language=body.language, approvals=_defaults(request)))


class MeasureIn(BaseModel):
    text: Annotated[str, Field(max_length=5000)]
    language: str | None = Field(None, max_length=20)


class MeasureOut(BaseModel):
    accounts: list[dict[str, Any]]


@router.post("/campaigns/{campaign}/measure", response_model=MeasureOut)
def measure_text(request: Request, campaign: CampaignId, body: MeasureIn, who: Organiser) -> MeasureOut:
    return MeasureOut(accounts=measure(request.app.state.core, campaign, body.text, body.language))


Outcome = Literal["success", "no_further_action", "no-further-action"]


class PreviewOut(BaseModel):
    campaign: str
    title: str
    state: str
    outcome: str
    already_closed: bool
    cancelled: int
    messages: list[dict[str, Any]]


@router.get("/campaigns/{campaign}/close-preview", response_model=PreviewOut)
def close_preview(request: Request, campaign: CampaignId, who: Staff,
                  outcome: Annotated[Outcome, Query()] = "success") -> PreviewOut:
    return PreviewOut(**close_confirmation(request.app.state.core, campaign, outcome))


class CloseIn(BaseModel):
    outcome: Outcome
    note: str | None = Field(None, max_length=2000)


@router.post("/campaigns/{campaign}/close", response_model=ResultOut)
def close(request: Request, campaign: CampaignId, body: CloseIn, who: Staff) -> ResultOut:
    core = request.app.state.core
    return _out(request, campaigns.close(core, who, campaign, body.outcome, body.note, _defaults(request)))


class NoteIn(BaseModel):
    note: str | None = Field(None, max_length=2000)


STATE_ACTIONS = {"pause": campaigns.pause, "resume": campaigns.resume, "reopen": campaigns.reopen}


@router.post("/campaigns/{campaign}/state/{action}", response_model=ResultOut)
def set_state(request: Request, campaign: CampaignId, action: Literal["pause", "resume", "reopen"], body: NoteIn,
              who: Staff) -> ResultOut:
    return _out(request, STATE_ACTIONS[action](request.app.state.core, who, campaign, body.note))


class StopIn(BaseModel):
    reason: Text


@router.post("/stop", response_model=ResultOut)
def stop(request: Request, body: StopIn, who: Staff) -> ResultOut:
    return _out(request, emergency.stop_everything(request.app.state.core, who, body.reason))


@router.post("/stop/lift", response_model=ResultOut)
def lift(request: Request, who: Staff) -> ResultOut:
    return _out(request, emergency.lift_stop(request.app.state.core, who))


class EditIn(BaseModel):
    text: Annotated[str | None, Field(min_length=1, max_length=5000)] = None
    at: str | None = Field(None, max_length=100, description="ISO 8601 with offset (not in the past), or now")


@router.post("/deliveries/{delivery_id}/cancel", response_model=ResultOut)
def cancel(request: Request, delivery_id: DeliveryId, who: Organiser) -> ResultOut:
    return _out(request, posts.cancel(request.app.state.core, who, delivery_id))


@router.post("/deliveries/{delivery_id}/edit", response_model=ResultOut)
def edit(request: Request, delivery_id: DeliveryId, body: EditIn, who: Organiser) -> ResultOut:
    core = request.app.state.core
    when = parse_time(body.at, core.clock.now()) if body.at is not None else None
    return _out(request, posts.edit(core, who, delivery_id, text=body.text, at=when))


class DecisionIn(BaseModel):
    reason: str | None = Field(None, max_length=2000)


@router.post("/approvals/{approval_id}/{decision}", response_model=ResultOut)
def decide(request: Request, approval_id: DeliveryId, decision: Literal["approve", "reject"],
           who: Staff, body: DecisionIn | None = None) -> ResultOut:
    return _out(request, approvals.decide(request.app.state.core, who, approval_id, decision == "approve",
                                 body.reason if body else None))


class AuditOut(BaseModel):
    entries: list[dict[str, Any]]


@router.get("/audit", response_model=AuditOut)
def audit(request: Request, who: Organiser, actor: Annotated[str | None, Query(max_length=200)] = None,
          action: Annotated[str | None, Query(max_length=40)] = None,
          campaign: Annotated[str | None, Query(max_length=200)] = None) -> AuditOut:
    return AuditOut(entries=views.audit_log(request.app.state.core, actor, action, campaign))
