"""Exports: measurements (JSON, CSV), per-frame contours (JSON), label masks (NIfTI), annotated cine.

Every writer takes plain results (ReportData / RecordingAnalysis), writes atomically (a temporary file
beside the target, then os.replace) and returns the path written.

- measurements JSON: the values exactly as the PDF prints them (rounded to the shown decimals).
- measurements CSV: one row per recording (row_type "recording"), one per beat ("beat") and the
  study-level values ("study"), all in one table.
- contours JSON: per frame (and per slice for a stack) the LvContours points (x=col, y=row) in pixels.
- masks NIfTI: labels 0-3 in the recording's pixel grid: 2D+t -> 3D image (W, H, T) with spacing
  (col_mm, row_mm, frame interval in s); a stack (S, T, H, W) -> 4D image (W, H, S, T) with spacing
  (col_mm, row_mm, slice spacing mm, frame interval s), the same layout as `analyze --masks`.
- cine: MP4 (mp4v) / AVI (MJPG) through cv2.VideoWriter, GIF through imageio; contours drawn with
  cv2.polylines, the frame number and ED/ES written in the corner.
"""

from __future__ import annotations

import csv
import errno
import json
from pathlib import Path

import numpy as np

from app.paths import atomic_target
from app.report.model import ReportData, rounded
from app.workflow.indexed import INDEXED

CINE_COLORS_BGR = {"endo": (48, 59, 255), "epi": (89, 199, 52), "la": (255, 132, 10)}


# -- measurements ---------------------------------------------------------------------------------
def measurements_dict(report: ReportData) -> dict:
    """Plain JSON types: header, per-recording values/beats/flags, study values (as printed)."""
    p = report.patient
    return {
        "format": "cardiotrace-measurements",
        "version": 1,
        "software_version": report.software_version,
        "created": report.created,
        "anonymised": report.anonymised,
        "patient": {"name": p.name, "patient_id": p.patient_id, "birth_date": _known_date(p.birth_date),
                    "sex": p.sex, "study_date": _known_date(p.study_date), "institution": p.institution,
                    "height_cm": p.height_cm, "weight_kg": p.weight_kg,  # the BSA's, as page 1 prints them
                    "age_years": report.age_years},  # page 1's age: kept when anonymised, as the sex
        "recordings": [_recording_dict(rec) for rec in report.recordings],
        "study": {row.key: _row_dict(row) for row in report.study_rows},
        "not_measured": [{"name": item.name, "reason": item.reason} for item in report.not_measured],
        "models": [{"name": m.name, "version": m.version} for m in report.models],
        "comment": report.comment,
        "reviewer": report.reviewer,
        "signed": report.signed,
    }


def _known_date(da: str) -> str:
    """A DICOM date (YYYYMMDD) as the file gives it, or "" for a placeholder the report does not print
    ('00000000' of an anonymised file, a day that does not exist)."""
    from app.data.dicom_dates import display_date

    return da if display_date(da) else ""


def _row_dict(row) -> dict:
    return {"value": rounded(row.value, row.decimals), "text": row.text, "unit": row.unit, "label": row.label,
            "method": row.method, "reference": row.reference, "flag": row.flag, "grade": row.grade,
            "edited": row.edited}


def _recording_dict(rec) -> dict:
    return {
        "name": rec.name, "file": rec.source_path, "modality": rec.modality, "view": rec.view,
        "frames": rec.n_frames, "slices": rec.n_slices, "frame_rate_hz": rounded(rec.frame_rate_hz, 3),
        "spacing_mm": [round(s, 6) for s in rec.spacing_mm], "calibrated": rec.calibrated,
        "ed_frames": list(rec.ed_frames), "es_frames": list(rec.es_frames),
        "measurements": {row.key: _row_dict(row) for row in rec.measurements},
        "beats": [{"beat": b.index + 1, "ed_frame": b.ed_frame, "es_frame": b.es_frame,
                   "edv_ml": rounded(b.edv_ml), "esv_ml": rounded(b.esv_ml), "sv_ml": rounded(b.sv_ml),
                   "ef_pct": rounded(b.ef_pct), "fac_pct": rounded(b.fac_pct), "rr_s": rounded(b.duration_s, 3),
                   "counted": b.counted}
                  for b in rec.beats],
        "volume_curve_ml": None if rec.volume_curve_ml is None else [rounded(v, 2) for v in rec.volume_curve_ml],
        "strain_computed": rec.strain is not None,
        "strain_requested": rec.strain_requested,  # false: no strain asked for (analyze --no-strain), no GLS row
        "quality_flags": list(rec.quality_flags),
        "edited": sorted(rec.edited),
    }


