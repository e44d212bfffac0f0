"""AHA 17-segment bullseye: mapping of apical-view strain segments, and its vector drawing.

Layout (Cerqueira et al., Circulation 2002): basal 1-6 and mid 7-12 rings of six 60-degree segments
(anterior at the top, septum on the left, lateral on the right), apical ring 13-16 of four 90-degree
segments, 17 the apex cap. Apical views show six segments each (basal, mid, apical on each wall);
their names map to AHA numbers below. Segment 17 is the mean of the apical ring when no view gives it.
"""

from __future__ import annotations

import math

import numpy as np
from reportlab.graphics.shapes import Circle, Drawing, String, Wedge
from reportlab.lib import colors

AHA_NAMES = {
    1: "basal anterior", 2: "basal anteroseptal", 3: "basal inferoseptal", 4: "basal inferior",
    5: "basal inferolateral", 6: "basal anterolateral", 7: "mid anterior", 8: "mid anteroseptal",
    9: "mid inferoseptal", 10: "mid inferior", 11: "mid inferolateral", 12: "mid anterolateral",
    13: "apical anterior", 14: "apical septal", 15: "apical inferior", 16: "apical lateral", 17: "apex",
}
_WALL_ORDER = ("anterior", "anteroseptal", "inferoseptal", "inferior", "inferolateral", "anterolateral")
# apical segments of the apical views: wall name -> AHA apical segment
_APICAL = {"anterior": 13, "anteroseptal": 14, "septal": 14, "inferoseptal": 14, "inferior": 15,
           "inferolateral": 16, "lateral": 16, "anterolateral": 16, "posterior": 16, "apex": 17,
           "cap": 17}


def aha_segment(name: str) -> int | None:
    """AHA number of a segment name like 'basal_inferoseptal', 'mid anterior', 'apical_lateral'."""
    words = name.lower().replace("-", "_").replace(" ", "_").split("_")
    if len(words) < 2:
        return 17 if words and words[0] in ("apex", "cap") else None
    level, wall = words[0], "".join(words[1:])
    if level == "apical":
        return _APICAL.get(wall)
    if wall == "posterior":
        wall = "inferolateral"
    if wall == "lateral":
        wall = "anterolateral"
    if wall == "septal":
        wall = "inferoseptal"
    if wall not in _WALL_ORDER:
        return None
    offset = {"basal": 1, "mid": 7}.get(level)
    return None if offset is None else offset + _WALL_ORDER.index(wall)


def bullseye_values(views: list[tuple[tuple[str, ...], tuple, tuple]]) -> tuple[dict, frozenset]:
    """Combine (segment_names, peak_pct, ok_flags) of several views into AHA segment -> mean peak %.

    Segments seen by several views (apical ones) are averaged over the views whose tracking passed;
    a segment seen only with failed tracking keeps its value but is returned in the unreliable set.
    """
    good: dict[int, list[float]] = {}
    poor: dict[int, list[float]] = {}
    for names, peaks, oks in views:
        for i, name in enumerate(names):
            seg = aha_segment(name)
            value = peaks[i] if i < len(peaks) else None
            if seg is None or value is None or not np.isfinite(value):
                continue
            ok = bool(oks[i]) if i < len(oks) else True
            (good if ok else poor).setdefault(seg, []).append(float(value))
    values: dict[int, float | None] = {}
    unreliable = set()
    for seg in range(1, 18):
        if good.get(seg):
            values[seg] = float(np.mean(good[seg]))
        elif poor.get(seg):
            values[seg] = float(np.mean(poor[seg]))
            unreliable.add(seg)
        else:
            values[seg] = None
    apical = [v for v in (values[s] for s in (13, 14, 15, 16)) if v is not None]
    if values[17] is None and apical:
        values[17] = float(np.mean(apical))
        if all(s in unreliable for s in (13, 14, 15, 16) if values[s] is not None):
            unreliable.add(17)
    return values, frozenset(unreliable)


def strain_color(value: float | None) -> colors.Color:
    """Deep red for normal (very negative) strain, pale for low, blue for positive; grey if missing."""
    if value is None or not np.isfinite(value):
        return colors.HexColor("#cccccc")
    if value >= 0:
        t = min(value / 10.0, 1.0)
        return colors.Color(1 - 0.7 * t, 1 - 0.5 * t, 1.0)
    t = min(-value / 25.0, 1.0)
    return colors.Color(1.0, 1 - 0.85 * t, 1 - 0.85 * t)


def bullseye_drawing(values: dict, unreliable: frozenset = frozenset(), size: float = 220) -> Drawing:
    """The 17-segment plot with each segment's peak strain (%) written in it; '?' marks poor tracking."""
    legend_h = 26
    drawing = Drawing(size, size + legend_h)
    cx, cy = size / 2, size / 2 + legend_h
    radii = (0.48 * size, 0.34 * size, 0.21 * size, 0.09 * size)
    rings = (
        (range(1, 7), radii[0], radii[1], 60.0, 60.0),  # segment 1 spans 60..120 deg (top)
        (range(7, 13), radii[1], radii[2], 60.0, 60.0),
        (range(13, 17), radii[2], radii[3], 45.0, 90.0),  # segment 13 spans 45..135 deg
    )
    for segments, r_out, r_in, start, span in rings:
        for k, seg in enumerate(segments):
            a0 = start + k * span
            wedge = Wedge(cx, cy, r_out, a0, a0 + span, radius1=r_in, fillColor=strain_color(values.get(seg)),
                          strokeColor=colors.white, strokeWidth=1.2)
            drawing.add(wedge)
            mid = math.radians(a0 + span / 2)
            r_text = (r_out + r_in) / 2
            _label(drawing, cx + r_text * math.cos(mid), cy + r_text * math.sin(mid), values.get(seg),
                   seg in unreliable)
    drawing.add(Circle(cx, cy, radii[3], fillColor=strain_color(values.get(17)), strokeColor=colors.white,
                       strokeWidth=1.2))
    _label(drawing, cx, cy, values.get(17), 17 in unreliable)
    for text, x, y in (("ANT", cx, cy + radii[0] + 2), ("INF", cx, cy - radii[0] - 8),
                       ("SEPT", cx - radii[0] - 1, cy), ("LAT", cx + radii[0] + 1, cy)):
        anchor = "end" if text == "SEPT" else "start" if text == "LAT" else "middle"
        drawing.add(String(x, y, text, fontSize=6, textAnchor=anchor, fillColor=colors.grey))
    drawing.add(String(cx, 12, "peak systolic longitudinal strain (%), AHA 17 segments",
                       fontSize=7, textAnchor="middle"))
    drawing.add(String(cx, 2, "grey: not available   ?: tracking quality low", fontSize=6,
                       textAnchor="middle", fillColor=colors.grey))
    return drawing


def _label(drawing: Drawing, x: float, y: float, value: float | None, unreliable: bool) -> None:
    text = "-" if value is None else f"{value:.0f}" + ("?" if unreliable else "")
    drawing.add(String(x, y - 3, text, fontSize=8, textAnchor="middle", fillColor=colors.black))
