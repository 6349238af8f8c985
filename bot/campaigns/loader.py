"""Reading campaign files and the target registry, and turning every problem into a one-line Issue.

An invalid file never stops the others: each file yields a campaign or a list of issues.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.campaigns.schema import ID_RE, Campaign, Target, known_field_names

TARGETS_FILE = "targets.toml"


@dataclass(frozen=True)
class Issue:
    file: str
    field: str
    message: str
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}: " if self.field else f"{self.file}: "
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}{prefix}{self.message}"


@dataclass
class LoadedCampaign:
    id: str
    model: Campaign
    targets: dict[str, Target]
    base_dir: Path
    path: Path | None = None
    _hash: str | None = field(default=None, repr=False, compare=False)

    def definition(self) -> dict[str, Any]:
        """What the database keeps, so the last good version runs on even if the file breaks later."""
        return {
            "campaign": self.model.model_dump(mode="json", exclude_none=True),
            "targets": {k: v.model_dump(mode="json", exclude_none=True) for k, v in self.targets.items()},
            "base_dir": str(self.base_dir),
        }

    def definition_hash(self) -> str:
        if self._hash is None:  # the model is frozen, so the hash never goes stale
            self._hash = hashlib.sha256(json.dumps(self.definition(), sort_keys=True).encode()).hexdigest()
        return self._hash

    @classmethod
    def from_definition(cls, campaign_id: str, data: dict[str, Any]) -> LoadedCampaign:
        return cls(
            id=campaign_id,
            model=Campaign.model_validate(data["campaign"]),
            targets={k: Target.model_validate(v) for k, v in data.get("targets", {}).items()},
            base_dir=Path(data.get("base_dir", ".")),
        )


@dataclass
class LoadResult:
    campaigns: dict[str, LoadedCampaign] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)
    """Ids of campaign files that exist but did not load."""

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and ("[" in part or part in {"str", "list", "dict"} or part.startswith("function")):
            continue  # pydantic's union branch labels, not part of the user's file
        else:
            out += ("." if out else "") + str(part)
    return out


def pydantic_issues(file: str, exc: ValidationError, prefix: str = "") -> list[Issue]:
    issues: list[Issue] = []
    seen: set[str] = set()
    vocabulary = known_field_names()
    for err in exc.errors():
        path = _loc_to_path(tuple(err["loc"]))
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        if path in seen:  # a union reports once per branch; the first says enough
            continue
        seen.add(path)
        kind = err["type"]
        if kind == "extra_forbidden":
            name = str(err["loc"][-1])
            parent = path.rsplit(".", 1)[0] if "." in path else ""
            issues.append(Issue(file, parent, f"unknown field {name!r}{did_you_mean(name, vocabulary)}"))
            continue
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "literal_error":
            msg = f"{msg} (found {err.get('input')!r})"
        issues.append(Issue(file, path, msg))
    return issues


def read_toml(path: Path) -> tuple[dict[str, Any] | None, list[Issue]]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), []
    except tomllib.TOMLDecodeError as exc:
        return None, [Issue(str(path), "", f"not valid TOML: {exc}")]
    except UnicodeDecodeError:
        return None, [Issue(str(path), "", "not UTF-8 text")]
    except OSError as exc:
        return None, [Issue(str(path), "", f"cannot read: {exc.strerror}")]


def load_targets(directory: Path) -> tuple[dict[str, Target], list[Issue]]:
    path = directory / TARGETS_FILE
    if not path.exists():
        return {}, []
    data, issues = read_toml(path)
    if data is None:
        return {}, issues
    targets: dict[str, Target] = {}
    for tid, raw in data.items():
        if not isinstance(raw, dict):
            issues.append(Issue(str(path), tid, "each target is a table: [target-id] with name, role, x, ..."))
            continue
        try:
            targets[tid] = Target.model_validate(raw)
        except ValidationError as exc:
            issues.extend(pydantic_issues(str(path), exc, prefix=tid))
    return targets, issues


def campaign_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.toml") if p.name != TARGETS_FILE)


def parse_campaign(path: Path, targets: dict[str, Target]) -> tuple[LoadedCampaign | None, list[Issue]]:
    """Parse one file against the schema and the target registry (no config needed)."""
    file = str(path)
    cid = path.stem
    if not ID_RE.match(cid):
        return None, [Issue(file, "", f"the file name {path.name!r} is the campaign id: use letters, digits, - or _")]
    data, issues = read_toml(path)
    if data is None:
        return None, issues
    try:
        model = Campaign.model_validate(data)
    except ValidationError as exc:
        return None, pydantic_issues(file, exc)
    used: dict[str, Target] = {}
    for i, tid in enumerate(model.targets):
        if tid in targets:
            used[tid] = targets[tid]
        else:
            issues.append(
                Issue(file, f"targets[{i}]", f"unknown target {tid!r}{did_you_mean(tid, targets)}; "
                      f"targets are defined in {TARGETS_FILE}")
            )
    if issues:
        return None, issues
    return LoadedCampaign(id=cid, model=model, targets=used, base_dir=path.parent, path=path), []
