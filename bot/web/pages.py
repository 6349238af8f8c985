"""The pages for staff and organisers. Each form calls one action (bot/actions/), then redirects; an action's
refusal is shown beside the form field it is about."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from bot.actions import accounts, campaigns, emergency, posts
from bot.actions.base import Actor, Approvals, Result
from bot.actions.errors import ActionError, NotFound
from bot.actions.times import parse_time
from bot.queries import attention, reports
from bot.queries import pages as views
from bot.queries.approvals import pending, rejected
from bot.queries.liveness import heartbeat_age
from bot.queries.texts import close_confirmation
from bot.reach import views as reach_views
from bot.states import Role, Status
from bot.web.auth import CSRF, require
from bot.web.rendering import field_errors, flash, render, said
from bot.web.times import local_text

router = APIRouter(include_in_schema=False)
Organiser = Annotated[Actor, Depends(require(Role.ORGANISER))]
Staff = Annotated[Actor, Depends(require(Role.STAFF))]
Admin = Annotated[Actor, Depends(require(Role.ADMIN))]
QUEUE_FIELDS = ("text", "at", "language", "account")


def _back(request: Request, fallback: str) -> Response:
    return RedirectResponse(fallback, status_code=303)


def defaults(request: Request) -> Approvals:
    """The web app's --approval and --close-approval (a campaign's file may say otherwise)."""
    policy: Approvals = request.app.state.approvals
    return policy


DASHBOARD_ANCHORS = ("attention", "approvals", "stop")


@router.get("/")
def dashboard(request: Request, who: Organiser) -> Response:
    core = request.app.state.core
    data = reports.status(core)
    disabled = [a for a in views.accounts(core) if a["word"] in ("disabled", "misconfigured")]
    return render(request, "dashboard.html", {
        "status": data, "stop": data["emergency_stop"], "next_posts": views.next_posts(core),
        "last_sent": views.last_sent(core), "attention": attention.unsettled_posts(core),
        "files": data["invalid_files"], "bad_accounts": disabled,
        "worker_alive": data["worker"]["alive"], "worker_age": heartbeat_age(core),
        "approvals": pending(core), "reach_lines": reach_views.dashboard_lines(core),
        "zones": {c["id"]: c["timezone"] for c in data["campaigns"]}}, anchors=DASHBOARD_ANCHORS)


@router.post("/stop", dependencies=[CSRF])
def emergency_stop(request: Request, who: Staff, reason: Annotated[str, Form()] = "") -> Response:
    try:
        result = emergency.stop_everything(request.app.state.core, who, reason)
    except ActionError as exc:
        flash(request, said(request, exc)[:1].upper() + said(request, exc)[1:] + ".", "error", "stop")
        return _back(request, "/#stop")
    if not result.changed:  # when it changed, the page's emergency-stop banner says so
        flash(request, said(request, result))
    return _back(request, "/")


@router.post("/stop/lift", dependencies=[CSRF])
def lift_stop(request: Request, who: Staff) -> Response:
    flash(request, said(request, emergency.lift_stop(request.app.state.core, who)))
    return _back(request, "/")


def _number(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 10 else None


def _campaign_page(request: Request, campaign: str, form: dict[str, str] | None = None,
                   errors: dict[str, str] | None = None, status: int = 200,
                   view: views.TimelineFilter | None = None) -> Response:
    core = request.app.state.core
    data = views.campaign(core, campaign, view)
    if data is None:
        raise NotFound("no_campaign", "campaign", campaign=campaign, suggestion="")
    anchors = [f"d{d['id']}" for d in data["timeline"]] + ["actions", "approvals"]
    return render(request, "campaign.html", {
        "c": data, "form": form or {"text": "", "at": "", "language": data["languages"][0] if data["languages"]
                                    else "", "account": ""},
        "errors": errors or {}, "approvals": pending(core, campaign), "rejected": rejected(core, campaign),
        "stop": reports.status(core)["emergency_stop"], "reach": reach_views.campaign_reach(core, campaign)}, status,
        anchors)


@router.get("/campaigns/{campaign}")
def campaign_page(request: Request, campaign: str, who: Organiser, status: str = "", account: str = "",
                  language: str = "", page: str = "", focus: str = "") -> Response:
    view = views.TimelineFilter(status=status if status in list(Status) else None, account=account or None,
                                language=language or None, page=_number(page), focus=_number(focus))
    return _campaign_page(request, campaign, view=view)


@router.post("/campaigns/{campaign}/queue", dependencies=[CSRF])
def queue(request: Request, campaign: str, who: Organiser, text: Annotated[str, Form()] = "",
          at: Annotated[str, Form()] = "", language: Annotated[str, Form()] = "",
          account: Annotated[str, Form()] = "") -> Response:
    core = request.app.state.core
    form = {"text": text, "at": at, "language": language, "account": account}
    data = views.campaign(core, campaign)
    if data is None:
        raise NotFound("no_campaign", "campaign", campaign=campaign, suggestion="")
    try:
        when = parse_time(at, core.clock.now(), data["zone"])
        result = posts.queue(core, who, campaign, at=when, text=text, account=account or None,
                             language=language or None, approvals=defaults(request))
    except NotFound:
        raise
    except ActionError as exc:
        return _campaign_page(request, campaign, form, field_errors(exc, QUEUE_FIELDS, "text"), 400)
    first = views.latest_queued(core, campaign, who.name)
    if "at" in result.params:  # the time as every page shows it, not the ISO the CLI prints
        result = Result(result.changed, result.code, {**result.params, "at": local_text(when, data["zone"])})
    if first is None:
        flash(request, said(request, result))
        return _back(request, f"/campaigns/{campaign}#timeline")
    flash(request, said(request, result), anchor=f"d{first}")
    return _back(request, f"/campaigns/{campaign}?focus={first}#d{first}")


def _state_action(name: str) -> None:
    change = {"pause": campaigns.pause, "resume": campaigns.resume, "reopen": campaigns.reopen}[name]

    @router.post(f"/campaigns/{{campaign}}/{name}", dependencies=[CSRF], name=name)
    def route(request: Request, campaign: str, who: Staff, note: Annotated[str, Form()] = "") -> Response:
        result = change(request.app.state.core, who, campaign, note.strip() or None)
        flash(request, said(request, result), anchor="actions")
        return _back(request, f"/campaigns/{campaign}#actions")


for _name in ("pause", "resume", "reopen"):
    _state_action(_name)


@router.get("/campaigns/{campaign}/close")
def close_confirm(request: Request, campaign: str, who: Staff, outcome: str = "success") -> Response:
    return render(request, "close.html", {"p": close_confirmation(request.app.state.core, campaign, outcome)})


@router.post("/campaigns/{campaign}/close", dependencies=[CSRF])
def close(request: Request, campaign: str, who: Staff, outcome: Annotated[str, Form()] = "",
          note: Annotated[str, Form()] = "") -> Response:
    result = campaigns.close(request.app.state.core, who, campaign, outcome, note.strip() or None, defaults(request))
    flash(request, said(request, result), anchor="actions")
    return _back(request, f"/campaigns/{campaign}#actions")


@router.get("/accounts")
def accounts_page(request: Request, who: Organiser) -> Response:
    return render(request, "accounts.html", {"accounts": views.accounts(request.app.state.core)})


@router.post("/accounts/{account}/enable", dependencies=[CSRF])
def enable_account(request: Request, account: str, who: Admin) -> Response:
    flash(request, said(request, accounts.enable_account(request.app.state.core, who, account)))
    return _back(request, "/accounts")


@router.get("/audit")
def audit_page(request: Request, who: Organiser, actor: str = "", action: str = "", campaign: str = "") -> Response:
    rows = views.audit_log(request.app.state.core, actor or None, action or None, campaign or None)
    return render(request, "audit.html", {"rows": rows, "f": {"actor": actor, "action": action,
                                                               "campaign": campaign}})
