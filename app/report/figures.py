"""Vector figures for the PDF: curves with ED/ES marks (reportlab.graphics) and contoured frames.

Curves are `Drawing`s built from reportlab's LinePlot with fixed axis limits so the ED/ES marker lines can
be placed by the same linear mapping. `FrameImage` draws a frame as a raster (native pixels, nearest
neighbour so it stays sharp) and the contours on top as vector polylines in page coordinates.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image as PILImage
from reportlab.graphics.charts.legends import LineLegend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Flowable

from app.report.palette import CONTOUR_RGB, ED_RGB, ES_RGB, hex_colour

ED_COLOR = colors.HexColor(hex_colour(ED_RGB))  # the viewer's colours (app/report/palette.py)
ES_COLOR = colors.HexColor(hex_colour(ES_RGB))
SERIES_COLORS = [colors.HexColor(c) for c in (
    "#222222", "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#e6ab02")]
CONTOUR_COLORS = {name: colors.HexColor(hex_colour(rgb)) for name, rgb in CONTOUR_RGB.items()}


def nice_limits(values: np.ndarray, include_zero: bool = False) -> tuple[float, float, float]:
    """(low, high, step) axis limits with round tick steps covering the finite values."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if include_zero:
        low, high = min(low, 0.0), max(high, 0.0)
    if high - low < 1e-9:
        low, high = low - 1.0, high + 1.0
    raw = (high - low) / 5.0
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def curve_drawing(
    times_s: np.ndarray,
    series: list[tuple[str, np.ndarray]],
    *,
    ed_frames: tuple[int, ...] = (),
    es_frames: tuple[int, ...] = (),
    y_label: str = "",
    width: float = 480,
    height: float = 170,
    include_zero: bool = False,
    dashed: frozenset = frozenset(),
    x_label: str = "time (s)",
) -> Drawing:
    """A line chart of one or more (label, values (T,)) series against time (or against whatever `times_s` holds,
    named by x_label), ED/ES as vertical lines.

    dashed: indices of series drawn dashed (e.g. strain segments whose tracking quality is low); the axis is
    scaled to the other series and a dashed one is cut at its edges (a failed tracking's +300 % would
    otherwise flatten every curve worth reading)."""
    times_s = np.asarray(times_s, dtype=float)
    drawing = Drawing(width, height)
    left, bottom, top_pad = 46, 30, 18
    legend_w = 120 if len(series) > 1 else 0
    plot = LinePlot()
    plot.x, plot.y = left, bottom
    plot.width, plot.height = width - left - 10 - legend_w, height - bottom - top_pad
    all_y = [np.asarray(values, dtype=float) for _label, values in series]
    solid = [y for i, y in enumerate(all_y) if i not in dashed and np.isfinite(y).any()]
    y_lo, y_hi, y_step = nice_limits(np.concatenate(solid or all_y), include_zero)
    data = []
    for i, values in enumerate(all_y):
        shown = np.clip(values, y_lo, y_hi) if i in dashed else values
        pts = [(float(t), float(v)) for t, v in zip(times_s, shown, strict=False) if np.isfinite(v)]
        data.append(pts or [(float(times_s[0]), 0.0)])
    plot.data = data
    x_lo, x_hi = float(times_s[0]), float(times_s[-1]) if len(times_s) > 1 else float(times_s[0]) + 1.0
    _configure_axes(plot, (x_lo, x_hi), (y_lo, y_hi, y_step))
    for i in range(len(series)):
        plot.lines[i].strokeColor = SERIES_COLORS[i % len(SERIES_COLORS)]
        plot.lines[i].strokeWidth = 1.6 if i == 0 else 1.0
        if i in dashed:
            plot.lines[i].strokeDashArray = [3, 2]
    drawing.add(plot)

    def x_of(t: float) -> float:
        return plot.x + (t - x_lo) / max(x_hi - x_lo, 1e-9) * plot.width

    for frames, name, color in ((ed_frames, "ED", ED_COLOR), (es_frames, "ES", ES_COLOR)):
        for f in frames:
            if 0 <= f < len(times_s):
                x = x_of(float(times_s[f]))
                drawing.add(Line(x, plot.y, x, plot.y + plot.height, strokeColor=color,
                                 strokeWidth=0.8, strokeDashArray=[3, 2]))
                drawing.add(String(x, plot.y + plot.height + 4, name, fontSize=7, fillColor=color,
                                   textAnchor="middle"))
    drawing.add(String(plot.x + plot.width / 2, 4, x_label, fontSize=8, textAnchor="middle"))
    label = String(10, plot.y + plot.height / 2, y_label, fontSize=8, textAnchor="middle")
    drawing.add(_rotated(label, 10, plot.y + plot.height / 2))
    if legend_w:
        drawing.add(_legend(series, x=plot.x + plot.width + 14, y=plot.y + plot.height))
    return drawing


