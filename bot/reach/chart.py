"""Engagement over time as an SVG drawn on the server: no JavaScript, no charting library, no CDN.

Each series has its own colour and dash pattern (readable without colour) and its last value written at the
line's end; the whole chart has a title and a description for screen readers.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

SERIES = (("likes", "likes", "#0172ad", ""), ("boosts", "boosts", "#b45309", "6 3"),
          ("replies", "replies", "#15803d", "2 3"), ("quotes", "quotes", "#7c3aed", "8 3 2 3"))
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 110, 16, 40


def _nice(top: int) -> int:
    """The axis maximum: 1, 2 or 5 times a power of ten, at least ``top``."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= top:
                return m * step
        step *= 10


def engagement_svg(points: list[dict[str, Any]], title: str = "Engagement over time") -> str:
    """The totals over time (report.over_time) as an SVG element; an empty string when there is nothing."""
    if not points:
        return ""
    times = [datetime.fromisoformat(p["at"]).timestamp() for p in points]
    t0, t1 = min(times), max(times)
    top = _nice(max(1, max(int(p[k] or 0) for p in points for k, *_ in SERIES)))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (plot_w / 2 if t1 == t0 else (t - t0) / (t1 - t0) * plot_w)

    def y(v: float) -> float:
        return TOP + plot_h - v / top * plot_h

    last = points[-1]
    desc = ", ".join(f"{last[k]} {label}" for k, label, *_ in SERIES)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-labelledby="reach-chart-title reach-chart-desc" class="reach-chart" id="reach-chart">',
           f'<title id="reach-chart-title">{escape(title)}</title>',
           f'<desc id="reach-chart-desc">Totals at the last reading, {escape(last["at"])} UTC: {escape(desc)}.</desc>',
           f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>']
    for value in (0, top // 2, top) if top > 1 else (0, top):
        out.append(f'<line x1="{LEFT}" y1="{y(value):.1f}" x2="{LEFT + plot_w}" y2="{y(value):.1f}" '
                   f'stroke="#e5e7eb"/><text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
                   f'font-size="12" fill="#4b5563">{value}</text>')
    out.append(f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#6b7280"/>')
    labels = [(times[0], points[0]["at"])] + ([(times[-1], points[-1]["at"])] if t1 != t0 else [])
    for t, at in labels:
        anchor = "middle" if t1 == t0 else ("start" if t == t0 else "end")
        out.append(f'<text x="{x(t):.1f}" y="{HEIGHT - 14}" text-anchor="{anchor}" font-size="12" '
                   f'fill="#4b5563">{escape(at[:16].replace("T", " "))} UTC</text>')
    for key, _label, colour, dash in SERIES:
        coords = " ".join(f"{x(t):.1f},{y(int(p[key] or 0)):.1f}" for t, p in zip(times, points, strict=True))
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2.5"{dashes} '
                   f'data-series="{key}"/>')
        end_x, end_y = x(times[-1]), y(int(last[key] or 0))
        out.append(f'<circle cx="{end_x:.1f}" cy="{end_y:.1f}" r="3.5" fill="{colour}"/>')
    legend_y = TOP + 8
    for i, (key, label, colour, dash) in enumerate(SERIES):
        ly = legend_y + i * 22
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{WIDTH - RIGHT + 14}" y1="{ly}" x2="{WIDTH - RIGHT + 40}" y2="{ly}" stroke="{colour}" '
                   f'stroke-width="2.5"{dashes}/><text x="{WIDTH - RIGHT + 46}" y="{ly + 4}" font-size="12" '
                   f'fill="#111827">{int(last[key] or 0)} {label}</text>')
    out.append("</svg>")
    return "".join(out)
