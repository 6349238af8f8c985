"""What the read models need of the application: the database and the clock (bot.bootstrap's App has them)."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock


class Reads(Protocol):
    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def clock(self) -> Clock: ...


class ReadsEngine(Reads, Protocol):
    @property
    def engine(self) -> Engine: ...
