"""Plain words for the report: what was corrected by hand, where the contours came from, the file name.

`edited_phrases(names)` turns the measurement names that depend on a manual edit (Measurements.edited)
into sentences a reader understands ("end-systolic contours edited", "ES frames set by hand").
`edit_frames_phrases(section)` names the frames corrected by hand or by propagation and says when the strain
was re-tracked on them. `contour_source(segmenter, edited)` says who drew the contours (`contour_model`, in a few
words for the viewer: which network, shipped or the site's own). `report_file_name(patient, modality)` is the default
name of a report: patient, study date and modality.
"""

from __future__ import annotations

import re

from app.data.dicom_dates import display_date
from app.data.recording import PatientInfo

MODEL_WORDS = {  # models/<name>: (what it does, what it learned from), for readers of the report
    "echo_seg_base": ("echo LV, myocardium and atrium outlines, frame by frame (U-Net)",
                      "CAMUS apical 4-chamber images of 375 patients, synthetic echo clips and 80 clinical apical "
                      "4-chamber clips (EchoNet-Dynamic) with the echocardiographer's EF"),
    "echo_seg_temporal": ("echo outlines over time (ConvLSTM U-Net)",
                          "CAMUS apical 4-chamber images of 375 patients and synthetic echo sequences"),
    "ed_es": ("end-diastole and end-systole frames (TempReg-Net)",
              "CAMUS clips and synthetic echo and cine MR clips"),
    "motion": ("myocardial motion for strain (FlowNet)", "CAMUS frames moved by known motion, synthetic echo"),
    "mri_seg": ("cine MRI outlines of the LV, its wall and the right ventricle, slice by slice (five networks "
                "averaged)", "ACDC short-axis MRI of 80 patients from several scanners, with expert outlines"),
    "view": ("echo view check (ViewNet)", "CAMUS apical 4-chamber images and synthetic 2- and 3-chamber clips"),
}
MODEL_SHORT = {"echo_seg_base": "echo U-Net", "echo_seg_temporal": "echo ConvLSTM U-Net",
               "mri_seg": "MRI networks"}  # models/<name> a segmenter name starts with: the viewer's few words
SITE_PREFIX = "site model"  # how app.ml.site_model.SiteModel.label starts, in a segmenter name after " + "
VALUE_WORDS = {"edv_ml": "EDV", "esv_ml": "ESV", "sv_ml": "SV", "ef_pct": "EF", "heart_rate_bpm": "heart rate",
               "lv_mass_g": "myocardial mass", "fac_pct": "FAC", "gls_pct": "GLS", "rv_edv_ml": "RV EDV",
               "rv_esv_ml": "RV ESV", "rv_sv_ml": "RV SV", "rv_ef_pct": "RV EF"}
EDIT_WORDS = {  # what was edited by hand (RecordingState.edited_values), in the report's words
    "ed_frames": "ED frames set by hand", "es_frames": "ES frames set by hand",
    "calibration": "pixel size calibrated by hand", "view": "view label set by hand",
    "cycles": "an ES mark added or removed by hand: the beats measured changed",
    "excluded_slices": "short-axis slices left out of the volumes and mass by hand",
    "ed_contours": "end-diastolic contours edited", "es_contours": "end-systolic contours edited",
}


def edited_phrases(names, shown=None) -> list[str]:
    """Sentences for the inputs edited by hand, then the values they changed (of those `shown`, when given:
    the keys the report prints; an echo report names no RV value or FAC)."""
    names = set(names)
    out = [phrase for key, phrase in EDIT_WORDS.items() if key in names]
    if "volume_curve_ml" in names and not names & {"ed_contours", "es_contours"}:
        out.append("contours between ED and ES edited")
    values = [word for key, word in VALUE_WORDS.items() if key in names and (shown is None or key in shown)]
    if values:
        out.append("values affected: " + ", ".join(values))
    return out


def contour_source(segmenter: str, edited: bool = False) -> str:
    """Who drew the contours, in words: the model, labels given with the file, or the saved work."""
    name = (segmenter or "").strip()
    if name.startswith("labels:"):
        text = f"labels from {name.split(':', 1)[1]}"
    elif name in ("restored", ""):
        text = "saved analysis" if name else "-"
    else:
        model, _, extra = name.partition(" + ")
        text = f"model: {MODEL_WORDS[model][0]}" if model in MODEL_WORDS else model  # else e.g. "truth labels"
        text += "".join(f", {e}" for e in extra.split(" + ") if e)  # e.g. the site model, then label hysteresis
    return text + (", corrected by hand" if edited else "")


def contour_model(segmenter: str, edited: bool = False) -> str:
    """contour_source in a few words, for the viewer: "shipped echo U-Net", or "echo U-Net, site model of
    2026-11-28 (12 studies, abcd1234)" when this site's fine-tune drew them (the user can switch between the two,
    so the panel must say which), then what ran with it (label hysteresis) and the hand corrections."""
    model, _, extra = (segmenter or "").strip().partition(" + ")
    if model not in MODEL_SHORT:
        return contour_source(segmenter, edited)
    extras = [e for e in extra.split(" + ") if e]
    shipped = not any(e.startswith(SITE_PREFIX) for e in extras)
    words = [("shipped " if shipped else "") + MODEL_SHORT[model], *extras]
    return ", ".join(words) + (", corrected by hand" if edited else "")


def report_file_name(patient: PatientInfo, modality: str, anonymised: bool = False) -> str:
    """'DOE_JOHN_2025-01-01_echo_report.pdf' (anonymised: 'anonymous_...'; unknown parts left out)."""
    who = "anonymous" if anonymised else (patient.name or patient.patient_id or "patient")
    who = re.sub(r"[^A-Za-z0-9]+", "_", who.replace("^", " ")).strip("_") or "patient"
    parts = [who, display_date(patient.study_date), modality.lower(), "report"]
    return "_".join(p for p in parts if p) + ".pdf"


def frames_text(frames) -> str:
    """'frame 6' / 'frames 4, 5, 7 and 8' (numbered as in the viewer: the first frame is 0)."""
    frames = [str(f) for f in frames]
    if len(frames) == 1:
        return f"frame {frames[0]}"
    return f"frames {', '.join(frames[:-1])} and {frames[-1]}"


def edit_frames_phrases(section) -> list[str]:
    """Which frames were corrected by hand, which a correction was carried to, and whether the strain was
    tracked again on the edited contours (a RecordingSection from the viewer)."""
    out = []
    if section.hand_edited_frames:
        out.append(f"contours corrected by hand on {frames_text(section.hand_edited_frames)}")
    if section.propagated_frames:
        out.append(f"the corrections carried along the motion to {frames_text(section.propagated_frames)}")
    if section.strain_retracked:
        out.append("GLS re-tracked on the edited contours")
    return out
