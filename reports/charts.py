"""Charts drawn server-side as SVG with matplotlib's SVG backend, in the reports' CJK font.

A chart is never the only place a figure appears: every builder that draws one also prints the table it
is drawn from. The SVG keeps its text as text (``svg.fonttype = "none"``) in Noto Sans CJK SC, so WeasyPrint
sets it with the same font as the page (crisp at any zoom, no second font embedded) and a browser shows
it as it is. Output is deterministic (fixed hash salt, no date), so golden files stay stable.

Amounts arrive as integer fen; they are divided into yuan only to place bars on an axis.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from reports.builders_base import ChartImage

if TYPE_CHECKING:  # matplotlib is imported on the first chart drawn (see _pyplot)
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CJK_FONT = "Noto Sans CJK SC"
# Muted, print-friendly colours that stay distinct in greyscale, in series order.
PALETTE = ("#1f4e79", "#c55a11", "#548235", "#7f6000", "#7030a0", "#2e75b6", "#a5a5a5", "#843c0c")
_LOCK = threading.Lock()  # pyplot keeps global state; the API renders in threads


@cache
def _pyplot() -> Any:
    """matplotlib's pyplot on the SVG backend in the reports' font, imported on the first chart (it takes
    ~0.2 s, which no command or server start that draws no chart should pay)."""
    import matplotlib

    matplotlib.use("svg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    family = [CJK_FONT] if _cjk_font_known(font_manager) else []
    matplotlib.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [*family, "DejaVu Sans"],
            "axes.unicode_minus": False,
            "svg.fonttype": "none",
            "svg.hashsalt": "cunshe-ledger",
            "font.size": 8,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 9,
        }
    )
    return plt


def _cjk_font_known(font_manager: Any) -> bool:
    """Whether matplotlib knows the reports' CJK font, adding it from the system's fonts when its font list
    (cached per user on the first import) was made before the font was installed — ``make setup`` after a
    first run does that, and the charts' Chinese then came out as empty boxes in DejaVu Sans."""
    manager = font_manager.fontManager
    if any(f.name == CJK_FONT for f in manager.ttflist):
        return True
    for path in font_manager.findSystemFonts():
        if os.path.basename(path).startswith("NotoSansCJK"):
            manager.addfont(path)
    return any(f.name == CJK_FONT for f in manager.ttflist)


def _yuan(fen: int) -> float:
    return fen / 100


def _money_axis(ax: Axes, lang: str) -> None:
    from matplotlib.ticker import FuncFormatter

    unit = "元" if lang == "zh" else "yuan"
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylabel(unit)
    ax.grid(axis="y", linewidth=0.4, color="#cccccc")
    ax.set_axisbelow(True)


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: the SVG is embedded


def bar_chart(
    categories: Sequence[str],
    series: Mapping[str, Sequence[int]],
    *,
    caption: str,
    lang: str = "zh",
    stacked: bool = False,
    size: tuple[float, float] = (6.8, 2.6),
) -> ChartImage:
    """Bars per category, one colour per series (grouped, or stacked), amounts in fen."""
    with _LOCK:
        fig, ax = _pyplot().subplots(figsize=size)
        count = max(len(series), 1)
        width = 0.8 if stacked else 0.8 / count
        bottoms = [0.0] * len(categories)
        for index, (label, values) in enumerate(series.items()):
            yuan = [_yuan(v) for v in values]
            if stacked:
                xs = [float(x) for x in range(len(categories))]
                ax.bar(xs, yuan, width, bottom=bottoms, label=label, color=PALETTE[index % len(PALETTE)])
                bottoms = [b + y for b, y in zip(bottoms, yuan, strict=True)]
            else:
                xs = [x - 0.4 + width * (index + 0.5) for x in range(len(categories))]
                ax.bar(xs, yuan, width, label=label, color=PALETTE[index % len(PALETTE)])
        ax.set_xticks(list(range(len(categories))), list(categories))
        _money_axis(ax, lang)
        if len(series) > 1:
            ax.legend(
                frameon=False,
                fontsize=7,
                ncols=min(len(series), 7),
                loc="upper left",
                bbox_to_anchor=(0, 1.18),
            )
        svg = _svg(fig)
    alt = "; ".join(
        f"{label}: " + ", ".join(f"{c} {v / 100:,.2f}" for c, v in zip(categories, values, strict=True))
        for label, values in series.items()
    )
    return ChartImage(caption=caption, svg=svg, alt=alt)
