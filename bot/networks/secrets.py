"""Reading an account's secrets. An adapter asks its ``Secrets`` for a name when it builds a client.

Config accounts name environment variables; ``NAME_FILE`` (a path to a file holding the value) is accepted
too, for container secrets. A failed read is never remembered: once the variable or file is fixed, the next
read works, without a restart. Accounts stored in the database will bring their own ``Secrets`` (their
decrypted tokens) behind the same protocol.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol


class SecretUnreadable(Exception):
    """A secret could not be read. The message names the account and the variable, never a value; an adapter
    turns it into networks.base.Misconfigured (this module stays a leaf, below base)."""


class Secrets(Protocol):
    def read(self, name: str) -> str:
        """The secret called ``name``; raises SecretUnreadable."""
        ...


class EnvSecrets:
    """Secrets from the environment: ``$NAME``, or the file named by ``$NAME_FILE``."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id

    def read(self, name: str) -> str:
        return read_secret(self.account_id, name)


def read_secret(account_id: str, env_name: str) -> str:
    """The value of ``env_name``, or of the file named by ``env_name``_FILE. Never logged."""
    value = os.environ.get(env_name)
    if value and value.strip():
        return value.strip()
    file_var = f"{env_name}_FILE"
    file_path = os.environ.get(file_var)
    if file_path:
        try:
            content = Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretUnreadable(
                f"account {account_id}: cannot read ${file_var} ({file_path}): {exc.strerror}"
            ) from None
        if content:
            return content
        raise SecretUnreadable(f"account {account_id}: the file named by ${file_var} is empty")
    raise SecretUnreadable(f"account {account_id}: environment variable ${env_name} (or ${file_var}) is not set")


def secret_problems(account_id: str, names: list[str], secrets: Secrets) -> list[str]:
    """One message per secret that cannot be read now (start-up checks and `validate`)."""
    problems = []
    for name in names:
        try:
            secrets.read(name)
        except SecretUnreadable as exc:
            problems.append(str(exc))
    return problems
