"""Checks that need the config and the networks: accounts, rendering every message for every language and
network, lengths, images, and schedules that would never post."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from bot.accounts.directory import account_languages, resolve_account
from bot.campaigns.cache import LoadCache
from bot.campaigns.deadlines import deadline_passed
from bot.campaigns.letters import letter_problems
from bot.campaigns.loader import (
    TARGETS_FILE,
    Issue,
    LoadedCampaign,
    LoadResult,
    Registry,
    campaign_files,
    did_you_mean,
    expand_paths,
    load_targets,
    parse_campaign,
)
from bot.campaigns.schedule import campaign_slots, rule_ever_posts
from bot.campaigns.schema import Message
from bot.campaigns.templates import TemplateError, pick, render
from bot.campaigns.texts import messages
from bot.config.settings import Config
from bot.networks.budgets import BudgetWindow, budget_for, busiest
from bot.networks.registry import measure, network_class
from bot.networks.text import graphemes
from bot.states import CampaignState

BLUESKY_MAX_BYTES = 3_000
"""Bluesky also refuses a post text over 3,000 bytes of UTF-8 (the record's maxLength)."""

_COUNTED = {
    "x": "weighted length {n}/{max} (X counts a link as 23, CJK characters and emoji as 2)",
    "bluesky": "{n}/{max} graphemes (user-perceived characters; a link counts in full)",
    "mastodon": "{n}/{max} characters (Mastodon counts a link as 23, a mention as its username)",
    "threads": "{n}/{max} characters (Threads counts an emoji as its UTF-8 bytes, a link in full)",
    "telegram": "{n}/{max} characters (a link counts in full)",
    "facebook": "{n}/{max} characters",
}


def length_message(network: str, length: int, maximum: int, qualifier: str = "") -> str:
    """What is counted, the count against the limit, and by how much it is over."""
    counted = _COUNTED.get(network, "{n}/{max} characters").format(n=f"{qualifier}{length:,}", max=f"{maximum:,}")
    return f"{counted}: {qualifier}{length - maximum:,} over {network}'s limit of {maximum:,}"


def at_least(text: str, enough: int) -> int:
    """A cheap lower bound of the length on every network, counted no further than ``enough``: graphemes of
    the words with no '.' or '@' (a link or a mention may count less than it is long; any other grapheme
    counts at least 1)."""
    words = " ".join(word for word in text.split() if "." not in word and "@" not in word)
    return graphemes(words[: 4 * enough])


def check_text(
    file: str, where: str, text: str, network: str, language: str, limit: int | None = None
) -> list[Issue]:
    """Length (as the network counts it) and anything else the network would refuse, or would do to the text
    unasked (a warning). The text is measured once, and not at all when it is certainly over twice the limit
    (X's count takes 10 ms per 1,000 characters); the network's other checks run only on a text within its
    limit."""
    cls = network_class(network)
    maximum = limit or cls.max_length
    # The bound counts at most one per character of the text: a text no longer than that cannot exceed it.
    bound = at_least(text, 2 * maximum) if len(text) > 2 * maximum else 0
    if bound > 2 * maximum:
        return [Issue(file, where, f"({language}, {network}) {length_message(network, bound, maximum, '≥ ')}")]
    length = measure(network, text)
    if length > maximum:
        return [Issue(file, where, f"({language}, {network}) {length_message(network, length, maximum)}")]
    if network == "bluesky" and len(text.encode()) > BLUESKY_MAX_BYTES:
        size = len(text.encode())
        return [Issue(file, where, f"({language}, {network}) {size:,}/{BLUESKY_MAX_BYTES:,} bytes of UTF-8: "
                                   f"{size - BLUESKY_MAX_BYTES:,} over Bluesky's byte limit")]
    problem = cls.text_problem(text)
    if problem:
        return [Issue(file, where, f"({language}, {network}) {problem}")]
    warning = cls.text_warning(text)
    return [Issue(file, where, f"({language}, {network}) {warning}", "warning")] if warning else []


def source_field(message: Message, where: str, language: str, network: str) -> str:
    """The field a text for (language, network) comes from: `...networks.x.zh` for a variant, else `...text.zh`."""
    if network in message.networks and pick(message.networks[network], language) is not None:
        variant = message.networks[network]
        return f"{where}.networks.{network}" + (f".{language}" if isinstance(variant, dict) else "")
    return f"{where}.text" + (f".{language}" if isinstance(message.text, dict) else "")


def check_campaign(campaign: LoadedCampaign, config: Config, now: datetime) -> list[Issue]:
    model = campaign.model
    file = str(campaign.path or campaign.id)
    issues: list[Issue] = []

    pairs: set[tuple[str, str]] = set()  # (language, network) pairs this campaign posts in
    for i, account_id in enumerate(model.accounts):
        view = resolve_account(config, account_id)
        if view is None:
            issues.append(Issue(file, f"accounts[{i}]", f"unknown account {account_id!r}"
                                f"{did_you_mean(account_id, config.accounts)}; accounts are configured in "
                                f"{config.path} under [accounts.ID]"))
            continue
        langs = account_languages(view, model.languages)
        if not langs:
            issues.append(Issue(file, f"accounts[{i}]", f"account {account_id!r} posts in none of the campaign's "
                                f"languages ({', '.join(model.languages)})", "warning"))
        pairs.update((lang, view.network) for lang in langs)
    if len(set(model.accounts)) != len(model.accounts):
        issues.append(Issue(file, "accounts", "an account is listed twice"))

    for kind, items in (("schedule", [r.id for r in model.schedule]),
                        ("messages.update", [u.id for u in model.messages.update])):
        dupes = sorted({x for x in items if items.count(x) > 1})
        for d in dupes:
            issues.append(Issue(file, kind, f"duplicate id {d!r}"))

    if deadline_passed(model, now) and model.status == CampaignState.ACTIVE:
        issues.append(Issue(file, "act_by", "the deadline has passed: no more calls to action are posted (the "
                            "campaign stays open until it is closed)", "warning"))
    for i, rule in enumerate(model.schedule):
        if not rule_ever_posts(rule, campaign.model, now):
            issues.append(Issue(file, f"schedule[{i}]", f"rule {rule.id!r} produces no post "
                                "(check its dates, starts/ends and quiet hours)"))

    for where, message in messages(model):
        # Render for every pair the campaign posts in, and for every per-network variant written.
        checks = set(pairs)
        for variant_network in message.networks:
            checks.update((lang, variant_network) for lang in model.languages)
        for lang, net in sorted(checks):
            field_name = source_field(message, where, lang, net)
            try:
                text = render(message, model, campaign.targets, lang, net, now)
            except TemplateError as exc:
                issues.append(Issue(file, field_name if str(exc).startswith("the template") else where,
                                    f"({lang}, {net}) {exc}"))
                continue
            if not text:
                issues.append(Issue(file, field_name, f"({lang}, {net}) renders to empty text"))
                continue
            issues.extend(check_text(file, field_name, text, net, lang))
            issues.extend(_with_image(file, where, field_name, message, text, net, lang))
        if message.image is not None:
            for account_id in model.accounts:
                settings = config.accounts.get(account_id)
                problem = network_class(settings.network).media_problem(settings) if settings else None
                if problem:
                    issues.append(Issue(file, f"{where}.image", f"account {account_id!r} cannot post it: {problem}"))
            img = campaign.base_dir / message.image.path
            if not img.is_file():
                issues.append(Issue(file, f"{where}.image.path", f"image {message.image.path!r} not found "
                                    f"(paths are relative to {campaign.base_dir})"))
            for lang in model.languages:
                if pick(message.image.alt, lang) is None:
                    issues.append(Issue(file, f"{where}.image.alt", f"no alt text for language {lang!r}"))
    issues.extend(Issue(file, field, problem, severity)
                  for field, problem, severity in letter_problems(model, campaign.targets, now))
    if len(model.messages.call_to_action) < 2:
        issues.append(Issue(file, "messages.call_to_action", "only one call to action: an account will post the "
                            "same text every time, and X refuses duplicates; add variants", "warning"))
    return issues


def _with_image(file: str, where: str, field_name: str, message: Message, text: str, network: str,
                language: str) -> list[Issue]:
    """What a network does with a text that goes with an image: a shorter limit (a caption), no alt text."""
    if message.image is None:
        return []
    cls = network_class(network)
    issues = []
    limit = cls.media_text_limit()
    if limit is not None and (length := measure(network, text)) > limit:
        issues.append(Issue(file, field_name, f"({language}, {network}) {length:,}/{limit:,} characters: with an "
                            f"image the text is its caption on {network}, {length - limit:,} over its limit"))
    if not cls.carries_alt_text:
        issues.append(Issue(file, f"{where}.image.alt", f"({language}, {network}) {network} has no place for an "
                            "image's alt text: the image goes without it (describe it in the text if it matters)",
                            "warning"))
    return issues


def budget_warnings(config: Config, campaigns: Iterable[LoadedCampaign], now: datetime,
                    days: int = 7) -> list[Issue]:
    """Warn when the schedules, added up per account, would post more than the account's rate budget."""
    if config.console_fallback:
        return []
    times: dict[str, list[datetime]] = {}
    sources: dict[str, set[str]] = {}
    end = now + timedelta(days=days)
    for campaign in campaigns:
        if campaign.model.status != CampaignState.ACTIVE:
            continue
        slots = [s.at for s in campaign_slots(campaign.model, now, end)]
        for account_id in campaign.model.accounts:
            view = resolve_account(config, account_id)
            if view is None:
                continue
            per_slot = len(account_languages(view, campaign.model.languages))
            times.setdefault(account_id, []).extend(t for t in slots for _ in range(per_slot))
            sources.setdefault(account_id, set()).add(campaign.id)
    issues = []
    for account_id, planned in times.items():
        settings = config.accounts.get(account_id)
        for window in budget_for(settings):
            count, start = busiest(planned, window)
            if count > window.posts and start is not None:
                issues.append(Issue(str(config.path or "config"), f"accounts.{account_id}",
                                    f"the schedules of {', '.join(sorted(sources[account_id]))} post {count} times "
                                    f"in the {_span_words(window)} from {start.isoformat(timespec='minutes')}, "
                                    f"over its budget of {window.describe()}; the extra posts will be deferred",
                                    "warning"))
    return issues


def _span_words(window: BudgetWindow) -> str:
    return window.describe().split(" per ", 1)[1]


def _signature(path: Path, folders: dict[Path, tuple[int, int]]) -> tuple[int, ...] | None:
    """(mtime, size) of the file and of its folder's targets.toml (stat once per folder and call: re-planning
    thousands of unchanged files is mostly this); None when the file is not there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    if path.parent not in folders:
        try:
            tst = os.stat(path.parent / TARGETS_FILE)
            folders[path.parent] = (tst.st_mtime_ns, tst.st_size)
        except OSError:
            folders[path.parent] = (0, 0)
    return (st.st_mtime_ns, st.st_size, *folders[path.parent])


def load_campaigns(config: Config, now: datetime, paths: list[Path] | None = None, *,
                   cache: LoadCache | None = None, budgets: bool = True) -> LoadResult:
    """Load and fully validate campaign files; invalid ones are reported in ``failed`` and ``issues``."""
    directory = config.campaigns_dir
    result = LoadResult()
    if paths is None and not directory.is_dir():
        result.issues.append(Issue(str(directory), "", "campaigns folder not found (bot.campaigns_dir)"))
        return result
    files = expand_paths(paths) if paths else campaign_files(directory)
    registries: dict[Path, Registry] = {}  # targets.toml is read from each campaign file's folder
    resolved: dict[Path, Path] = {}  # each folder resolved once (a thousand files share one)
    folders: dict[Path, tuple[int, int]] = {}
    for path in files:
        signature = _signature(path, folders)
        if signature is None:
            result.issues.append(Issue(str(path), "", "file not found"))
            continue
        cached = cache.files.get(path) if cache is not None else None
        if cached is not None and cached[0] == signature:
            _, loaded, issues = cached
        else:
            folder = resolved.get(path.parent)
            if folder is None:
                folder = resolved[path.parent] = path.parent.resolve()
            if folder not in registries:
                registries[folder], target_issues = load_targets(path.parent)
                result.issues.extend(target_issues)
            loaded, issues = parse_campaign(path, registries[folder])
            if loaded is not None:
                issues = check_campaign(loaded, config, now)
            if cache is not None:
                cache.files[path] = (signature, loaded, issues)
        result.issues.extend(issues)
        if loaded is None or any(i.severity == "error" for i in issues):
            result.failed.add(path.stem)
            result.problems[path.stem] = (str(path), [i for i in issues if i.severity == "error"])
        else:
            result.campaigns[loaded.id] = loaded
    if budgets:
        result.issues.extend(budget_warnings(config, result.campaigns.values(), now))
    return result
