"""The pages for staff and organisers. Each form action calls one service function, then redirects."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from bot.actions import lifecycle
from bot.actions import web_services as services
from bot.errors import NotFound, UserError
from bot.queries import pages as views
from bot.queries import reports
from bot.reach import views as reach_views
from bot.web.auth import CSRF, require
from bot.web.rendering import flash, render
from bot.web.users import Person

router = APIRouter(include_in_schema=False)
Organiser = Annotated[Person, Depends(require("organiser"))]
Staff = Annotated[Person, Depends(require("staff"))]
Admin = Annotated[Person, Depends(require("admin"))]
QUEUE_FIELDS = {"--text": "text", "text": "text", "--at": "at", "--language": "language", "language": "language",
                "--account": "account", "account": "account"}


def _back(request: Request, fallback: str) -> Response:
    return RedirectResponse(fallback, status_code=303)


def approval_needed(request: Request, who: Person, definition: dict[str, Any]) -> bool:
    """An organiser's post waits for a staff member when the campaign or the default asks for approval."""
    setting = views.model_of(definition).get("approval") or request.app.state.approval_default
    return setting == "required" and not who.can("staff")


def parse_local(value: str, zone: str, now: datetime) -> datetime:
    """A datetime-local field, read in the campaign's zone; empty means now."""
    value = value.strip()
    if not value or value.lower() == "now":
        return now
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UserError("--at: use a date and time like 2026-12-01T09:00") from None
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(zone))


@router.get("/")
def dashboard(request: Request, who: Organiser) -> Response:
    core = request.app.state.core
    data = reports.status(core)
    disabled = [a for a in views.accounts(core) if a["state"] != "ok" and not a["state"].startswith("rate")]
    return render(request, "dashboard.html", {
        "status": data, "stop": data["emergency_stop"], "next_posts": views.next_posts(core),
        "last_sent": views.last_sent(core), "attention": views.needs_a_person(core), "bad_accounts": disabled,
        "worker_alive": data["worker"]["alive"], "worker": data["worker"]["message"],
        "approvals": services.pending_approvals(core), "reach_lines": reach_views.dashboard_lines(core)})


@router.post("/stop", dependencies=[CSRF])
def emergency_stop(request: Request, who: Staff, reason: Annotated[str, Form()] = "") -> Response:
    if not reason.strip():
        flash(request, "Say why you stop everything (the reason is shown to everyone).", "error")
        return _back(request, "/#stop")
    result = lifecycle.pause_all(request.app.state.core, who.name, reason.strip(), paused=True)
    if not result.changed:  # when it changed, the page's emergency-stop banner says so
        flash(request, result.message)
    return _back(request, "/")


@router.post("/stop/lift", dependencies=[CSRF])
def lift_stop(request: Request, who: Staff) -> Response:
    flash(request, lifecycle.pause_all(request.app.state.core, who.name, None, paused=False).message)
    return _back(request, "/")


def _campaign_page(request: Request, campaign: str, form: dict[str, str] | None = None,
                   errors: dict[str, str] | None = None, status: int = 200, show_all: bool = False) -> Response:
    core = request.app.state.core
    data = views.campaign(core, campaign, None if show_all else views.UPCOMING)
    if data is None:
        raise NotFound(f"no campaign {campaign!r}")
    return render(request, "campaign.html", {
        "c": data, "form": form or {"text": "", "at": "", "language": data["languages"][0] if data["languages"]
                                    else "", "account": ""},
        "errors": errors or {}, "approvals": services.pending_approvals(core, campaign),
        "stop": reports.status(core)["emergency_stop"], "reach": reach_views.campaign_reach(core, campaign)}, status)


@router.get("/campaigns/{campaign}")
def campaign_page(request: Request, campaign: str, who: Organiser, all: bool = False) -> Response:
    return _campaign_page(request, campaign, show_all=all)


@router.post("/campaigns/{campaign}/queue", dependencies=[CSRF])
def queue(request: Request, campaign: str, who: Organiser, text: Annotated[str, Form()] = "",
          at: Annotated[str, Form()] = "", language: Annotated[str, Form()] = "",
          account: Annotated[str, Form()] = "") -> Response:
    core = request.app.state.core
    form = {"text": text, "at": at, "language": language, "account": account}
    data = views.campaign(core, campaign)
    if data is None:
        raise NotFound(f"no campaign {campaign!r}")
    if not text.strip():
        return _campaign_page(request, campaign, form, {"text": "Write the post."}, 400)
    try:
        when = parse_local(at, data["zone"], core.clock.now())
        with core.sessions() as session:
            definition = lifecycle.campaign_row(session, campaign).definition
        if approval_needed(request, who, definition):
            result = services.queue_for_approval(core, campaign, when, text, who.name, account or None,
                                                 language or None)
        else:
            result = lifecycle.queue(core, campaign, when, text, who.name, account or None, language or None)
    except NotFound:
        raise
    except UserError as exc:
        message = str(exc)
        field = next((f for p, f in QUEUE_FIELDS.items() if message.startswith(p)), "text")
        return _campaign_page(request, campaign, form, {field: message}, 400)
    flash(request, result.message)
    return _back(request, f"/campaigns/{campaign}#timeline")


