"""What `cardiotrace analyze` says: the results as JSON (one recording's, or the study's with its biplane and LA
volume) on stdout or in a file, and the short text summary printed without --json -."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def write_json(json_out: str, result: dict) -> None:
    """--json: the results on stdout ('-') or in a file, with a line on stderr naming it."""
    text = json.dumps(result, indent=2, allow_nan=False)
    if json_out == "-":
        sys.stdout.write(text + "\n")
    else:
        _write_file(Path(json_out), text)
        print(f"wrote {json_out}", file=sys.stderr)


def _write_file(path: Path, text: str) -> None:
    from app.commands.usage import UsageError
    from app.paths import write_text

    try:
        write_text(path, text)
    except OSError as exc:
        raise UsageError(f"--json: cannot write {path}: {exc.strerror or exc}") from None


def json_result(analyses, study, la: dict | None) -> dict:
    """One recording's JSON (the same as a batch's and the viewer's), or the recordings' with the study's values:
    the biplane (with its BSA and indexed values) and the LA volume (`la`: study_la), indexed with the first
    recording's patient, as the report does."""
    from app.workflow.indexed import indexed_json

    items = [a.to_json_dict() for a in analyses]
    if len(items) == 1:
        return items[0]
    biplane = None if study.biplane is None else {
        **study.biplane.to_json_dict(),  # indexed as the report's page 1 indexes it, with the first recording's patient
        **indexed_json(study.biplane, analyses[0].recording.patient)}
    return {
        "recordings": items,
        "biplane": biplane,
        "la_volume": la,
        "study_notes": list(study.notes),  # e.g. which of two A4C clips the biplane and LA volume use
    }


def _fmt(value, unit: str = "", nd: int = 1) -> str:
    """A value as the summary prints it; "-" when unknown (None, or a curve's NaN where no LV was found)."""
    return "-" if value is None or value != value else f"{value:.{nd}f}{unit}"


def _print_mri_summary(m) -> None:
    """Short-axis stack: the RV, the mass, and a one-phase stack's volumes."""
    if m.n_frames == 1:
        lv = None if m.volume_curve_ml is None else float(m.volume_curve_ml[0])
        rv = None if m.rv_volume_curve_ml is None else float(m.rv_volume_curve_ml[0])
        print(f"  one phase: LV volume {_fmt(lv, ' ml')}  RV volume {_fmt(rv, ' ml')}")
    else:
        print(
            f"  RV EDV {_fmt(m.rv_edv_ml, ' ml')}  RV ESV {_fmt(m.rv_esv_ml, ' ml')}  RV SV {_fmt(m.rv_sv_ml, ' ml')}  "
            f"RV EF {_fmt(m.rv_ef_pct, ' %')}"
        )
    print(f"  myocardial mass {_fmt(m.lv_mass_g, ' g')}")


def study_la(analyses, study) -> dict | None:
    from app.workflow.indexed import body_surface_area_m2

    return None if study.la is None else study.la.to_json_dict(body_surface_area_m2(analyses[0].recording.patient))


def _hr_source(m) -> str:
    """Where a heart rate not measured from the beats comes from."""
    from app.workflow.results import HR_FROM_FILE, HR_FROM_GATED_CYCLE

    return {HR_FROM_FILE: " (the file's)", HR_FROM_GATED_CYCLE: " (gated cycle)"}.get(m.heart_rate_source, "")


def print_summary(analyses, result, la: dict | None) -> None:
    for a in analyses:
        m = a.measurements
        name = a.recording.source_path.name if a.recording.source_path else "recording"
        print(f"{name}: {a.recording.modality} {a.recording.view}, {a.recording.n_frames} frames, "
              f"method {m.method}{'' if m.calibrated else ' (uncalibrated: volumes need a calibration)'}")
        fac = f"  FAC {_fmt(m.fac_pct, ' %')}" if m.method == "single-slice" else ""  # one slice's one value
        print(f"  EDV {_fmt(m.edv_ml, ' ml')}  ESV {_fmt(m.esv_ml, ' ml')}  SV {_fmt(m.sv_ml, ' ml')}  "
              f"EF {_fmt(m.ef_pct, ' %')}{fac}  HR {_fmt(m.heart_rate_bpm, ' bpm', 0)}{_hr_source(m)}")
        print(f"  ED frames {list(m.ed_frames)}  ES frames {list(m.es_frames)}  beats {len(m.beats)}  "
              f"frames to review {list(m.flagged_frames)}")
        if a.recording.modality == "mri" and a.recording.is_stack:
            _print_mri_summary(m)
        if a.strain is not None:
            gls = a.strain.gls_pct
            low = a.strain.low_quality_segments
            print(f"  GLS {_fmt(gls, ' %')}" + (f"  (low tracking quality: {', '.join(low)})" if low else ""))
            if a.strain.withheld:  # why the GLS is missing, as the report and the JSON say
                print(f"  note: {a.strain.withheld}")
        elif a.strain_error:
            print(f"  strain not measured: {a.strain_error}")
        if a.view_check is not None and a.view_check.warning:
            print(f"  warning: {a.view_check.warning}")
        for note in m.notes:  # the caveats the JSON's "notes" carry: a reader of the text must see them too
            print(f"  note: {note}")
    bi = result.get("biplane") if "recordings" in result else None
    if bi:
        print(f"biplane (A4C + A2C): EDV {_fmt(bi['edv_ml'], ' ml')}  ESV {_fmt(bi['esv_ml'], ' ml')}  "
              f"EF {_fmt(bi['ef_pct'], ' %')}")
    if la:
        index = la["volume_index_ml_m2"]
        print(f"LA volume {_fmt(la['volume_ml'], ' ml', 0)}"
              + (f" (index {_fmt(index, ' ml/m2', 0)})" if index is not None else "") + f", {la['method']}")
