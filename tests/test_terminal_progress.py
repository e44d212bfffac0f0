"""The terminal progress of `analyze PATH` and of the batch (app/workflow/terminal_progress.py, on tqdm): drawn
on stderr when it is a terminal, nothing (or one line per finished file) otherwise."""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

from app.tasks import Progress
from app.workflow.terminal_progress import REDRAW_S, TerminalProgress, terminal_bar

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_redraws_in_place_throttled_and_wipes_its_line(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("tqdm.std.time", lambda: clock[0])
    stream = FakeTerminal()
    bar = terminal_bar(stream, "a4c.dcm")
    bar(Progress(0.1, "segmenting"))
    clock[0] += 2 * REDRAW_S
    bar(Progress(0.2, "segmenting"))
    bar(Progress(0.25, "segmenting"))  # too soon: skipped
    clock[0] += 2 * REDRAW_S
    bar(Progress(0.3, "tracing contours"))
    bar(Progress(1.0, "done"))  # the end is always drawn
    bar.close()
    frames = [x.strip() for x in stream.getvalue().split("\r") if x.strip()]
    shown = [(f.split("%")[0].strip(), f.rsplit(" ", 1)[-1]) for f in frames]
    assert shown == [("0", "00:00<?"), ("20", "segmenting"), ("30", "contours"), ("100", "done")]
    assert "a4c.dcm: tracing contours" in frames[2]
    assert stream.getvalue().endswith("\r")  # wiped: the cursor back at the start of an empty line


def test_no_bar_when_stderr_is_not_a_terminal():
    assert terminal_bar(io.StringIO()) is None


def test_notes_go_above_the_bar_on_a_terminal_and_are_plain_lines_otherwise():
    plain = io.StringIO()
    progress = TerminalProgress(plain, total=3)
    progress.show(1.5, "2/3 p2.dcm: segmenting")  # nothing drawn in a log
    progress.note("1/3 p1.dcm: ok")
    progress.close()
    assert plain.getvalue() == "1/3 p1.dcm: ok\n"
    term = FakeTerminal()
    progress = TerminalProgress(term, total=3)
    progress.show(1.5, "2/3 p2.dcm: segmenting")
    progress.note("1/3 p1.dcm: ok")
    progress.close()
    text = term.getvalue()
    assert "1/3 p1.dcm: ok\n" in text and " 50%|" in text and "2/3 p2.dcm: segmenting" in text


def _analyze(stderr_tty: bool) -> tuple[str, str]:
    """Run `analyze` on the demo clip with its truth labels; stdout piped, stderr a pty or a pipe."""
    cmd = [sys.executable, "-m", "app", "analyze", str(DEMO / "a4c.dcm"), "--labels", str(DEMO / "a4c.truth.npz"),
           "--no-strain", "--json", "-"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    if not stderr_tty:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout, done.stderr
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    while True:  # read the terminal as it is written (a full pty would block the child)
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:  # the child closed its end
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    out = proc.stdout.read().decode()
    assert proc.wait(timeout=300) == 0
    os.close(master)
    return out, b"".join(chunks).decode(errors="replace")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_analyze_draws_the_bar_on_a_terminal_and_keeps_json_clean():
    out, err = _analyze(stderr_tty=True)
    assert "\r" in err and "%" in err and "100%" in err  # drawn in place, to the end
    assert json.loads(out)["ef_pct"] > 0  # stdout is still pure JSON
    piped_out, piped_err = _analyze(stderr_tty=False)
    assert "\r" not in piped_err and "%" not in piped_err
    assert json.loads(piped_out) == json.loads(out)
