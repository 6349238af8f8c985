"""The supporter store: the one API the CLI, the web app and the worker use for supporters.

Every function takes an open ORM ``Session`` (the caller commits) and, when it writes, ``now`` (the
injected clock's time) and an ``actor`` for the audit log. Secrets go in and out only through a
``Cipher`` (bot/supporters/crypto.py); nothing returned by this module holds a token except
``credentials()`` and ``mastodon_app()`` (the client secret), which callers hand straight to a client.

    connect(session, cipher, now, network=, name=, credentials=, instance=, api_base_url=, handle=,
            campaigns=None, actor=)                        -> Connected (supporter, manage_token shown once)
        A supporter connecting (web OAuth callback, or `supporters add`). ``campaigns=None`` means all.
        The same account connecting again (same network, instance and handle, still connected) becomes a new
        supporter (new id, token, choices and manage link); the old one is disconnected ("connected again"),
        its link stops working and its planned boosts are cancelled. Credentials never change under an id,
        so a worker that read them never holds a stale token.
    set_campaigns(session, supporter_id, campaigns, now, actor)   campaigns=None means all
    disconnect(session, supporter_id, now, reason, actor)         takes effect at once (see below)
    by_manage_token(session, token) -> Supporter | None           connected supporters only
    by_id / by_name(session, ...) -> Supporter | None
    list_supporters(session) -> list[Supporter]
    campaign_ids(session) -> list[str]                             the campaigns the database knows
    credentials(session, cipher, supporter_id) -> dict[str, str]  decrypted; for the adapter only
    mastodon_app(session, cipher, instance) -> MastodonApp | None
    save_mastodon_app(session, cipher, now, instance=, api_base_url=, client_id=, client_secret=,
                      redirect_uri=, scopes=) -> MastodonApp     registered once per instance, then kept
    ensure_mastodon_app(session, cipher, now, instance, api_base_url, redirect_uri, register) -> MastodonApp
        the kept app, or ``register(api_base_url, redirect_uri, SCOPES) -> (client_id, client_secret)``
        (bot.networks.mastodon.oauth.register_app) called once and saved
    rotate_secrets(session, cipher) -> int                         `campaign-bot secrets rotate`
    supporters_exist(session) -> bool                              start-up check for the key

Disconnecting deletes at once the encrypted token, the handle, the API URL, the manage-link hash and the
campaign choices, and renames the supporter ``supporter-<id>``. Kept: the row's id, network, instance host,
state, reason and dates (so the outbox rows ``supporter:<id>`` still read), and the audit log's entries
(connected / campaigns changed / disconnected: the supporter id, network, instance host, campaign ids, the
reason and who did it; never a handle or a token). Planned boosts of a disconnected supporter are cancelled
by the outbox (bot/outbox/amplify.py) in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.networks.registry import Capability, kinds_that
from bot.store import audit
from bot.store.supporters import MastodonAppRow, SupporterCampaignRow, SupporterRow
from bot.supporters.crypto import Cipher

NETWORKS = kinds_that(Capability.BOOST)
"""The networks a supporter's account can boost on (their adapters say so: bot/networks/base.py Booster)."""
CONNECTED = "connected"
DISCONNECTED = "disconnected"
ACCOUNT_PREFIX = "supporter:"
SCOPES = "read:accounts read:search write:statuses"
"""Mastodon scopes: read the supporter's own account (verify_credentials), resolve the organisation's status
(search with resolve=true), reblog and unreblog. Nothing else."""


@dataclass(frozen=True)
class Supporter:
    id: int
    name: str
    network: str
    instance: str | None
    api_base_url: str | None
    handle: str | None
    all_campaigns: bool
    campaigns: tuple[str, ...]
    state: str
    disconnect_reason: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def account_id(self) -> str:
        """The id the outbox knows this supporter's account by."""
        return account_id_of(self.id)

    @property
    def connected(self) -> bool:
        return self.state == CONNECTED

    def amplifies(self, campaign_id: str) -> bool:
        return self.connected and (self.all_campaigns or campaign_id in self.campaigns)


