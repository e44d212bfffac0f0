"""The SR's volumes and EF reference the frames they are measured on: the counted beats' ED and ES frames."""

from __future__ import annotations

from dataclasses import replace

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.uid import UltrasoundMultiFrameImageStorage, generate_uid
from report_fixtures import synthetic_analysis

from app.report.build import report_from_analyses
from app.report.dicom_sources import SourceImages
from app.report.dicom_sr import _measurements


def _referenced_frames(measurements, code: str) -> list[int]:
    (item,) = [m for m in measurements if m.name.value == code]
    return sorted(int(f) for ref in item.referenced_images for f in ref.referenced_frame_numbers)


def test_edv_and_esv_reference_the_counted_beats_frames_only():
    analysis = synthetic_analysis(n_frames=30)
    m = analysis.measurements
    (beat,) = m.beats
    extra_ed, extra_es = m.ed_frames[-1], 27  # a last beat, not counted (say, its systole a sliver)
    uncounted = replace(beat, ed_frame=extra_ed, es_frame=extra_es, next_ed_frame=None, trusted=False,
                        why_untrusted="cut by the clip's end (no RR interval)")
    measured = replace(m, es_frames=tuple(m.es_frames) + (extra_es,), beats=(beat, uncounted))
    section = report_from_analyses([replace(analysis, measurements=measured)]).recordings[0]
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = UltrasoundMultiFrameImageStorage, generate_uid()
    sources = SourceImages((ds,), (tuple((0, t + 1) for t in range(analysis.recording.n_frames)),))
    algorithm = hd.sr.AlgorithmIdentification(name="CardioTrace", version="test")
    items = _measurements(section, sources, algorithm)
    # frame numbers are 1-based; EDV by US 18026-5, ESV by US 18148-7
    assert _referenced_frames(items, "18026-5") == [beat.ed_frame + 1]
    assert _referenced_frames(items, "18148-7") == [beat.es_frame + 1]
    everything = replace(measured, beats=(replace(beat, trusted=False, why_untrusted="RR"), uncounted))
    section = report_from_analyses([replace(analysis, measurements=everything)]).recordings[0]
    items = _measurements(section, sources, algorithm)
    assert _referenced_frames(items, "18148-7") == sorted(f + 1 for f in measured.es_frames)
