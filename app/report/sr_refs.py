"""Which images each value of the SR was measured on (its SourceImageForMeasurement items, TID 320).

A recording's volumes reference its ED or ES frames, SV and EF both (`frame_refs`, `measured_frames`). The
study's values reference the recordings the study computed them from (ReportData.study_sources: the view pair
the study chose, which of two clips of one view need not be the first given): the biplane EDV the ED frames of
its A4C and A2C, the ESV their ES frames, SV and EF both (their indexes alike), the LA volume the ES frames of
its view(s) (LV end-systole, when the atrium is largest: app.workflow.la_volume), the mean GLS each view's clip.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.report.dicom_sources import SourceImages

# the study's rows: which of the view pair's frames each is measured on
BIPLANE_PHASES = {"edv_ml": "ed", "edv_index_ml_m2": "ed", "esv_ml": "es", "esv_index_ml_m2": "es",
                  "sv_ml": "both", "sv_index_ml_m2": "both", "ef_pct": "both"}
LA_KEYS = ("la_volume_ml", "la_volume_index_ml_m2")


def frame_refs(sources: SourceImages, phases) -> list:
    """SourceImageForMeasurement items for the given phases: every slice of a stack, one item per instance
    with its frame numbers (multi-frame) or none (single-frame instances)."""
    import highdicom as hd

    frames_by_uid: dict[str, tuple[str, set]] = {}
    for t in phases:
        for s in range(len(sources.refs)):
            index, frame = sources.ref(s, int(t))
            ds = sources.datasets[index]
            entry = frames_by_uid.setdefault(str(ds.SOPInstanceUID), (str(ds.SOPClassUID), set()))
            if frame is not None:
                entry[1].add(int(frame))
    return [hd.sr.SourceImageForMeasurement(sop_class, uid, sorted(frames) or None)
            for uid, (sop_class, frames) in frames_by_uid.items()]


def measured_frames(section) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The ED and ES frames the volumes and EF are measured on: the counted beats' (their means are the values);
    every ED and ES marked when no beat is counted or listed (a stack's ED/ES phases)."""
    counted = [b for b in section.beats if b.counted]
    if not counted:
        return tuple(section.ed_frames), tuple(section.es_frames)
    return tuple(sorted({b.ed_frame for b in counted})), tuple(sorted({b.es_frame for b in counted}))


def _phase_frames(section, phase: str) -> tuple[int, ...]:
    ed, es = measured_frames(section)
    return {"ed": ed, "es": es}.get(phase, ed + es)


def _of_recordings(report, sources: Sequence[SourceImages], indices, phase: str) -> list:
    """The refs of the given recordings' frames of one phase ("ed", "es", "both"; "all": each instance whole)."""
    out: list = []
    for i in indices:
        if i >= len(sources) or i >= len(report.recordings):
            continue
        if phase == "all":
            import highdicom as hd

            out += [hd.sr.SourceImageForMeasurement(str(ds.SOPClassUID), str(ds.SOPInstanceUID))
                    for ds in sources[i].datasets]
        else:
            out += frame_refs(sources[i], _phase_frames(report.recordings[i], phase))
    return out


def study_refs(report, sources: Sequence[SourceImages]) -> dict[str, list]:
    """Row key of a study value -> its SourceImageForMeasurement items (none for the BSA and heart rate)."""
    used = report.study_sources
    refs = {key: _of_recordings(report, sources, used.biplane, phase) for key, phase in BIPLANE_PHASES.items()}
    refs.update({key: _of_recordings(report, sources, used.la, "es") for key in LA_KEYS})
    refs["gls_pct"] = _of_recordings(report, sources, used.gls, "all")
    return refs


def group_sources(measurements) -> list:
    """SourceImageForMeasurementGroup items of a group: each instance its measurements reference, once."""
    import highdicom as hd

    seen: dict[str, str] = {}
    for measurement in measurements:
        for ref in measurement.referenced_images:
            seen.setdefault(str(ref.referenced_sop_instance_uid), str(ref.referenced_sop_class_uid))
    return [hd.sr.SourceImageForMeasurementGroup(sop_class, uid) for uid, sop_class in seen.items()]