@router.get("/campaigns/{campaign}/measure")
def measure(request: Request, campaign: str, who: Organiser, text: str = "", language: str = "") -> Response:
    try:
        return JSONResponse({"accounts": services.measure(request.app.state.core, campaign, text, language or None)})
    except NotFound as exc:
        return JSONResponse({"detail": str(exc)}, 404)
    except UserError as exc:
        return JSONResponse({"detail": str(exc)}, 400)


def _state_action(action: str) -> None:
    @router.post(f"/campaigns/{{campaign}}/{action}", dependencies=[CSRF], name=action)
    def change(request: Request, campaign: str, who: Staff, note: Annotated[str, Form()] = "") -> Response:
        result = lifecycle.set_state(request.app.state.core, campaign, action, who.name, note.strip() or None)
        flash(request, result.message)
        return _back(request, f"/campaigns/{campaign}")


for _action in ("pause", "resume", "reopen"):
    _state_action(_action)


@router.get("/campaigns/{campaign}/close")
def close_confirm(request: Request, campaign: str, who: Staff, outcome: str = "success") -> Response:
    preview = services.close_preview(request.app.state.core, campaign, outcome)
    return render(request, "close.html", {"p": preview})


@router.post("/campaigns/{campaign}/close", dependencies=[CSRF])
def close(request: Request, campaign: str, who: Staff, outcome: Annotated[str, Form()] = "",
          note: Annotated[str, Form()] = "") -> Response:
    core = request.app.state.core
    with core.sessions() as session:
        definition = lifecycle.campaign_row(session, campaign).definition
    setting = views.model_of(definition).get("close_approval") or request.app.state.close_approval_default
    if setting == "required":
        result = services.request_close(core, campaign, outcome, who.name, note.strip() or None)
    else:
        result = lifecycle.close(core, campaign, outcome, who.name, note.strip() or None)
    flash(request, result.message)
    return _back(request, f"/campaigns/{campaign}")


def _delivery_campaign(request: Request, delivery_id: int, who: Person) -> dict[str, Any]:
    return services.changeable(request.app.state.core, delivery_id, any_kind=who.can("staff"), by=who.name)


@router.get("/deliveries/{delivery_id}/edit")
def edit_page(request: Request, delivery_id: int, who: Organiser) -> Response:
    d = _delivery_campaign(request, delivery_id, who)
    return render(request, "edit.html", {"d": d, "text": d["text"], "error": None})


@router.post("/deliveries/{delivery_id}/edit", dependencies=[CSRF])
def edit(request: Request, delivery_id: int, who: Organiser, text: Annotated[str, Form()] = "") -> Response:
    d = _delivery_campaign(request, delivery_id, who)
    try:
        result = services.edit_delivery(request.app.state.core, delivery_id, text, who.name)
    except NotFound:
        raise
    except UserError as exc:
        return render(request, "edit.html", {"d": d, "text": text, "error": str(exc).removeprefix("text: ")}, 400)
    flash(request, result.message)
    return _back(request, f"/campaigns/{d['campaign']}#timeline")


@router.post("/deliveries/{delivery_id}/cancel", dependencies=[CSRF])
def cancel(request: Request, delivery_id: int, who: Organiser) -> Response:
    d = _delivery_campaign(request, delivery_id, who)
    flash(request, services.cancel_delivery(request.app.state.core, delivery_id, who.name).message)
    return _back(request, f"/campaigns/{d['campaign']}#timeline")


@router.post("/deliveries/{delivery_id}/resolve", dependencies=[CSRF])
def resolve(request: Request, delivery_id: int, who: Staff, action: Annotated[str, Form()] = "",
            url: Annotated[str, Form()] = "") -> Response:
    core = request.app.state.core
    if action == "sent" and not url.strip().startswith(("http://", "https://")):
        flash(request, "Give the post's address (https://…) to mark it sent.", "error")
        return _back(request, "/#attention")
    if action not in ("sent", "resend", "cancel"):
        flash(request, "Choose what happened to the post.", "error")
        return _back(request, "/#attention")
    result = lifecycle.resolve(core, delivery_id, who.name, sent_url=url.strip() if action == "sent" else None,
                               resend=action == "resend")
    flash(request, result.message)
    return _back(request, "/#attention")


@router.post("/approvals/{approval_id}/{decision}", dependencies=[CSRF])
def decide(request: Request, approval_id: int, decision: str, who: Staff) -> Response:
    if decision not in ("approve", "reject"):
        raise NotFound(f"no such decision {decision!r}: approve or reject")
    result = services.approve(request.app.state.core, approval_id, who.name, approve=decision == "approve")
    flash(request, result.message)
    return _back(request, "/")


@router.get("/accounts")
def accounts_page(request: Request, who: Organiser) -> Response:
    return render(request, "accounts.html", {"accounts": views.accounts(request.app.state.core)})


@router.post("/accounts/{account}/enable", dependencies=[CSRF])
def enable_account(request: Request, account: str, who: Admin) -> Response:
    flash(request, services.enable_account(request.app.state.core, account, who.name).message)
    return _back(request, "/accounts")


@router.get("/audit")
def audit_page(request: Request, who: Organiser, actor: str = "", action: str = "", campaign: str = "") -> Response:
    rows = views.audit_log(request.app.state.core, actor or None, action or None, campaign or None)
    return render(request, "audit.html", {"rows": rows, "f": {"actor": actor, "action": action,
                                                               "campaign": campaign}})
