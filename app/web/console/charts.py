"""The console's charts, drawn on the server as SVG by pygal and put inline in the page.

pygal adds a script with its tooltip settings to every chart; it is taken out, so a chart is
only shapes and escaped text (no script runs, whatever a label says).
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree

import pygal
from markupsafe import Markup
from pygal.graph.graph import Graph
from pygal.style import Style

GOOD, MIDDLE, BAD, LINE = "#2e7d32", "#9aa5b1", "#c62828", "#0b6bcb"


def _style(*colors: str) -> Style:
    return Style(
        background="transparent",
        plot_background="transparent",
        font_family="system-ui, 'Segoe UI', Arial, sans-serif",
        colors=colors or (LINE,),
        label_font_size=14,
        major_label_font_size=14,
        legend_font_size=15,
        value_font_size=14,
        no_data_font_size=22,
    )


def _options(empty: str, **more: object) -> dict[str, object]:
    return {
        "js": [],
        "disable_xml_declaration": True,
        "width": 420,
        "height": 240,
        "margin": 10,
        "show_legend": False,
        "no_data_text": empty,
        **more,
    }


def _svg(chart: Graph) -> Markup:
    tree = chart.render_tree()
    for parent in tree.iter():
        for child in list(parent):
            if child.tag == "script":
                parent.remove(child)
    return Markup(ElementTree.tostring(tree, encoding="unicode"))


def trend(
    label: str,
    points: Sequence[tuple[str, float | None]],
    *,
    low: float,
    high: float,
    empty: str,
) -> Markup:
    """A weekly line, e.g. NPS from -100 to 100; a week without answers is a gap."""
    chart = pygal.Line(
        style=_style(LINE),
        range=(low, high),
        allow_interruptions=True,
        stroke_style={"width": 3},
        **_options(empty),
    )
    chart.x_labels = [week for week, _ in points]
    chart.add(label, [value for _, value in points])
    return _svg(chart)


def split(parts: Sequence[tuple[str, int, str]], *, empty: str) -> Markup:
    """Shares of a whole as a ring, e.g. promoters, passives and detractors with their colours."""
    chart = pygal.Pie(
        style=_style(*(colour for _, _, colour in parts)),
        inner_radius=0.55,
        **_options(empty, show_legend=True, legend_at_bottom=True, legend_at_bottom_columns=3),
    )
    for label, count, _ in parts:
        chart.add(label, count)
    return _svg(chart)


def bars(
    label: str, rows: Sequence[tuple[str, float | None]], *, high: float, empty: str
) -> Markup:
    """One bar per name, e.g. the share of check-ins answered per schedule."""
    chart = pygal.Bar(style=_style(LINE), range=(0, high), **_options(empty))
    chart.x_labels = [name for name, _ in rows]
    chart.add(label, [value for _, value in rows])
    return _svg(chart)


def ranking(label: str, rows: Sequence[tuple[str, int]], *, empty: str) -> Markup:
    """Names with their counts as horizontal bars, largest at the top, e.g. feedback themes;
    as wide as the page's full-width cards, with whole-number ticks."""
    most = max((count for _, count in rows), default=1)
    step = max(1, -(-most // 5))
    chart = pygal.HorizontalBar(
        style=_style(LINE),
        print_values=True,
        range=(0, most),
        y_labels=list(range(0, most + step, step)),
        **_options(empty, width=960, height=max(160, 40 * len(rows) + 60)),
    )
    chart.x_labels = [name for name, _ in reversed(rows)]
    chart.add(label, [count for _, count in reversed(rows)])
    return _svg(chart)
