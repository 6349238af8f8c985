"""The pages' actions on one post: edit its text and time, cancel it, settle it (missed, failed, unknown),
approve or reject it; and the live length counter. Each calls one action (bot/actions/), then redirects to
where the person was looking, with the result shown there."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from bot.actions import approvals, posts
from bot.actions.base import Actor
from bot.actions.errors import ActionError, Forbidden, NotFound
from bot.actions.times import parse_time
from bot.queries import pages as views
from bot.queries.texts import measure
from bot.states import Role, Settlement
from bot.web.auth import CSRF, require
from bot.web.i18n import gettext
from bot.web.rendering import flash, local_path, render, said
from bot.web.times import form_value

router = APIRouter(include_in_schema=False)
Organiser = Annotated[Actor, Depends(require(Role.ORGANISER))]
Staff = Annotated[Actor, Depends(require(Role.STAFF))]
EDIT_FIELDS = ("text", "at")


def _go(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _row(campaign: str, delivery_id: int) -> str:
    """The post's row on its campaign's page (the page of the timeline that holds it)."""
    return f"/campaigns/{campaign}?focus={delivery_id}#d{delivery_id}"


@router.get("/campaigns/{campaign}/measure")
def measure_text(request: Request, campaign: str, who: Organiser, text: str = "", language: str = "",
                 account: str = "") -> Response:
    try:
        counts = measure(request.app.state.core, campaign, text, language or None)
    except ActionError as exc:
        return JSONResponse({"detail": said(request, exc), "code": exc.code,
                             "pointer": f"/{exc.field}" if exc.field else None,
                             "params": {k: str(v) for k, v in exc.params.items()}}, exc.status)
    return JSONResponse({"accounts": [c for c in counts if not account or c.get("account") == account]})


def _changeable(request: Request, delivery_id: int, who: Actor) -> dict[str, Any]:
    """The delivery, if this person may change it (the action checks again when they do)."""
    d = views.delivery(request.app.state.core, delivery_id)
    if d is None:
        raise NotFound("no_delivery", "delivery", delivery=delivery_id)
    posts.check_may_change(who, d["kind"], d["queued_by"])
    return d


def _zone(request: Request, campaign: str) -> str:
    data = views.campaign(request.app.state.core, campaign, views.TimelineFilter(size=1))
    return str(data["zone"]) if data else "UTC"


def _edit_page(request: Request, d: dict[str, Any], text: str, at: str, errors: dict[str, str],
               status: int = 200) -> Response:
    return render(request, "edit.html", {"d": d, "text": text, "at": at, "zone": _zone(request, d["campaign"]),
                                         "errors": errors, "time_format": "YYYY-MM-DD HH:MM"}, status)


@router.get("/deliveries/{delivery_id}/edit")
def edit_page(request: Request, delivery_id: int, who: Organiser) -> Response:
    d = _changeable(request, delivery_id, who)
    return _edit_page(request, d, d["text"], form_value(d["due_at"], _zone(request, d["campaign"])), {})


@router.post("/deliveries/{delivery_id}/edit", dependencies=[CSRF])
def edit(request: Request, delivery_id: int, who: Organiser, text: Annotated[str, Form()] = "",
         at: Annotated[str, Form()] = "") -> Response:
    core = request.app.state.core
    d = _changeable(request, delivery_id, who)
    zone = _zone(request, d["campaign"])
    try:
        when = None if at.strip() == form_value(d["due_at"], zone) else parse_time(at, core.clock.now(), zone)
        result = posts.edit(core, who, delivery_id, text=None if text == d["text"] else text, at=when)
    except NotFound:
        raise
    except ActionError as exc:
        field = exc.field if exc.field in EDIT_FIELDS else "text"
        return _edit_page(request, d, text, at, {field: said(request, exc)}, exc.status)
    flash(request, said(request, result), anchor=f"d{delivery_id}")
    return _go(_row(d["campaign"], delivery_id))


@router.post("/deliveries/{delivery_id}/cancel", dependencies=[CSRF])
def cancel(request: Request, delivery_id: int, who: Organiser) -> Response:
    d = _changeable(request, delivery_id, who)
    try:
        result = posts.cancel(request.app.state.core, who, delivery_id)
    except NotFound:
        raise
    except ActionError as exc:
        flash(request, _sentence(said(request, exc)), "error", f"d{delivery_id}")
        return _go(_row(d["campaign"], delivery_id))
    flash(request, said(request, result), anchor=f"d{delivery_id}")
    return _go(_row(d["campaign"], delivery_id))


@router.post("/deliveries/{delivery_id}/resolve", dependencies=[CSRF])
def resolve(request: Request, delivery_id: int, who: Staff, action: Annotated[str, Form()] = "",
            url: Annotated[str, Form()] = "") -> Response:
    if action not in list(Settlement):
        flash(request, gettext(request, "Choose what happened to the post."), "error", "attention")
        return _go("/#attention")
    try:
        result = posts.resolve(request.app.state.core, who, delivery_id,
                               sent_url=url.strip() if action == Settlement.SENT else None,
                               resend=action == Settlement.RESEND)
    except ActionError as exc:
        if isinstance(exc, NotFound):
            raise
        flash(request, _sentence(said(request, exc)), "error", "attention")
        return _go("/#attention")
    flash(request, said(request, result), anchor="attention")
    return _go("/#attention")


@router.post("/approvals/{approval_id}/{decision}", dependencies=[CSRF])
def decide(request: Request, approval_id: int, decision: str, who: Staff, reason: Annotated[str, Form()] = "",
           back: Annotated[str, Form()] = "") -> Response:
    if decision not in ("approve", "reject"):
        raise NotFound("no_approval", "approval", approval=approval_id)
    target = local_path(back, "/#approvals")
    anchor = target.rsplit("#", 1)[1] if "#" in target else None
    try:
        result = approvals.decide(request.app.state.core, who, approval_id, decision == "approve", reason or None)
    except ActionError as exc:
        if isinstance(exc, (NotFound, Forbidden)):  # the error page, with its status
            raise
        flash(request, _sentence(said(request, exc)), "error", anchor)
        return _go(target)
    flash(request, said(request, result), anchor=anchor)
    return _go(target)

