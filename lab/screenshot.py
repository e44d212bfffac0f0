"""Screenshot of the real viewer for the README: open a file, analyze it, grab the window.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m lab.screenshot OUT.png RECORDING \
        [--truth] [--frame ed|es|N] [--slice N] [--size 1500x950] [--about ABOUT.png]

--truth segments with the phantom truth sidecar beside the recording (`<name>.truth.npz`, written by
`python -m app phantom`) instead of the installed model, so the picture does not depend on training;
--labels FILE uses a label map as `analyze --labels` does (e.g. expert labels of an MRI stack, 3 = RV).
--slice N shows slice N (1 = base) of a stack; --about ABOUT.png also grabs the Help > About box.
"""

from __future__ import annotations

import sys
import time

from app.commands.usage import OneLineParser


def main(argv=None) -> int:
    parser = OneLineParser(prog="python -m lab.screenshot")
    parser.add_argument("out")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--truth", action="store_true", help="segment with the phantom truth sidecar")
    parser.add_argument("--labels", help="segment with this label map (as analyze --labels)")
    parser.add_argument("--frame", default="ed", help="ed, es or a frame number")
    parser.add_argument("--size", default="1500x950")
    parser.add_argument("--slice", type=int, help="stack slice to show, 1 = base")
    parser.add_argument("--about", help="also save the Help > About box to this PNG")
    args = parser.parse_args(argv)

    from app.ui.main import create_app

    app = create_app()
    from app.ui.main_window import MainWindow

    window = MainWindow()
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    if args.truth:
        from app.data.phantom import load_truth

        def truth_segmenter(rec):
            truth = load_truth(rec.source_path)  # read once per recording, as the segmenter is made
            return lambda r: truth.labels

        window.controller.segmenter_for = truth_segmenter
    elif args.labels:
        from pathlib import Path

        from app.commands.analyze_io import load_labels

        window.controller.segmenter_for = lambda rec: (lambda r: load_labels(Path(args.labels), r))
    window.show()
    window.open_paths(args.paths)
    window.opener.wait_opened()
    if not len(window.study):
        print("nothing opened", file=sys.stderr)
        return 2
    window.load_device_label()
    from app.workflow.analyze import refusal

    for index in range(len(window.study)):
        if window.study[index].analyzed or refusal(window.study[index].recording):  # colour Doppler: shown only
            continue
        done: list[bool] = []
        window.controller.analysis_done.connect(lambda i, ok, d=done: d.append(ok))
        window.controller.analyze(index)
        deadline = time.monotonic() + 600
        while not done and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
    window.show_recording(0)
    st = window.study[0]
    if args.slice:
        window.stack.show_slice(args.slice - 1)
    frame = {"ed": (st.ed_frames or (0,))[0], "es": (st.es_frames or (0,))[0]}.get(args.frame)
    window.cine.set_frame(int(args.frame) if frame is None else frame)
    end = time.monotonic() + 3.0
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    window.grab().save(args.out)
    if args.about:
        from app.ui.study_dialogs import AboutDialog

        about = AboutDialog(window)
        about.show()
        app.processEvents()
        about.adjustSize()
        app.processEvents()
        about.grab().save(args.about)
        about.close()
    print(f"saved {args.out}: EF {getattr(st.measurements, 'ef_pct', None)}")
    window.controller.wait_for_workers()
    window.controller.save_now()
    window.status.wait()  # the device-label worker may still load torch: a QThread left running aborts at exit
    window.hide()
    return 0


if __name__ == "__main__":
    sys.exit(main())
