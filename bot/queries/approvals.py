"""What waits for a second staff member, for the dashboard, the campaign page, the API and `approvals list`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.queries.deps import Reads
from bot.queries.previews import iso
from bot.states import ApprovalKind, Decision, Status
from bot.store.access import ApprovalRow
from bot.store.models import DeliveryRow


@dataclass(frozen=True)
class PendingApproval:
    id: int
    kind: ApprovalKind
    campaign: str
    requested_by: str
    requested_at: datetime
    text: str
    """The post's text (the first account's), or what the close would do."""
    due_at: datetime | None
    accounts: tuple[str, ...]
    """The accounts the post goes out on (none for a close)."""
    edit_of: int | None = None
    """The approval this one replaces: the post was changed after it."""

    @property
    def what(self) -> str:
        return "post" if self.kind == ApprovalKind.POST else "close"

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["requested_at"] = self.requested_at.isoformat(timespec="seconds")
        out["due_at"] = self.due_at.isoformat(timespec="seconds") if self.due_at else None
        out["accounts"] = list(self.accounts)
        return out


def pending(deps: Reads, campaign: str | None = None) -> list[PendingApproval]:
    """Every request not decided yet (a post request only while some of its posts still wait)."""
    with deps.sessions() as session:
        stmt = select(ApprovalRow).where(ApprovalRow.decision.is_(None)).order_by(ApprovalRow.id)
        if campaign:
            stmt = stmt.where(ApprovalRow.campaign_id == campaign)
        requests = list(session.scalars(stmt))
        posts: dict[int, list[DeliveryRow]] = {}
        ids = [a.id for a in requests if a.kind == ApprovalKind.POST]
        if ids:
            for d in session.scalars(select(DeliveryRow).where(DeliveryRow.approval_id.in_(ids),
                                                               DeliveryRow.status == Status.AWAITING_APPROVAL)
                                     .order_by(DeliveryRow.id)):
                posts.setdefault(d.approval_id or 0, []).append(d)
    out = []
    for a in requests:
        details = a.details or {}
        if a.kind == ApprovalKind.CLOSE:
            text = f"Close the case ({str(details.get('outcome', '')).replace('_', ' ')})" + (
                f": {details['note']}" if details.get("note") else "")
            out.append(PendingApproval(a.id, ApprovalKind.CLOSE, a.campaign_id, a.requested_by, a.requested_at, text,
                                       None, ()))
            continue
        rows = posts.get(a.id)
        if not rows:
            continue
        out.append(PendingApproval(a.id, ApprovalKind.POST, a.campaign_id, a.requested_by, a.requested_at,
                                   rows[0].text, rows[0].due_at, tuple(dict.fromkeys(r.account_id for r in rows)),
                                   details.get("edit_of")))
    return out


def rejected(deps: Reads, campaign: str, limit: int = 20) -> list[dict[str, Any]]:
    """The campaign's rejected requests, newest first, with the reason a staff member gave and what was asked
    (the post's text): the organiser who asked reads why on the campaign's page."""
    with deps.sessions() as session:
        requests = list(session.scalars(select(ApprovalRow).where(ApprovalRow.campaign_id == campaign,
                                                                  ApprovalRow.decision == Decision.REJECTED)
                                        .order_by(ApprovalRow.decided_at.desc(), ApprovalRow.id.desc())
                                        .limit(limit)))
        texts: dict[int, DeliveryRow] = {}
        ids = [a.id for a in requests if a.kind == ApprovalKind.POST]
        if ids:
            for d in session.scalars(select(DeliveryRow).where(DeliveryRow.approval_id.in_(ids))
                                     .order_by(DeliveryRow.id.desc())):
                texts[d.approval_id or 0] = d
    out = []
    for a in requests:
        post = texts.get(a.id)
        out.append({"id": a.id, "kind": str(a.kind), "requested_by": a.requested_by, "decided_by": a.decided_by,
                    "decided_at": iso(a.decided_at), "reason": a.reason, "delivery": post.id if post else None,
                    "text": post.text if post else str((a.details or {}).get("outcome", "")).replace("_", " ")})
    return out