@dataclass(frozen=True)
class Connected:
    supporter: Supporter
    manage_token: str
    """The private manage link's token, in clear: shown once (a page, or the CLI), stored only as a hash."""
    replaced: str | None = None
    """The name of the supporter entry for the same account that this one replaced (now disconnected)."""


@dataclass(frozen=True)
class MastodonApp:
    instance: str
    api_base_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scopes: str
    registered_at: datetime


def account_id_of(supporter_id: int) -> str:
    return f"{ACCOUNT_PREFIX}{supporter_id}"


def supporter_id_of(account_id: str) -> int | None:
    """The supporter id in an outbox account id, or None for an organisation account."""
    if not account_id.startswith(ACCOUNT_PREFIX):
        return None
    rest = account_id[len(ACCOUNT_PREFIX):]
    return int(rest) if rest.isdigit() else None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _view(session: Session, row: SupporterRow, chosen: Iterable[str] | None = None) -> Supporter:
    if chosen is None:
        chosen = session.scalars(select(SupporterCampaignRow.campaign_id)
                                 .where(SupporterCampaignRow.supporter_id == row.id)
                                 .order_by(SupporterCampaignRow.campaign_id)).all()
    return Supporter(id=row.id, name=row.name, network=row.network, instance=row.instance,
                     api_base_url=row.api_base_url, handle=row.handle, all_campaigns=row.all_campaigns,
                     campaigns=tuple(chosen), state=row.state, disconnect_reason=row.disconnect_reason,
                     created_at=row.created_at, updated_at=row.updated_at)


def _choose(session: Session, supporter_id: int, campaigns: Iterable[str] | None) -> tuple[bool, list[str]]:
    session.execute(delete(SupporterCampaignRow).where(SupporterCampaignRow.supporter_id == supporter_id))
    if campaigns is None:
        return True, []
    chosen = sorted(set(campaigns))
    session.add_all([SupporterCampaignRow(supporter_id=supporter_id, campaign_id=c) for c in chosen])
    return False, chosen


def connect(session: Session, cipher: Cipher, now: datetime, *, network: str, name: str,
            credentials: dict[str, str], instance: str | None = None, api_base_url: str | None = None,
            handle: str | None = None, campaigns: Iterable[str] | None = None, actor: str) -> Connected:
    if network not in NETWORKS:
        raise UserError(f"supporters: network {network!r} is not supported (use {' or '.join(NETWORKS)})")
    if not name.strip():
        raise UserError("supporters: a supporter needs a name")
    previous, replaced = None, None
    if handle:
        previous = session.scalars(select(SupporterRow).where(
            SupporterRow.network == network, SupporterRow.instance == instance, SupporterRow.handle == handle,
            SupporterRow.state == CONNECTED)).first()
    if previous is not None:  # a new row, so no worker keeps using the old token under the same account id
        replaced = previous.name
        disconnect(session, previous.id, now, "connected again", actor)
    taken = session.scalar(select(SupporterRow.id).where(SupporterRow.name == name))
    if taken is not None:
        raise UserError(f"supporters: the name {name!r} is taken; choose another")
    row = SupporterRow(name=name, network=network, state=CONNECTED, created_at=now, all_campaigns=True)
    session.add(row)
    action = "supporter_connected" if previous is None else "supporter_reconnected"
    token = secrets.token_urlsafe(32)
    row.instance = instance
    row.api_base_url = api_base_url
    row.handle = handle
    row.credentials = cipher.encrypt(json.dumps(credentials, sort_keys=True))
    row.manage_token_hash = hash_token(token)
    row.updated_at = now
    session.flush()
    row.all_campaigns, chosen = _choose(session, row.id, campaigns)
    session.flush()
    audit.record(session, now, actor, action, note=None, supporter_id=row.id, network=network, instance=instance,
                 campaigns="all" if row.all_campaigns else chosen)
    return Connected(_view(session, row), token, replaced)


