"""Stacked bar charts drawn on the server as SVG: the CSP allows no script, and a picture
needs none. The geometry is worked out here; templates/admin/_charts.html only draws it,
and the same numbers go into a table beside it for screen readers."""

from dataclasses import dataclass

# The viewBox; the SVG stretches to the width of its box (preserveAspectRatio="none").
WIDTH = 100.0
HEIGHT = 40.0
GAP = 0.2  # of each bar's slot, left empty between bars


@dataclass(frozen=True)
class Segment:
    series: str  # a CSS class: the colour comes from style.css
    value: int


@dataclass(frozen=True)
class Bar:
    label: str  # "Dec 6", "14:00"
    segments: list[Segment]  # bottom up

    @property
    def total(self) -> int:
        return sum(segment.value for segment in self.segments)


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    series: str
    title: str  # shown on hover


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    rects: list[Rect]
    peak: int
    title: str  # what it shows, for assistive technology

    @property
    def first(self) -> str:
        return self.bars[0].label if self.bars else ""

    @property
    def last(self) -> str:
        return self.bars[-1].label if self.bars else ""


def bar_chart(bars: list[Bar], title: str, names: dict[str, str]) -> Chart:
    """`names` reads each series' class as words, for the bars' hover titles."""
    peak = max((bar.total for bar in bars), default=0)
    rects: list[Rect] = []
    slot = WIDTH / max(len(bars), 1)
    for index, bar in enumerate(bars):
        bottom = HEIGHT
        for segment in bar.segments:
            if not segment.value:
                continue
            height = HEIGHT * segment.value / peak
            bottom -= height
            name = names.get(segment.series, segment.series)
            rects.append(
                Rect(
                    x=round(index * slot + slot * GAP / 2, 3),
                    y=round(bottom, 3),
                    width=round(slot * (1 - GAP), 3),
                    height=round(height, 3),
                    series=segment.series,
                    title=f"{bar.label}: {segment.value:,} {name}",
                )
            )
    return Chart(bars, rects, peak, title)
