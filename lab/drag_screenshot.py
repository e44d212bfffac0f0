"""Screenshot of a smooth contour drag in the real viewer, taken with the mouse still down.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m lab.drag_screenshot OUT.png RECORDING \
        [--truth] [--frame ed|es|N] [--point K] [--mm DX,DY] [--radius MM] [--zoom-mm MM]
        [--hide axis,strain]

Opens and analyses the recording (--truth: the phantom truth sidecar, as lab/screenshot.py), then
presses the left button on endocardial control point K of the frame, moves the mouse DX, DY mm in steps
(QTest) and grabs the window before the release: the solid contour is the one before the drag, the
dotted curve and the white points the drag's preview (neighbours within the radius following).
After the grab the button is released (the edit is committed) and the change is printed.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from app.commands.usage import OneLineParser


def _pump(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def main(argv=None) -> int:
    parser = OneLineParser(prog="python -m lab.drag_screenshot")
    parser.add_argument("out")
    parser.add_argument("path")
    parser.add_argument("--truth", action="store_true", help="segment with the phantom truth sidecar")
    parser.add_argument("--frame", default="es")
    parser.add_argument("--point", type=int, default=5)
    parser.add_argument("--mm", default="-6,0", help="drag by DX,DY millimetres")
    parser.add_argument("--radius", type=float, default=None, help="drag radius, mm (default: the viewer's)")
    parser.add_argument("--zoom-mm", type=float, default=15.0, help="show the LV with this margin (0: whole image)")
    parser.add_argument("--hide", default="axis,strain", help="overlay layers to switch off (comma-separated)")
    parser.add_argument("--size", default="1500x950")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtTest import QTest

    from app.ui.main import create_app
    from app.ui.main_window import MainWindow

    app = create_app()
    window = MainWindow()
    window.resize(*(int(v) for v in args.size.split("x")))
    if args.truth:
        from app.data.phantom import load_truth

        def truth_segmenter(rec):
            truth = load_truth(rec.source_path)  # read once per recording, as the segmenter is made
            return lambda r: truth.labels

        window.controller.segmenter_for = truth_segmenter
    window.show()
    window.open_paths([args.path])
    window.opener.wait_opened()
    if not len(window.study):
        print("nothing opened", file=sys.stderr)
        return 2
    done = []
    window.controller.analysis_done.connect(lambda i, ok: done.append(ok))
    window.controller.analyze(0, keep_edits=False)
    deadline = time.monotonic() + 600
    while not done and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    st = window.study[0]
    frame = {"ed": (st.ed_frames or (0,))[0], "es": (st.es_frames or (0,))[0]}.get(args.frame)
    window.cine.set_frame(int(args.frame) if frame is None else frame)
    if args.radius is not None:
        window.tools.drag_radius.setValue(args.radius)
    window.tools.propagate.setValue(0)
    for layer in args.hide.split(",") if args.hide else ():
        window.tools.overlay_boxes[layer].setChecked(False)
    _pump(app, 1.0)
    key = (window.slice_index, window.cine.frame)
    endo = st.contour(key, "endo")
    if endo is None:
        print(f"no endocardial contour on frame {key[1]}", file=sys.stderr)
        return 2
    before = endo.points_px.copy()
    dx, dy = (float(v) for v in args.mm.split(","))
    x0, y0 = window.cine.px_to_view(before[args.point:args.point + 1])[0]
    plot = window.cine.plot
    vb = plot.getPlotItem().vb
    if args.zoom_mm > 0:  # close on the LV, so the drag is visible
        view = window.cine.px_to_view(before)
        lo, hi = view.min(axis=0) - args.zoom_mm, view.max(axis=0) + args.zoom_mm
        vb.setRange(xRange=(lo[0], hi[0]), yRange=(lo[1], hi[1]), padding=0)
        _pump(app, 0.5)

    def widget(x: float, y: float) -> QPoint:
        return plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))

    viewport = plot.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, widget(x0, y0))
    for k in range(1, 13):
        QTest.mouseMove(viewport, widget(x0 + dx * k / 12, y0 + dy * k / 12))
        _pump(app, 0.03)  # pyqtgraph drops moves faster than its rate limit
    _pump(app, 0.5)
    window.grab().save(args.out)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, widget(x0 + dx, y0 + dy))
    _pump(app, 0.3)
    after = st.contour(key, "endo")
    assert after is not None  # the drag moves the contour, never removes it
    shift = np.hypot(*(after.points_px - before).T)
    print(f"saved {args.out}: frame {key[1]}, point {args.point}, shift per control point (px) "
          + " ".join(f"{v:.1f}" for v in shift))
    window.controller.wait_for_workers()
    window.edits.wait()
    window.hide()
    return 0


if __name__ == "__main__":
    sys.exit(main())