def _row(session: Session, supporter_id: int) -> SupporterRow:
    row = session.get(SupporterRow, supporter_id)
    if row is None:
        raise UserError(f"supporters: no supporter {supporter_id}")
    return row


def set_campaigns(session: Session, supporter_id: int, campaigns: Iterable[str] | None, now: datetime,
                  actor: str) -> Supporter:
    row = _row(session, supporter_id)
    if row.state != CONNECTED:
        raise UserError(f"supporters: supporter {supporter_id} is disconnected; connect again")
    row.all_campaigns, chosen = _choose(session, row.id, campaigns)
    row.updated_at = now
    session.flush()
    audit.record(session, now, actor, "supporter_campaigns", supporter_id=row.id,
                 campaigns="all" if row.all_campaigns else chosen)
    return _view(session, row)


def disconnect(session: Session, supporter_id: int, now: datetime, reason: str, actor: str) -> Supporter:
    """Deletes the token and personal data now and cancels the supporter's planned boosts (see above)."""
    from bot.outbox.amplify import cancel_boosts  # the outbox writes delivery rows

    row = _row(session, supporter_id)
    was_connected = row.state == CONNECTED
    row.state = DISCONNECTED
    row.disconnect_reason = reason
    row.disconnected_at = row.disconnected_at if not was_connected else now
    row.name = f"supporter-{row.id}"
    row.credentials = None
    row.handle = None
    row.api_base_url = None
    row.manage_token_hash = None
    row.updated_at = now
    _choose(session, row.id, [])
    row.all_campaigns = False
    session.flush()
    cancelled = cancel_boosts(session.connection(), account_id_of(row.id), now, reason)
    if was_connected:
        audit.record(session, now, actor, "supporter_disconnected", note=reason, supporter_id=row.id,
                     network=row.network, instance=row.instance, boosts_cancelled=cancelled)
    return _view(session, row)


def campaign_ids(session: Session) -> list[str]:
    """The campaigns the database knows (loaded from their files by `plan`, `run`, `validate`...)."""
    from bot.store.models import CampaignRow

    return list(session.scalars(select(CampaignRow.id).order_by(CampaignRow.id)))


def by_id(session: Session, supporter_id: int) -> Supporter | None:
    row = session.get(SupporterRow, supporter_id)
    return None if row is None else _view(session, row)


def by_name(session: Session, name: str) -> Supporter | None:
    row = session.scalars(select(SupporterRow).where(SupporterRow.name == name)).first()
    return None if row is None else _view(session, row)


def by_manage_token(session: Session, token: str) -> Supporter | None:
    if not token:
        return None
    row = session.scalars(select(SupporterRow).where(SupporterRow.manage_token_hash == hash_token(token),
                                                     SupporterRow.state == CONNECTED)).first()
    return None if row is None else _view(session, row)


def list_supporters(session: Session, *, connected_only: bool = False) -> list[Supporter]:
    """Every supporter (or only connected ones), in two queries whatever their number."""
    stmt = select(SupporterRow).order_by(SupporterRow.id)
    if connected_only:
        stmt = stmt.where(SupporterRow.state == CONNECTED)
    chosen: dict[int, list[str]] = {}
    for supporter_id, campaign_id in session.execute(select(SupporterCampaignRow.supporter_id,
                                                            SupporterCampaignRow.campaign_id)
                                                     .order_by(SupporterCampaignRow.campaign_id)):
        chosen.setdefault(supporter_id, []).append(campaign_id)
    return [_view(session, row, chosen.get(row.id, [])) for row in session.scalars(stmt)]


def connected_supporters(session: Session) -> list[Supporter]:
    return list_supporters(session, connected_only=True)


def credentials(session: Session, cipher: Cipher, supporter_id: int) -> dict[str, str]:
    """The decrypted credentials of a connected supporter ({} once disconnected)."""
    stored = session.scalar(select(SupporterRow.credentials).where(SupporterRow.id == supporter_id))
    return decrypt_credentials(cipher, stored) if stored else {}


def decrypt_credentials(cipher: Cipher, stored: str) -> dict[str, str]:
    value: dict[str, str] = json.loads(cipher.decrypt(stored))
    return value


