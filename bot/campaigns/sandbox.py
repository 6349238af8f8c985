"""A Jinja2 sandbox that cannot exhaust the machine.

Jinja's SandboxedEnvironment stops templates from reaching Python internals, but not from building huge
values: `{{ 'a' * 100000000 }}` is even folded at compile time, and nested loops run for ever. A text for a
social network is a few hundred characters, so everything a template builds is bounded here:
- `*`, `**`, `%` and `+` are intercepted (which also stops compile-time folding) and checked before they run;
- filters and method calls refuse large numbers as arguments and check what they return;
- every `for` loop draws from one per-render budget of iterations, and `~` concatenations are checked;
- `range` is capped, and the output is streamed and cut off at ``MAX_OUTPUT``;
- the whole render has a CPU budget (``CPU_BUDGET`` of this thread's time), checked at every loop step, filter,
  call and operator: the limits above bound each step's size, not how much work the steps add up to
  (`wordwrap` in nested loops stays within every size and ran for minutes). Past the budget the render stops
  within one step, which the size limits keep to milliseconds.
Breaking a limit raises ``TemplateLimit`` with one line.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import _PassArg
from jinja2.visitor import NodeTransformer

MAX_OUTPUT = 10_000
"""Characters a template may produce; every network's limit is far below."""
MAX_VALUE = 10_000
"""Characters (or items) any value built inside a template may hold."""
MAX_ARGUMENT = 1_000
"""The largest number a filter or method call may take (a width, a count)."""
MAX_ITERATIONS = 10_000
"""Loop steps per render, all loops together."""
MAX_RANGE = 1_000
MAX_INT_BITS = 4_096
CPU_BUDGET = 0.5
"""Seconds of this thread's CPU time one render may take (an ordinary post's template takes a millisecond)."""

_LONG_WIDTH = re.compile(r"%[-+ #0]*\d{4,}|%[-+ #0]*\.\d{4,}|\{[^{}]*:[^{}]*\d{4,}[^{}]*\}")
"""A format width of 1,000 or more: %99999s, %.99999f or {:>99999}."""


class TemplateLimit(Exception):
    """A template tried to build more than a post could hold."""


class _Budget:
    def __init__(self) -> None:
        self.iterations = MAX_ITERATIONS
        self.deadline = time.thread_time() + CPU_BUDGET

    def tick(self) -> None:
        if time.thread_time() > self.deadline:
            raise TemplateLimit(f"the template takes more than {CPU_BUDGET:g} s of work to render: make it simpler")


_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _too_big(size: int) -> TemplateLimit:
    return TemplateLimit(f"the template builds a value of {size:,} characters or items; a template may build at "
                         f"most {MAX_VALUE:,} (a post is far shorter)")


def _tick() -> None:
    budget = _budget.get()
    if budget is not None:
        budget.tick()


def _check(value: Any) -> Any:
    _tick()
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset) and len(value) > MAX_VALUE:
        raise _too_big(len(value))
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise TemplateLimit(f"the template builds a number of {value.bit_length():,} bits; that is no text")
    return value


def _check_format(text: Any) -> None:
    if isinstance(text, str) and _LONG_WIDTH.search(text):
        raise TemplateLimit("the template formats with a width of 1,000 or more")


def _check_arguments(args: Iterable[Any]) -> None:
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_ARGUMENT:
            raise TemplateLimit(f"the template passes the number {arg:,} to a filter or method; the limit is "
                                f"{MAX_ARGUMENT:,}")


def _sized(value: Any) -> int | None:
    if isinstance(value, str | bytes | list | tuple):
        return len(value)
    return None


def _bounded_filter(func: Callable[..., Any]) -> Callable[..., Any]:
    first = 2 if _PassArg.from_obj(func) is not None else 1  # the value comes after the context, if any

    def bounded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        _check_arguments(list(args[first:]) + list(kwargs.values()))
        if func.__name__ == "do_replace" and len(args) >= first + 2:
            _check_replace(*args[first - 1 : first + 2])
        if func.__name__ == "do_format" and len(args) >= first:
            _check_format(args[first - 1])
        return _check(func(*args, **kwargs))

    # Jinja inspects these to pass the context or environment first.
    bounded.__dict__.update(getattr(func, "__dict__", {}))
    bounded.__name__ = func.__name__
    return bounded


def _check_replace(text: Any, old: Any, new: Any) -> None:
    text, old, new = str(text), str(old), str(new)
    count = text.count(old) if old else len(text) + 1
    if len(text) + count * max(0, len(new) - len(old)) > MAX_VALUE:
        raise _too_big(len(text) + count * (len(new) - len(old)))


class _Bound(NodeTransformer):
    """Routes every loop's iterable and every `~` concatenation through the environment's checks."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _call("bounded_iter", node.iter)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _call("bounded_value", node)


def _call(name: str, arg: nodes.Node) -> nodes.Call:
    assert isinstance(arg, nodes.Expr)
    call = nodes.Call(nodes.EnvironmentAttribute(name), [arg], [], None, None)
    call.set_lineno(arg.lineno or 1)
    return call


class BoundedEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _bounded_filter(f) for name, f in self.filters.items()}
        self.globals["range"] = self.bounded_range

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        bounded: nodes.Template = _Bound().visit(tree)
        return bounded

    # -- hooks called by the compiled template -----------------------------------------------------------

    def bounded_iter(self, iterable: Any) -> Iterator[Any]:
        budget = _budget.get()
        for item in iterable:
            if budget is not None:
                budget.tick()
                budget.iterations -= 1
                if budget.iterations < 0:
                    raise TemplateLimit(f"the template's loops run more than {MAX_ITERATIONS:,} steps")
            yield item

    def bounded_value(self, value: Any) -> Any:
        return _check(value)

    def bounded_range(self, *args: int) -> range:
        made = range(*args)
        if len(made) > MAX_RANGE:
            raise TemplateLimit(f"range() of {len(made):,} numbers; a template may count to {MAX_RANGE:,}")
        return made

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                size = _sized(seq)
                if size is not None and isinstance(times, int) and size * times > MAX_VALUE:
                    raise _too_big(size * times)
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
            if right * math.log2(abs(left)) > MAX_INT_BITS:
                raise TemplateLimit(f"{left} ** {right} is too large a number for a text")
        elif operator == "%":
            _check_format(left)
        elif operator == "+":
            a, b = _sized(left), _sized(right)
            if a is not None and b is not None and a + b > MAX_VALUE:
                raise _too_big(a + b)
        return _check(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's spelling)
        _tick()
        if __obj not in (__self.bounded_iter, __self.bounded_value, __self.bounded_range):
            _check_arguments(list(args) + list(kwargs.values()))
            owner = getattr(__obj, "__self__", None)
            if getattr(__obj, "__name__", None) == "replace" and isinstance(owner, str) and len(args) >= 2:
                _check_replace(owner, args[0], args[1])
        return _check(super().call(__context, __obj, *args, **kwargs))


    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`'{:>99999}'.format(x)`: Jinja wraps str.format when it is looked up; check the format first."""
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format(value.__self__)
        return wrapped


def render_bounded(template: Any, context: dict[str, Any]) -> str:
    """Render with a fresh loop budget, streaming, and stop as soon as the output passes ``MAX_OUTPUT``."""
    token = _budget.set(_Budget())
    try:
        out: list[str] = []
        size = 0
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateLimit(f"the template renders to more than {MAX_OUTPUT:,} characters")
            out.append(chunk)
        return "".join(out)
    finally:
        _budget.reset(token)
