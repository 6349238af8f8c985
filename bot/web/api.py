"""The JSON API: the same operations as the pages and the CLI, for scripts holding a token."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from bot.actions import lifecycle
from bot.actions import web_services as services
from bot.errors import NotFound
from bot.queries import pages as views
from bot.queries import reports
from bot.web.auth import require
from bot.web.users import Person


class Problem(BaseModel):
    detail: Any


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "bad input: the message names the field"},
    401: {"model": Problem, "description": "no or unknown token"},
    403: {"model": Problem, "description": "the token's role is not enough"},
    404: {"model": Problem, "description": "no such campaign, delivery or approval"},
    422: {"model": Problem, "description": "the request does not match the schema"},
}
router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)
Organiser = Annotated[Person, Depends(require("organiser"))]
Staff = Annotated[Person, Depends(require("staff"))]
CampaignId = Annotated[str, Path(min_length=1, max_length=200)]
DeliveryId = Annotated[int, Path(ge=1, le=2**62)]
Text = Annotated[str, Field(min_length=1, max_length=5000)]


class ResultOut(BaseModel):
    changed: bool
    message: str


def _out(result: lifecycle.Result) -> ResultOut:
    return ResultOut(changed=result.changed, message=result.message)


class StatusOut(BaseModel):
    emergency_stop: dict[str, Any]
    campaigns: list[dict[str, Any]]
    accounts: list[dict[str, Any]]
    needs_attention: list[dict[str, Any]]
    worker: dict[str, Any]
    """{"alive": bool, "message": str}: whether a worker's heartbeat is fresh."""
    now: str
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
    timeline: list[dict[str, Any]]


@router.get("/campaigns/{campaign}", response_model=CampaignOut)
def campaign(request: Request, campaign: CampaignId, who: Organiser) -> CampaignOut:
    data = views.campaign(request.app.state.core, campaign)
    if data is None:
        raise NotFound(f"no campaign {campaign!r}")
    return CampaignOut(**{k: data[k] for k in CampaignOut.model_fields})


class QueueIn(BaseModel):
    text: Text
    at: str = Field("now", max_length=100, description="ISO 8601 with offset, or now")
    account: str | None = Field(None, max_length=200)
    language: str | None = Field(None, max_length=20)


@router.post("/campaigns/{campaign}/queue", response_model=ResultOut)
def queue(request: Request, campaign: CampaignId, body: QueueIn, who: Organiser) -> ResultOut:
    core = request.app.state.core
    when = lifecycle.parse_when(body.at, core.clock.now())
    with core.sessions() as session:
        definition = lifecycle.campaign_row(session, campaign).definition
    setting = views.model_of(definition).get("approval") or request.app.state.approval_default
    if setting == "required" and not who.can("staff"):
        return _out(services.queue_for_approval(core, campaign, when, body.text, who.name, body.account,
                                                body.language))
    return _out(lifecycle.queue(core, campaign, when, body.text, who.name, body.account, body.language))


class MeasureIn(BaseModel):
    text: Annotated[str, Field(max_length=5000)]
    language: str | None = Field(None, max_length=20)


class MeasureOut(BaseModel):
    accounts: list[dict[str, Any]]


@router.post("/campaigns/{campaign}/measure", response_model=MeasureOut)
def measure(request: Request, campaign: CampaignId, body: MeasureIn, who: Organiser) -> MeasureOut:
    return MeasureOut(accounts=services.measure(request.app.state.core, campaign, body.text, body.language))


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
    return PreviewOut(**services.close_preview(request.app.state.core, campaign, outcome))


class CloseIn(BaseModel):
    outcome: Outcome
    note: str | None = Field(None, max_length=2000)


@router.post("/campaigns/{campaign}/close", response_model=ResultOut)
def close(request: Request, campaign: CampaignId, body: CloseIn, who: Staff) -> ResultOut:
    core = request.app.state.core
    with core.sessions() as session:
        definition = lifecycle.campaign_row(session, campaign).definition
    setting = views.model_of(definition).get("close_approval") or request.app.state.close_approval_default
    if setting == "required":
        return _out(services.request_close(core, campaign, body.outcome, who.name, body.note))
    return _out(lifecycle.close(core, campaign, body.outcome, who.name, body.note))


class NoteIn(BaseModel):
    note: str | None = Field(None, max_length=2000)


@router.post("/campaigns/{campaign}/state/{action}", response_model=ResultOut)
def set_state(request: Request, campaign: CampaignId, action: Literal["pause", "resume", "reopen"], body: NoteIn,
              who: Staff) -> ResultOut:
    return _out(lifecycle.set_state(request.app.state.core, campaign, action, who.name, body.note))


class StopIn(BaseModel):
    reason: Text


@router.post("/stop", response_model=ResultOut)
def stop(request: Request, body: StopIn, who: Staff) -> ResultOut:
    return _out(lifecycle.pause_all(request.app.state.core, who.name, body.reason, paused=True))


@router.post("/stop/lift", response_model=ResultOut)
def lift(request: Request, who: Staff) -> ResultOut:
    return _out(lifecycle.pause_all(request.app.state.core, who.name, None, paused=False))


class EditIn(BaseModel):
    text: Text


@router.post("/deliveries/{delivery_id}/cancel", response_model=ResultOut)
def cancel(request: Request, delivery_id: DeliveryId, who: Organiser) -> ResultOut:
    services.changeable(request.app.state.core, delivery_id, any_kind=who.can("staff"), by=who.name)
    return _out(services.cancel_delivery(request.app.state.core, delivery_id, who.name))


@router.post("/deliveries/{delivery_id}/edit", response_model=ResultOut)
def edit(request: Request, delivery_id: DeliveryId, body: EditIn, who: Organiser) -> ResultOut:
    services.changeable(request.app.state.core, delivery_id, any_kind=who.can("staff"), by=who.name)
    return _out(services.edit_delivery(request.app.state.core, delivery_id, body.text, who.name))


@router.post("/approvals/{approval_id}/{decision}", response_model=ResultOut)
def decide(request: Request, approval_id: DeliveryId, decision: Literal["approve", "reject"],
           who: Staff) -> ResultOut:
    return _out(services.approve(request.app.state.core, approval_id, who.name, approve=decision == "approve"))


class AuditOut(BaseModel):
    entries: list[dict[str, Any]]


@router.get("/audit", response_model=AuditOut)
def audit(request: Request, who: Organiser, actor: Annotated[str | None, Query(max_length=200)] = None,
          action: Annotated[str | None, Query(max_length=40)] = None,
          campaign: Annotated[str | None, Query(max_length=200)] = None) -> AuditOut:
    return AuditOut(entries=views.audit_log(request.app.state.core, actor, action, campaign))
