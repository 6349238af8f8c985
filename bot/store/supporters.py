"""The supporters' tables. Every change goes through a migration (bot/store/migrations/versions/0008...).

No column ever holds a token in clear: ``credentials`` and ``client_secret_encrypted`` are Fernet tokens
(bot/supporters/crypto.py), ``manage_token_hash`` is a SHA-256.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, Id, UTCDateTime


class SupporterRow(Base):
    """A supporter's account the bot boosts with. Its outbox account id is ``supporter:<id>``."""

    __tablename__ = "supporters"
    __table_args__ = (Index("ix_supporters_state_network", "state", "network"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    """A label: given on the CLI, or the account's address (alice@example.social) when connected on the web.
    Replaced by ``supporter-<id>`` when the supporter disconnects."""
    network: Mapped[str] = mapped_column(String(40))  # mastodon | bluesky
    instance: Mapped[str | None] = mapped_column(String(300))
    """Mastodon: the host (example.social). Bluesky: the PDS host. Kept after a disconnect (not personal)."""
    api_base_url: Mapped[str | None] = mapped_column(Text)
    handle: Mapped[str | None] = mapped_column(String(300))
    """Mastodon: user@host; Bluesky: the handle (or DID). Deleted at disconnect."""
    credentials: Mapped[str | None] = mapped_column(Text)
    """Fernet token of a JSON object (access_token, or app_password). Deleted at disconnect."""
    all_campaigns: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(20))  # connected | disconnected
    disconnect_reason: Mapped[str | None] = mapped_column(Text)
    manage_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 of the private manage link's token. Deleted at disconnect."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SupporterCampaignRow(Base):
    """The campaigns a supporter chose (when not ``all_campaigns``). A table, not a JSON list, so a wave is
    planned in one set-based statement."""

    __tablename__ = "supporter_campaigns"

    supporter_id: Mapped[int] = mapped_column(ForeignKey("supporters.id", ondelete="CASCADE"), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(200), primary_key=True)


class MastodonAppRow(Base):
    """The app registered on a Mastodon instance the first time someone from it connects; kept."""

    __tablename__ = "mastodon_apps"

    instance: Mapped[str] = mapped_column(String(300), primary_key=True)
    api_base_url: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str] = mapped_column(Text)
    client_secret_encrypted: Mapped[str] = mapped_column(Text)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AmplifyWaveRow(Base):
    """One row per organisation delivery whose supporters' boosts were planned: a wave is planned once."""

    __tablename__ = "amplify_waves"

    delivery_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    campaign_id: Mapped[str] = mapped_column(String(200), index=True)
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime)


SUPPORTERS: Table = SupporterRow.__table__  # type: ignore[assignment]
SUPPORTER_CAMPAIGNS: Table = SupporterCampaignRow.__table__  # type: ignore[assignment]
MASTODON_APPS: Table = MastodonAppRow.__table__  # type: ignore[assignment]
WAVES: Table = AmplifyWaveRow.__table__  # type: ignore[assignment]
