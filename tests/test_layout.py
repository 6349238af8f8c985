"""The layout reads as the architecture, and stays that way: no cycle between packages (every import counted,
those inside functions and under TYPE_CHECKING too), a small root, the App held only by the entry points, and no
state compared as a string literal outside bot/states.py (and the migrations, which must not import it)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from bot.states import Action, ApprovalKind, CampaignState, Decision, Kind, Outcome, Role, Status, SupporterState

REPO = Path(__file__).resolve().parent.parent
BOT = REPO / "bot"
ROOT_MODULES = {"bootstrap", "clock", "config", "errors", "states"}
"""At most six: the entry point's bootstrap, config, the clock, errors and the words of state."""
ENTRY_POINTS = ("cli", "web")


def _modules() -> Iterator[tuple[Path, str, ast.Module]]:
    for path in sorted(BOT.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield path, ".".join(parts), ast.parse(path.read_text(encoding="utf-8"))


def _imported(module: str, tree: ast.Module, is_package: bool) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target
            yield from (f"{target}.{a.name}" for a in node.names)


def _unit(dotted: str) -> str | None:
    parts = dotted.split(".")
    if parts[0] != "bot" or len(parts) < 2:
        return None
    return parts[1] if (BOT / parts[1]).is_dir() or (BOT / f"{parts[1]}.py").exists() else None


def _package_graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path, module, tree in _modules():
        me = _unit(module)
        if me is None:
            continue
        for target in _imported(module, tree, path.name == "__init__.py"):
            other = _unit(target)
            if other is not None and other != me:
                edges.setdefault(me, set()).add(other)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    return found


def test_no_two_packages_import_each_other_counting_every_import():
    edges = _package_graph()
    assert {"actions", "outbox", "worker", "web", "cli"} <= set(edges)  # it did read the tree
    assert _cycles(edges) == []


def test_the_root_of_bot_holds_only_bootstrap_config_the_clock_errors_and_states():
    root = {p.stem for p in BOT.glob("*.py") if p.stem not in ("__init__", "__main__")}
    root |= {p.name for p in BOT.iterdir() if p.is_dir() and p.name == "config"}
    assert root <= ROOT_MODULES and len(root) <= 6, sorted(root)


def test_only_bootstrap_and_the_entry_points_hold_the_app():
    holders = {module for path, module, tree in _modules()
               if any(t in ("bot.bootstrap", "bot.bootstrap.App") for t in _imported(module, tree,
                                                                                     path.name == "__init__.py"))}
    assert {m for m in holders if _unit(m) not in ENTRY_POINTS} == set()


STATE_WORDS = {str(v) for e in (Status, CampaignState, Outcome, Decision, SupporterState, Role, Kind, Action,
                                 ApprovalKind) for v in e}
"""The words of state: a literal one where something is compared is a state compared as a string."""


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _compared(tree: ast.Module) -> set[int]:
    """String constants that are compared: operands of ==, !=, in, not in (and the items of a tuple, list or set
    that is one), arguments of .in_(), .notin_(), .get(), and values given as status=, state=, kind=, action=,
    decision=, outcome=."""
    ids: set[int] = set()

    def take(node: ast.AST) -> None:
        if isinstance(node, ast.Constant):
            ids.add(id(node))
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            for item in node.elts:
                take(item)

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                take(operand)
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if name in ("in_", "notin_", "get", "is_", "isnot"):
                for arg in node.args:
                    take(arg)
            for kw in node.keywords:
                if kw.arg in ("status", "state", "kind", "action", "decision", "outcome"):
                    take(kw.value)
    return ids


def _literal_states() -> list[str]:
    found = []
    for path, _module, tree in _modules():
        if path.name == "states.py" and path.parent == BOT:
            continue
        skip = _docstrings(tree)
        in_fstrings = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
        compared = _compared(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            if id(node) in skip or id(node) in in_fstrings:
                continue
            if id(node) in compared and node.value in STATE_WORDS:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}")
    return found


def test_no_state_is_written_as_a_string_literal_outside_the_enums():
    assert _literal_states() == []