def _configure_axes(plot: LinePlot, x_limits, y_limits) -> None:
    x_lo, x_hi = x_limits
    y_lo, y_hi, y_step = y_limits
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = x_lo, x_hi
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax = y_lo, y_hi
    plot.yValueAxis.valueStep = y_step
    _, _, x_step = nice_limits(np.array([x_lo, x_hi]))
    plot.xValueAxis.valueSteps = [float(v) for v in np.arange(math.ceil(x_lo / x_step) * x_step,
                                                              x_hi + 1e-9, x_step)]
    plot.xValueAxis.labelTextFormat = "%g"
    plot.yValueAxis.labelTextFormat = "%g"
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.labels.fontSize = 7
        axis.strokeWidth = 0.6
    plot.yValueAxis.visibleGrid = True
    plot.yValueAxis.gridStrokeColor = colors.HexColor("#dddddd")
    plot.yValueAxis.gridStrokeWidth = 0.4


def _legend(series, x: float, y: float) -> LineLegend:
    legend = LineLegend()
    legend.x, legend.y = x, y
    legend.fontSize = 7
    legend.dx, legend.dy, legend.deltay = 12, 2, 9
    legend.alignment = "right"
    legend.columnMaximum = 12
    legend.colorNamePairs = [(SERIES_COLORS[i % len(SERIES_COLORS)], name.replace("_", " "))
                             for i, (name, _v) in enumerate(series)]
    return legend


def _rotated(shape: String, cx: float, cy: float):
    from reportlab.graphics.shapes import Group

    group = Group(shape)
    group.transform = (0, 1, -1, 0, cx + cy, cy - cx)  # rotate 90 degrees about (cx, cy)
    return group


class FrameImage(Flowable):
    """One frame (H, W) 0..1 as a sharp raster with vector contour polylines, and a caption above.

    contours: {name: (N, 2) (x=col, y=row) px}; closed: {name: bool}. The physical aspect ratio is kept
    (pixel spacing (row, col) in mm), fitted into max_width x max_height points.
    """

    def __init__(self, image: np.ndarray, contours: dict, closed: dict, spacing_mm, caption: str,
                 max_width: float, max_height: float, upsample: int = 2) -> None:
        super().__init__()
        self.image = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
        self.contours = contours
        self.closed_flags = closed
        self.caption = caption
        h, w = self.image.shape
        aspect = (h * float(spacing_mm[0])) / max(w * float(spacing_mm[1]), 1e-9)
        self.img_w = min(max_width, max_height / aspect)
        self.img_h = self.img_w * aspect
        self.width, self.height = self.img_w, self.img_h + 12
        self.upsample = max(1, int(upsample))

    def wrap(self, avail_width, avail_height):
        return self.width, self.height

    def _reader(self) -> ImageReader:
        grey = (self.image * 255.0 + 0.5).astype(np.uint8)
        if self.upsample > 1:  # nearest neighbour: pixels stay crisp whatever the viewer's smoothing
            grey = np.repeat(np.repeat(grey, self.upsample, axis=0), self.upsample, axis=1)
        return ImageReader(PILImage.fromarray(grey, mode="L"))

    def draw(self) -> None:
        canvas = self.canv
        h, w = self.image.shape
        canvas.drawImage(self._reader(), 0, 0, width=self.img_w, height=self.img_h)
        sx, sy = self.img_w / w, self.img_h / h
        for name, points in self.contours.items():
            pts = np.asarray(points, dtype=float)
            if pts.ndim != 2 or len(pts) < 2:
                continue
            path = canvas.beginPath()
            xs = (pts[:, 0] + 0.5) * sx
            ys = self.img_h - (pts[:, 1] + 0.5) * sy
            path.moveTo(xs[0], ys[0])
            for x, y in zip(xs[1:], ys[1:], strict=False):
                path.lineTo(x, y)
            if self.closed_flags.get(name, False):
                path.close()
            canvas.setStrokeColor(CONTOUR_COLORS.get(name, colors.yellow))
            canvas.setLineWidth(0.9)
            canvas.drawPath(path, stroke=1, fill=0)
        canvas.setFont(_font_name(canvas), 8)
        canvas.setFillColor(colors.black)
        canvas.drawString(0, self.img_h + 3, self.caption)


def _font_name(canvas) -> str:
    from app.report.styles import BODY_FONT

    return BODY_FONT
