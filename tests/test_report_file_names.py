"""A recording's file name in the PDF report's narrow columns (page 1's "From", the details' "Recording") breaks
after a separator or before its extension, not inside a word: page 1 had read "gdcm-US-ALOKA-1" / "6.dcm"."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader
from report_fixtures import synthetic_analysis

from app.report.build import report_from_analyses
from app.report.name_cells import ELLIPSIS, name_cell
from app.report.pdf import MARGIN, PAGE_SIZES, write_pdf

FROM_COLUMN_PT = 0.16 * (PAGE_SIZES["a4"][0] - 2 * MARGIN)  # page 1's "From" on A4: 16 % of the width


def _pages(name: str, tmp_path) -> list[list[str]]:
    """The text lines of each page of the report of one recording read from `name`, whose view is not known (so
    page 1 names the file, not the view)."""
    clip = synthetic_analysis(view="a4c", path=Path("/archive") / name)
    rec = type(clip.recording)(**{**clip.recording.__dict__, "view": "unknown"})
    report = report_from_analyses([replace(clip, recording=rec)])
    assert {source for source, _ in report.summary_rows} == {name}
    path = write_pdf(report, tmp_path / "r.pdf")
    return [page.extract_text().splitlines() for page in PdfReader(str(path)).pages]


def test_page_one_breaks_a_file_name_after_a_separator(tmp_path):
    page_one = _pages("gdcm-US-ALOKA-16.dcm", tmp_path)[0]
    assert "gdcm-US-ALOKA-1" not in page_one and "6.dcm" not in page_one
    starts = [i for i, line in enumerate(page_one) if line == "gdcm-US-ALOKA-"]
    assert starts and all(page_one[i + 1] == "16.dcm" for i in starts)


def test_a_very_long_name_keeps_its_start_and_extension_on_page_one_and_prints_whole_in_the_details(tmp_path):
    name = "gdcm-US-ALOKA-16-a-very-long-archive-file-name-of-the-study.dcm"
    pages = _pages(name, tmp_path)
    first = [i for i, line in enumerate(pages[0]) if line == "gdcm-US-ALOKA-"]
    assert first
    for i in first:  # three lines, the last its end after an ellipsis
        assert pages[0][i + 1:i + 3] == ["16-a-very-long-", f"{ELLIPSIS}the-study.dcm"]
    details = pages[1]
    whole = [i for i, line in enumerate(details) if line == "gdcm-US-ALOKA-16-a-very-"]
    assert len(whole) >= 2  # the recordings used, every measurement
    assert all("".join(details[i:i + 3]) == name for i in whole), details


@pytest.mark.parametrize("name", ["A4C", "study", "a4c_clip.dcm", "IM_0001.dcm"])
def test_a_name_that_fits_is_left_as_it_was(name):
    assert name_cell(name, FROM_COLUMN_PT, max_lines=3) == name  # a str: the table sets it as it set any text


def test_a_name_without_separators_is_cut_where_the_line_is_full_and_keeps_its_extension():
    cell = name_cell("0X108B163EEADDDABC.avi", FROM_COLUMN_PT)
    assert cell.text.split("<br/>") == ["0X108B163EEAD", "DDABC.avi"]  # as reportlab itself cut it
    cell = name_cell("0X108B163EEADDDABC" * 4 + ".avi", FROM_COLUMN_PT, max_lines=2)
    assert cell.text.split("<br/>") == ["0X108B163EEAD", f"{ELLIPSIS}EEADDDABC.avi"]  # not "....avi"