def supporters_exist(session: Session) -> bool:
    """Whether the database holds any secret the key is needed for."""
    count = session.scalar(select(func.count()).select_from(SupporterRow)
                           .where(SupporterRow.credentials.is_not(None)))
    apps = session.scalar(select(func.count()).select_from(MastodonAppRow))
    return bool(count) or bool(apps)


def mastodon_app(session: Session, cipher: Cipher, instance: str) -> MastodonApp | None:
    row = session.get(MastodonAppRow, instance)
    if row is None:
        return None
    return MastodonApp(instance=row.instance, api_base_url=row.api_base_url, client_id=row.client_id,
                       client_secret=cipher.decrypt(row.client_secret_encrypted), redirect_uri=row.redirect_uri,
                       scopes=row.scopes, registered_at=row.registered_at)


def save_mastodon_app(session: Session, cipher: Cipher, now: datetime, *, instance: str, api_base_url: str,
                      client_id: str, client_secret: str, redirect_uri: str, scopes: str = SCOPES) -> MastodonApp:
    row = session.get(MastodonAppRow, instance)
    if row is None:
        row = MastodonAppRow(instance=instance)
        session.add(row)
    row.api_base_url = api_base_url
    row.client_id = client_id
    row.client_secret_encrypted = cipher.encrypt(client_secret)
    row.redirect_uri = redirect_uri
    row.scopes = scopes
    row.registered_at = now
    session.flush()
    return MastodonApp(instance, api_base_url, client_id, client_secret, redirect_uri, scopes, now)


Register = Callable[[str, str, str], tuple[str, str]]
"""(api_base_url, redirect_uri, scopes) -> (client_id, client_secret)."""


def ensure_mastodon_app(session: Session, cipher: Cipher, now: datetime, instance: str, api_base_url: str,
                        redirect_uri: str, register: Register) -> MastodonApp:
    """The app kept for the instance; registered (once) when there is none or the redirect URI changed."""
    app = mastodon_app(session, cipher, instance)
    if app is not None and app.redirect_uri == redirect_uri and app.scopes == SCOPES:
        return app
    client_id, client_secret = register(api_base_url, redirect_uri, SCOPES)
    return save_mastodon_app(session, cipher, now, instance=instance, api_base_url=api_base_url,
                             client_id=client_id, client_secret=client_secret, redirect_uri=redirect_uri)


def rotate_secrets(session: Session, cipher: Cipher) -> int:
    """Re-encrypts every stored secret with the first key; returns how many. The caller commits."""
    count = 0
    for row in session.scalars(select(SupporterRow).where(SupporterRow.credentials.is_not(None))):
        assert row.credentials is not None
        row.credentials = cipher.rotate(row.credentials)
        count += 1
    for app in session.scalars(select(MastodonAppRow)):
        app.client_secret_encrypted = cipher.rotate(app.client_secret_encrypted)
        count += 1
    session.flush()
    return count


def check_decrypts(session: Session, cipher: Cipher) -> None:
    """Raises SecretKeyError when a stored secret does not decrypt with the key (checked at start)."""
    stored = session.scalar(select(SupporterRow.credentials).where(SupporterRow.credentials.is_not(None)).limit(1))
    if stored:
        cipher.decrypt(stored)
    secret = session.scalar(select(MastodonAppRow.client_secret_encrypted).limit(1))
    if secret:
        cipher.decrypt(secret)


def undo_boosts(session: Session, supporter_id: int, now: datetime, campaign_id: str | None, actor: str) -> int:
    """The supporter asked to undo their boosts (of one campaign, or all): unboosts are planned now and boosts
    not sent yet are cancelled (bot/outbox/amplify.py). Returns the unboosts planned."""
    from bot.outbox.amplify import plan_unboosts

    count = plan_unboosts(session.connection(), account_id_of(supporter_id), now, campaign_id)
    audit.record(session, now, actor, "supporter_undo", campaign_id, supporter_id=supporter_id, unboosts=count)
    return count
