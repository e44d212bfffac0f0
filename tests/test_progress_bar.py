"""The terminal progress bar of `analyze PATH`: drawn on stderr when it is a terminal, nothing otherwise."""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

from app.commands.progress_bar import REDRAW_S, render, terminal_bar
from app.tasks import Progress

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_render_shows_stage_and_percent():
    assert render(Progress(0.5, "segmenting"), "a4c.dcm", width=10) == "a4c.dcm [#####.....]  50% segmenting"
    assert render(Progress(1.7), width=4) == "[####] 100%"  # clamped


def test_bar_redraws_in_place_throttled_and_wipes_its_line(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("app.commands.progress_bar.time.monotonic", lambda: clock[0])
    stream = FakeTerminal()
    bar = terminal_bar(stream)
    bar(Progress(0.1, "segmenting"))
    bar(Progress(0.2, "segmenting"))  # too soon: skipped
    clock[0] += 2 * REDRAW_S
    bar(Progress(0.3, "tracing contours"))
    bar(Progress(1.0, "done"))  # the end is always drawn
    bar.close()
    lines = stream.getvalue().split("\r")
    assert [x.split("] ")[1].strip() for x in lines[1:4]] == ["10% segmenting", "30% tracing contours", "100% done"]
    assert lines[-2].strip() == "" and lines[-1] == ""  # the line is wiped, the cursor back at its start


def test_no_bar_when_stderr_is_not_a_terminal():
    assert terminal_bar(io.StringIO()) is None


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
