"""What code that reads or writes the database needs of the application: the engine, sessions and the clock.
Every feature's dependencies extend this protocol with what else it uses; bootstrap's App has all of them, and
only the entry points (the CLI, the web app) hold an App."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock


class Database(Protocol):
    @property
    def engine(self) -> Engine: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def clock(self) -> Clock: ...