def write_measurements_json(report: ReportData, path) -> Path:
    with atomic_target(path) as tmp:
        tmp.write_text(json.dumps(measurements_dict(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return Path(path)


# every value the report prints but the segments' strain (the JSON has them): the CSV must not drop a signed value
CSV_VALUE_KEYS = ("edv_ml", "esv_ml", "sv_ml", "ef_pct", "heart_rate_bpm", "gls_pct", "lv_mass_g",
                  "edv_area_length_ml", "esv_area_length_ml", "fac_pct", "rv_edv_ml", "rv_esv_ml", "rv_sv_ml",
                  "rv_ef_pct", "bsa_m2",
                  *(name for name, _, _ in INDEXED), "la_volume_ml", "la_volume_index_ml_m2")
# method: how the EF and volumes of the row were measured (a recording's disks or slice summation, the study's
# biplane disks), blank on a row without them; la_volume_method: the study's LA volume's (biplane or single-plane
# area-length, at LV ES). sex, age_years, height_cm, weight_kg: the patient's as page 1 prints them, the ranges'
# and the BSA's (kept when anonymised, as the PDF keeps them), on recording and study rows; blank when unknown.
# New columns go at the end: readers may take the columns by position.
PATIENT_COLUMNS = ("sex", "age_years", "height_cm", "weight_kg")
CSV_COLUMNS = ("row_type", "recording", "file", "modality", "view", "frames", "frame_rate_hz", "spacing_mm",
               "calibrated", "method", "beat", "ed_frame", "es_frame", *CSV_VALUE_KEYS, "flags", "edited",
               *PATIENT_COLUMNS, "la_volume_method")


def _patient_columns(report: ReportData) -> dict:
    """The patient's sex, age, height and weight as page 1 prints them (None: blank in the CSV)."""
    p = report.patient
    return {"sex": p.sex or None, "age_years": report.age_years, "height_cm": p.height_cm, "weight_kg": p.weight_kg}


def _method_of(rows, key: str) -> str:
    return next((r.method for r in rows if r.key == key), "")


def measurement_csv_rows(report: ReportData) -> list[dict]:
    rows = []
    patient = _patient_columns(report)
    for rec in report.recordings:
        values = {r.key: rounded(r.value, r.decimals) for r in rec.measurements}
        flags = [f"{r.key}:{r.flag}" for r in rec.measurements if r.flag]
        method = _method_of(rec.measurements, "ef_pct")
        rows.append({**patient, "row_type": "recording", "recording": rec.name, "file": rec.source_path,
                     "modality": rec.modality, "view": rec.view, "frames": rec.n_frames,
                     "frame_rate_hz": rounded(rec.frame_rate_hz, 3),
                     "spacing_mm": f"{rec.spacing_mm[0]:.4f}x{rec.spacing_mm[1]:.4f}", "calibrated": rec.calibrated,
                     "method": method, "ed_frame": " ".join(map(str, rec.ed_frames)),
                     "es_frame": " ".join(map(str, rec.es_frames)),
                     **{k: values.get(k) for k in CSV_VALUE_KEYS}, "flags": " ".join(flags),
                     "edited": " ".join(sorted(rec.edited))})
        for b in rec.beats:
            rows.append({"row_type": "beat", "recording": rec.name, "file": rec.source_path, "view": rec.view,
                         "beat": b.index + 1, "ed_frame": b.ed_frame, "es_frame": b.es_frame,
                         "edv_ml": rounded(b.edv_ml), "esv_ml": rounded(b.esv_ml), "sv_ml": rounded(b.sv_ml),
                         "ef_pct": rounded(b.ef_pct), "fac_pct": rounded(b.fac_pct),
                         "heart_rate_bpm": rounded(60.0 / b.duration_s, 0) if b.duration_s else None})
    if report.study_rows:
        study: dict[str, str | float | None] = {**patient, "row_type": "study", "recording": "study"}
        taken = []  # the study row's values and, as a recording's row, their flags and hand edits
        for r in report.study_rows:
            if r.key in CSV_VALUE_KEYS and r.key not in study:
                study[r.key] = rounded(r.value, r.decimals)
                taken.append(r)
        study["method"] = _method_of(taken, "ef_pct")  # as on a recording row: the EF's and volumes'
        study["la_volume_method"] = _method_of(taken, "la_volume_ml")
        study["flags"] = " ".join(f"{r.key}:{r.flag}" for r in taken if r.flag)
        study["edited"] = " ".join(sorted(r.key for r in taken if r.edited))
        rows.append(study)
    return rows


def write_measurements_csv(report: ReportData, path) -> Path:
    with atomic_target(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for row in measurement_csv_rows(report):
                writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in CSV_COLUMNS})
    return Path(path)


# -- contours and masks ----------------------------------------------------------------------------
def contours_dict(analysis) -> dict:
    """Per-frame contours of one analysis: {"frames": [...]} or {"slices": [[...], ...]} for a stack, with
    "rv_slices" [[RV border (N, 2) or None per frame] per slice] when a short-axis stack has an RV."""
    rec = analysis.recording
    out = {"format": "cardiotrace-contours", "version": 1,
           "file": str(rec.source_path) if rec.source_path else None, "view": rec.view,
           "points": "(x, y) = (column, row) in pixels; pixel centres at integer coordinates",
           "spacing_mm": [float(s) for s in rec.spacing_mm], "calibrated": rec.calibrated,
           # null where the times are nominal (no timing in the file), as the report plots such curves by frame
           "frame_times_s": None if rec.frame_times_nominal else [round(float(t), 6) for t in rec.frame_times_s],
           "ed_frames": list(analysis.measurements.ed_frames), "es_frames": list(analysis.measurements.es_frames)}
    contours = analysis.contours
    if isinstance(contours, tuple):
        out["slices"] = [fc.to_json_dict() for fc in contours]
        if any(getattr(fc, "rv", ()) for fc in contours):  # short-axis MRI: closed RV borders per slice and frame
            out["rv_slices"] = [[None if b is None else np.round(np.asarray(b, float), 3).tolist()
                                 for b in (getattr(fc, "rv", ()) or (None,) * len(fc))] for fc in contours]
    else:
        out["frames"] = contours.to_json_dict()
    return out


def write_contours_json(analysis, path) -> Path:
    with atomic_target(path) as tmp:
        tmp.write_text(json.dumps(contours_dict(analysis)) + "\n", encoding="utf-8")
    return Path(path)


def write_masks_nifti(analysis, path) -> Path:
    """The analysis's labels as NIfTI: write_label_map(analysis.labels, analysis.recording, path)."""
    return write_label_map(analysis.labels, analysis.recording, path)


def write_label_map(labels: np.ndarray, recording, path) -> Path:
    """Labels (T, H, W) or (S, T, H, W) as NIfTI (.nii / .nii.gz) in the recording's grid, with its spacing.

    2D+t: axes (x=col, y=row, t), spacing (col mm, row mm, frame interval s). Stack: (x, y, slice, phase), spacing
    (col mm, row mm, slice spacing mm, frame interval s); one phase: (x, y, slice), as such a stack is stored.
    A stack read from a NIfTI / MetaImage of the same size keeps that file's origin, direction and slice order
    (the reader puts a stack base first: app.data.readers.nifti.base_to_apex), so the mask lies on the file in
    any viewer. Labels: 0 background, 1 LV cavity, 2 myocardium, 3 LA (echo) or RV (short-axis MRI)."""
    import SimpleITK as sitk

    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    frame_s = 1.0 / recording.frame_rate_hz if recording.frame_rate_hz else 1.0
    col_mm, row_mm = float(recording.spacing_mm[1]), float(recording.spacing_mm[0])
    if labels.ndim == 3:
        image = sitk.GetImageFromArray(labels, isVector=False)  # numpy (T, H, W) -> image (W, H, T)
        image.SetSpacing((col_mm, row_mm, float(frame_s)))
    elif labels.ndim == 4:
        geometry = _stack_file_geometry(recording, labels.shape)
        if geometry is not None and geometry[2]:
            labels = labels[::-1]  # back to the file's slice order
        slice_mm = float(recording.slice_spacing_mm or 1.0)
        if labels.shape[1] == 1:  # one phase: a 3D (x, y, slice) volume
            image = sitk.GetImageFromArray(np.ascontiguousarray(labels[:, 0]))
            image.SetSpacing((col_mm, row_mm, slice_mm))
        else:  # numpy (T, S, H, W) -> image (W, H, S, T)
            image = sitk.GetImageFromArray(np.ascontiguousarray(np.transpose(labels, (1, 0, 2, 3))), isVector=False)
            image.SetSpacing((col_mm, row_mm, slice_mm, float(frame_s)))
        if geometry is not None:
            _set_geometry(image, *geometry[:2])
    else:
        raise ValueError(f"labels must be (T,H,W) or (S,T,H,W), got shape {labels.shape}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(path) as tmp:
        try:
            sitk.WriteImage(image, str(tmp), useCompression=str(path).endswith(".gz"))
        except RuntimeError:  # SimpleITK's word for a file it cannot create
            raise OSError(errno.EIO, "the NIfTI writer could not create the file", str(path)) from None
    return Path(path)


def _stack_file_geometry(recording, shape) -> tuple[tuple, tuple, bool] | None:
    """(origin xyz, direction 3x3 row-major, slices reversed on reading) of the NIfTI / MetaImage the stack was
    read from, None for another source or a file of another size."""
    import SimpleITK as sitk

    from app.data.readers.nifti import apex_first

    source = recording.source_path
    if source is None or not str(source).lower().endswith((".nii", ".nii.gz", ".mhd", ".mha")):
        return None
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(source))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return None
    dim, size = reader.GetDimension(), reader.GetSize()
    if dim not in (3, 4) or tuple(size[:3]) != (shape[3], shape[2], shape[0]):
        return None
    direction = np.asarray(reader.GetDirection(), dtype=np.float64).reshape(dim, dim)[:3, :3]
    return tuple(reader.GetOrigin()[:3]), tuple(direction.ravel()), apex_first(reader.GetDirection(), dim)


def _set_geometry(image, origin3, direction3) -> None:
    """Origin and direction of a 3D, or of the space of a 4D (x, y, slice, phase), image."""
    if image.GetDimension() == 3:
        image.SetOrigin(origin3)
        image.SetDirection(direction3)
        return
    matrix = np.eye(4)
    matrix[:3, :3] = np.asarray(direction3).reshape(3, 3)
    image.SetOrigin(tuple(origin3) + (0.0,))
    image.SetDirection(tuple(matrix.ravel()))


# -- annotated cine ----------------------------------------------------------------------------------
def annotated_frames(analysis, slice_index: int | None = None, min_height_px: int = 360) -> np.ndarray:
    """(T, H', W', 3) uint8 BGR frames with contours, frame number and ED/ES; upscaled by an integer
    factor to at least min_height_px rows so the lines are readable."""
    import cv2

    rec, m = analysis.recording, analysis.measurements
    s = (rec.n_slices // 2 if slice_index is None else slice_index) if rec.is_stack else 0
    contours = analysis.contours[s] if isinstance(analysis.contours, tuple) else analysis.contours
    grey = (rec.frames_unit(s) * 255.0 + 0.5).astype(np.uint8)
    scale = max(1, int(np.ceil(min_height_px / grey.shape[1])))
    out = []
    ed, es = set(m.ed_frames), set(m.es_frames)
    for t in range(rec.n_frames):
        img = cv2.resize(grey[t], None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        c = contours[t] if contours is not None and t < len(contours) else None
        if c is not None:
            for key, pts in (("endo", c.endo_px), ("epi", c.epi_px), ("la", c.la_px)):
                if pts is None or len(pts) < 2:
                    continue
                # pixel i spans [i * scale, (i + 1) * scale) when upscaled; OpenCV draws at pixel centres
                at = (np.asarray(pts) + 0.5) * scale - 0.5
                poly = np.round(at * 16).astype(np.int32).reshape(-1, 1, 2)
                cv2.polylines(img, [poly], key == "la" or c.closed, CINE_COLORS_BGR[key], max(1, (2 * scale) // 3),
                              cv2.LINE_AA, shift=4)
        tag = " ED" if t in ed else " ES" if t in es else ""
        cv2.putText(img, f"{t}{tag}", (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        out.append(img)
    return np.stack(out)


def write_cine(analysis, path, fps: float | None = None, slice_index: int | None = None) -> Path:
    """Annotated cine as .mp4 / .avi (OpenCV) or .gif (imageio), at the recording's frame rate."""
    import cv2

    path = Path(path)
    frames = annotated_frames(analysis, slice_index)
    fps = float(fps or analysis.recording.frame_rate_hz or 25.0)
    suffix = path.suffix.lower()
    with atomic_target(path) as tmp:
        if suffix == ".gif":
            import imageio.v3 as iio

            rgb = frames[..., ::-1]
            iio.imwrite(tmp, rgb, extension=".gif", duration=int(round(1000.0 / fps)), loop=0)
        elif suffix in (".mp4", ".avi"):
            fourcc = cv2.VideoWriter.fourcc(*("mp4v" if suffix == ".mp4" else "MJPG"))
            h, w = frames.shape[1:3]
            writer = cv2.VideoWriter(str(tmp), fourcc, fps, (w, h))
            if not writer.isOpened():
                raise OSError(f"cannot write video {path}: OpenCV could not open a {suffix} writer")
            try:
                for frame in frames:
                    writer.write(frame)
            finally:
                writer.release()
        else:
            raise ValueError(f"unsupported cine format {suffix!r}: use .mp4, .avi or .gif")
    return path
