"""Reading campaign files and the target registry, and turning every problem into a one-line Issue.

An invalid file never stops the others: each file yields a campaign or a list of issues.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli
from pydantic import ValidationError

from bot.campaigns.folder import NOT_CAMPAIGNS as NOT_CAMPAIGNS
from bot.campaigns.folder import TARGETS_FILE as TARGETS_FILE
from bot.campaigns.folder import Issue as Issue
from bot.campaigns.folder import campaign_files as campaign_files
from bot.campaigns.schema import ID_RE, Campaign, Target, known_field_names
from bot.campaigns.texts import MAX_FILE_BYTES, check_texts
from bot.errors import TOML_TOO_DEEP


def _hash_of(definition: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()


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
            self._hash = _hash_of(self.definition())
        return self._hash

    def stored(self) -> tuple[str, str]:
        """The definition as the JSON text the database keeps (in the file's order: where a text has no version
        in a language, the first one written is the fallback) and its hash (of the keys sorted), the
        definition built once (a first plan stores a thousand; the text goes to the database as it is)."""
        definition = self.definition()
        if self._hash is None:
            self._hash = _hash_of(definition)
        return json.dumps(definition), self._hash

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
    problems: dict[str, tuple[str, list[Issue]]] = field(default_factory=dict)
    """Per campaign file that did not load: its path and its errors."""

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib  # only when a name is wrong: not on a restart's way

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


_UNION_LABELS = frozenset({"str", "list", "dict", "datetime", "date"})


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and ("[" in part or part in _UNION_LABELS or part.startswith("function")):
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
        elif kind in ("literal_error", "enum"):
            msg = f"{msg} (found {err.get('input')!r})"
        elif kind in ("time_parsing", "time_type"):
            msg = f"{err.get('input')!r} is not a time of day: write HH:MM on a 24-hour clock, like \"20:00\""
        elif kind in ("datetime_parsing", "datetime_type", "date_parsing", "date_type", "datetime_from_date_parsing"):
            msg = f"{err.get('input')!r} is not a date: write 2026-12-05, or 2026-12-05T18:00:00 for a time too"
        elif kind == "too_short" and isinstance(err.get("input"), list | dict):
            msg = _EMPTY.get(path.rsplit(".", 1)[-1], "is empty: give at least one")
        issues.append(Issue(file, path, msg))
    return issues


_EMPTY = {
    "accounts": "no accounts: list at least one account id, as configured under [accounts.ID] in config.toml",
    "languages": "no languages: list at least one, like [\"es\", \"en\"]",
    "schedule": "no schedule: add at least one [[schedule]] rule",
    "call_to_action": "no calls to action: add at least one [[messages.call_to_action]] with a text",
}


def read_toml(path: Path) -> tuple[dict[str, Any] | None, list[Issue]]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:  # refused before reading: validate stays fast and small on absurd input
            return None, [Issue(str(path), "", f"the file is {-(-size // 1000):,} kB; a campaign file may be at most "
                                f"{MAX_FILE_BYTES / 1000:,.0f} kB")]
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, [Issue(str(path), "", "not UTF-8 text")]
    except OSError as exc:
        return None, [Issue(str(path), "", f"cannot read: {exc.strerror}")]
    try:
        return tomli.loads(text), []
    except tomli.TOMLDecodeError as exc:
        line, message = toml_problem(text, str(exc))
        return None, [Issue(f"{path}:{line}" if line else str(path), "", f"not valid TOML: {message}")]
    except RecursionError:  # tomli bounds nesting (a few kB of brackets crashed Python's own tomllib)
        return None, [Issue(str(path), "", f"not valid TOML: {TOML_TOO_DEEP}")]


_AT = re.compile(r"\s*\(at (?:line (\d+), column \d+|end of document)\)$")
_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=")


def toml_problem(text: str, error: str) -> tuple[int | None, str]:
    """tomli's message as one line a newcomer can act on, and the line it is about."""
    match = _AT.search(error)
    line = int(match.group(1)) if match and match.group(1) else None
    message = error[: match.start()] if match else error
    if message.startswith("Illegal character '\\n'") or message.startswith("Unterminated string"):
        return line or _unclosed_quote_line(text), "unterminated string: a quote is not closed on its line"
    if message.startswith("Cannot overwrite a value") or message.startswith("Cannot declare"):
        dup = _duplicate_key(text)
        if dup is not None:
            return dup[0], f"{dup[1]!r} is set twice (first on line {dup[2]})"
    return line, message[0].lower() + message[1:] if message else error


def _unclosed_quote_line(text: str) -> int | None:
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = re.sub(r"\\.", "", raw.split("#", 1)[0] if '"' not in raw else raw)
        if stripped.count('"') % 2 and '"""' not in stripped:
            return number
    return None


def _duplicate_key(text: str) -> tuple[int, str, int] | None:
    """(line, dotted key, first line) of the first key or table set twice; [[array]] items start afresh."""
    seen: dict[str, int] = {}
    table = ""
    for number, raw in enumerate(text.splitlines(), 1):
        if m := _TABLE.match(raw):
            table = _norm(m.group(1))
            if raw.lstrip().startswith("[["):
                seen = {k: v for k, v in seen.items() if not k.startswith(table + ".") and k != table}
                continue
            if table in seen:
                return number, table, seen[table]
            seen[table] = number
            continue
        if m := _KEY.match(raw):
            key = f"{table}.{_norm(m.group(1))}" if table else _norm(m.group(1))
            if key in seen:
                return number, key, seen[key]
            seen[key] = number
    return None


def _norm(key: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in key.split("."))


class Registry(dict[str, Target]):
    """The targets of one folder's targets.toml, and the ids whose entries are invalid there (so a campaign
    naming one is told to look at targets.toml, not that the target is unknown)."""

    invalid: frozenset[str] = frozenset()


def load_targets(directory: Path) -> tuple[Registry, list[Issue]]:
    path = directory / TARGETS_FILE
    targets = Registry()
    if not path.exists():
        return targets, []
    data, issues = read_toml(path)
    if data is None:
        targets.invalid = frozenset({"*"})
        return targets, issues
    invalid: set[str] = set()
    for tid, raw in data.items():
        if not isinstance(raw, dict):
            issues.append(Issue(str(path), tid, "each target is a table: [target-id] with name, role, x, ..."))
            invalid.add(tid)
            continue
        try:
            targets[tid] = Target.model_validate(raw)
        except ValidationError as exc:
            issues.extend(pydantic_issues(str(path), exc, prefix=tid))
            invalid.add(tid)
    targets.invalid = frozenset(invalid)
    return targets, issues


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Campaign paths as given on the command line: a folder stands for the campaign files in it."""
    out: list[Path] = []
    for path in paths:
        out.extend(campaign_files(path) if path.is_dir() else [path])
    return out


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
    issues.extend(Issue(file, where, message) for where, message in check_texts(model))
    used: dict[str, Target] = {}
    invalid: frozenset[str] = getattr(targets, "invalid", frozenset())
    for i, tid in enumerate(model.targets):
        if tid in targets:
            used[tid] = targets[tid]
        elif tid in invalid or "*" in invalid:
            issues.append(Issue(file, f"targets[{i}]", f"target {tid!r} is invalid in {TARGETS_FILE}: "
                                "fix the error reported there"))
        else:
            issues.append(
                Issue(file, f"targets[{i}]", f"unknown target {tid!r}{did_you_mean(tid, targets)}; "
                      f"targets are defined in {TARGETS_FILE}")
            )
    if issues:
        return None, issues
    return LoadedCampaign(id=cid, model=model, targets=used, base_dir=path.parent, path=path), []
