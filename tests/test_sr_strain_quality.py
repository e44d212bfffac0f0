"""The SR sends no peak strain of a segment whose tracking quality failed (the viewer dashes it "not to be read", the
PDF labels it "(low quality)", its bullseye marks it "?") and says which it left out; the others are sent."""

from __future__ import annotations

import json

import pydicom

from app.cli import main
from tests.orthanc_fixtures import DEMO


def _items(ds):
    for item in getattr(ds, "ContentSequence", []):
        yield item
        yield from _items(item)


def _strain_sites(sr) -> set[str]:
    sites = set()
    for item in _items(sr):
        if item.ValueType == "NUM" and item.ConceptNameCodeSequence[0].CodeMeaning == "Strain":
            for mod in item.ContentSequence:
                if mod.ConceptNameCodeSequence[0].CodeMeaning == "Finding Site":
                    sites.add(mod.ConceptCodeSequence[0].CodeMeaning)
    return sites


def test_the_sr_leaves_out_the_peaks_of_poorly_tracked_segments_and_says_so(tmp_path, capsys):
    out = tmp_path / "dicom"
    assert main(["analyze", str(DEMO / "a4c.dcm"), "--labels", str(DEMO / "a4c.truth.npz"), "--dicom-out", str(out),
                 "--json", str(tmp_path / "r.json")]) == 0
    capsys.readouterr()
    quality = json.loads((tmp_path / "r.json").read_text())["strain_quality"]  # in the segments' order
    names = tuple(quality)
    poor = [n for n in names if not quality[n]["ok"]]
    assert poor and len(poor) < 6  # the demo clip tracks some segments poorly, not all
    sr = pydicom.dcmread(next(out.glob("sr-*.dcm")))
    sent = _strain_sites(sr)
    assert sent == {f"left ventricle {n.replace('_', ' ')} segment" for n in names if n not in poor}
    parameters = [i.TextValue for i in _items(sr) if i.ValueType == "TEXT"
                  and i.ConceptNameCodeSequence[0].CodeMeaning == "Algorithm Parameters"]
    said = {f"strain not sent, tracking poor: {n.replace('_', ' ')}" for n in poor}
    assert said <= set(parameters)  # in the recording's group
    assert {f"A4C: {p}" for p in said} <= set(parameters)  # and the study's, named
