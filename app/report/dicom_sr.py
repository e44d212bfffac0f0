"""The report's measurements as a DICOM Comprehensive SR, TID 1500 Measurement Report, built with highdicom.

The values are the rows of the ReportData (so exactly those of the PDF and the measurements JSON, edits
included). One measurement group (TID 1501) per recording, finding site the left ventricle, referencing
the source series; each volume references its ED or ES frames, SV and EF both; study rows (biplane,
mean GLS, LA volume) in a group of their own, each referencing the frames of the clips the study computed it
from (app.report.sr_refs). A GLS resting on poorly tracked segments is evaluated 'Limited quality' in its
group (a TID 1501 qualitative evaluation named by the GLS's concept). Codes: LOINC for EDV/ESV/EF/HR/LV mass,
SNOMED CT for stroke volume, a slice's fractional area change, the LA volume (finding site the left atrium) and
the AHA segments, DCM for GLS per view, strain and the volume methods; units in UCUM.
"""

from __future__ import annotations

from app import __version__
from app.data.recording import view_title
from app.report.dicom_sources import SourceImages
from app.report.sr_refs import frame_refs, group_sources, measured_frames, study_refs
from app.workflow.la_volume import BIPLANE, SINGLE_PLANE

SR_SERIES_NUMBER = 901
UNITS = {"ml": ("ml", "milliliter"), "%": ("%", "percent"), "bpm": ("{H.B.}/min", "heart beats per minute"),
         "g": ("g", "gram"), "m²": ("m2", "square meter"), "ml/m²": ("ml/m2", "milliliter per square meter")}
# The study's biplane values indexed to BSA (LOINC's echo codes name the method); a single view's indexed values
# and a single-plane LA index have no such code and leave in the encapsulated PDF only.
STUDY_INDEXED = {"edv_index_ml_m2": ("79997-3", "LN", "Left ventricular end diastolic volume biplane (MOD) / BSA"),
                 "esv_index_ml_m2": ("80002-9", "LN", "Left ventricular end systolic volume biplane (MOD) / BSA")}
LA_INDEX = ("79982-5", "LN", "Left atrial end systolic volume biplane (area-length) / BSA")
GLS_CODES = {"a4c": ("130691", "DCM", "LV Peak Systolic GLS 4CH (Endocardial)"),
             "a2c": ("130692", "DCM", "LV Peak Systolic GLS 2CH (Endocardial)"),
             "a3c": ("130693", "DCM", "LV Peak Systolic GLS ALAX (Endocardial)")}
GLS_MEAN = ("130690", "DCM", "LV Peak Systolic GLS Multiview Mean (Endocardial)")  # the study's mean of the views
# one clip whose view nobody set: no view's GLS code, and not a multiview mean (CID 12304's concept)
GLS_VIEW_UNSET = ("130671", "DCM", "Peak Longitudinal Lagrangian Strain")
METHODS = {"monoplane": ("125208", "Method of Disks, Single Plane"), "biplane": ("125207", "Method of Disks, Biplane"),
           # CID 7474 "Cardiac Volume Methods", as TID 3802 codes a CT/MR ventricle's volume ("Modified Simpson"
           # is CID 12227's echo method of discs); its meaning cut to the 64 characters of a DICOM LO
           "slice summation": ("122503", "Integration of sum of closed areas on contiguous slices"),
           BIPLANE: ("125204", "Area-Length Biplane"), SINGLE_PLANE: ("125205", "Area-Length Single Plane")}


def _code(value: str, scheme: str, meaning: str):
    from pydicom.sr.coding import Code

    return Code(value, scheme, meaning)


def concept(key: str, modality: str, view: str, method: str = ""):
    """The concept name of a measurement row key (its `method` as the report prints it), or None when it has no
    standard code here."""
    if key == "bsa_m2":
        return _code("8277-6", "LN", "BSA")
    if view == "study" and key in STUDY_INDEXED:
        return _code(*STUDY_INDEXED[key])
    if key == "la_volume_index_ml_m2":
        return _code(*LA_INDEX) if method.startswith(BIPLANE) else None
    if key == "ef_pct":
        return _code("8811-2", "LN", "Left ventricular ejection fraction by MR") if modality == "mri" else \
            _code("18043-0", "LN", "Left Ventricular Ejection Fraction by US")
    if key == "gls_pct":
        return _code(*GLS_CODES.get(view, GLS_MEAN if view == "study" else GLS_VIEW_UNSET))
    if key.startswith("strain_"):
        return _code("127411", "DCM", "Strain")
    if key in RV_CONCEPTS:  # the right ventricle (short-axis MRI), at the site "Right ventricle"
        return _code(*RV_CONCEPTS[key])
    return {"edv_ml": _code("18026-5", "LN", "Left Ventricular End Diastolic Volume"),
            "esv_ml": _code("18148-7", "LN", "Left Ventricular End Systolic Volume"),
            "sv_ml": _code("90096001", "SCT", "Stroke volume"),
            "heart_rate_bpm": _code("8867-4", "LN", "Heart rate"),
            "lv_mass_g": _code("18087-7", "LN", "Left Ventricle Mass"),
            "fac_pct": _code("399287000", "SCT", "Left Ventricular Fractional Area Change"),
            "la_volume_ml": _code("399235004", "SCT", "Left Atrium Systolic Volume")}.get(key)


# Codes as in pydicom's SR code dictionary (codes.LN.RightVentricularEDVolume, RightVentricularESVolume,
# RightVentricularEjectionFractionByMR, codes.SCT.RightVentricularStrokeVolume): each volume names its phase, so a
# receiving system need not follow the frames it references to tell the two apart (RV values come from cine MR).
RV_CONCEPTS = {"rv_edv_ml": ("8822-9", "LN", "Right Ventricular ED Volume"),
               "rv_esv_ml": ("8824-5", "LN", "Right Ventricular ES Volume"),
               "rv_sv_ml": ("429483009", "SCT", "RV Stroke Volume"),
               "rv_ef_pct": ("8818-7", "LN", "Right ventricular ejection fraction by MR")}


def _finding_site(key: str):
    """The anatomic site of a row: an AHA segment for segmental strain, the right ventricle for RV values, the
    left atrium for its volume and index."""
    from pydicom.sr.codedict import codes

    if key.startswith("strain_"):
        return _segment_site(key)
    if key in ("la_volume_ml", "la_volume_index_ml_m2"):
        return codes.SCT.LeftAtrium
    return codes.SCT.RightVentricle if key in RV_CONCEPTS else None


def _segment_site(key: str):
    """strain_basal_inferoseptal_pct -> the SNOMED CT code of that AHA segment (None when unknown)."""
    from pydicom.sr.codedict import codes

    parts = key[len("strain_"):-len("_pct")].split("_")
    name = "LeftVentricle" + "".join(p.capitalize() for p in parts) + "Segment"
    try:
        return getattr(codes.SCT, name)
    except AttributeError:
        return None


def _method(row):
    text = (row.method or "").split(" (")[0]
    if text.startswith("disks, "):
        text = text[len("disks, "):]
    text = text.split(",")[0]  # "biplane area-length, at LV ES"
    if row.key == "gls_pct" or row.key.startswith("strain_"):
        return _code("130683", "DCM", "Endocardial Method")
    found = METHODS.get(text)
    return _code(found[0], "DCM", found[1]) if found else None


def _poorly_tracked(section) -> tuple[str, ...]:
    """The strain segments of a recording whose tracking quality failed: the viewer dashes them "not to be read",
    the PDF labels them "(low quality)" and its bullseye marks them "?", so their peaks are not sent as values a
    PACS would show like the others."""
    strain = getattr(section, "strain", None)
    return () if strain is None else strain.low_quality_segments


def _measurements(section, sources: SourceImages | None, algorithm, refs: dict | None = None) -> list:
    """The coded rows of a section as TID 300 Measurements; each references the images it was measured on: its
    frames of `sources`, or `refs` (row key -> SourceImageForMeasurement items: the study's, sr_refs.study_refs)."""
    import highdicom as hd

    out = []
    poor = {f"strain_{name}_pct" for name in _poorly_tracked(section)}
    ed, es = measured_frames(section)
    frames_of = {"edv_ml": ed, "esv_ml": es, "sv_ml": ed + es, "ef_pct": ed + es,
                 "rv_edv_ml": ed, "rv_esv_ml": es, "rv_sv_ml": ed + es, "rv_ef_pct": ed + es}
    # a strain peak is sought in every beat's systole against its ED (app.analysis.strain.beat_windows), not in
    # the counted beats' only
    marked = tuple(sorted({int(t) for t in (*section.ed_frames, *section.es_frames)}))
    for row in section.measurements:
        if row.key == "gls_pct" or row.key.startswith("strain_"):
            frames_of[row.key] = marked
        name = concept(row.key, section.modality, section.view, row.method)
        if name is None or row.value is None or row.unit not in UNITS or row.key in poor:
            continue
        unit = _code(UNITS[row.unit][0], "UCUM", UNITS[row.unit][1])
        site = _finding_site(row.key)
        if sources is None:
            images = (refs or {}).get(row.key)
        else:
            images = frame_refs(sources, frames_of[row.key]) if frames_of.get(row.key) else None
        out.append(hd.sr.Measurement(name=name, value=float(row.value), unit=unit, method=_method(row),
                                     referenced_images=images or None,
                                     finding_sites=[hd.sr.FindingSite(site)] if site is not None else None))
    return out


# DICOM CID 7036 "Image Quality Assessment": of a GLS whose speckle tracking was judged poor in some segments
LIMITED_QUALITY = ("RID13", "RADLEX", "Limited quality")


def _tracking_evaluations(measurements: list, poor: bool) -> list:
    """A GLS sent although it rests on segments whose tracking was judged poor (the guideline keeps it with up to
    two: app.analysis.strain.implausible_reason; page 1 says so): a qualitative evaluation of its group (TID
    1501), named by the GLS's own concept, valued 'Limited quality'. The value sent stays the report's."""
    import highdicom as hd

    gls = {(scheme, code) for code, scheme, _ in (*GLS_CODES.values(), GLS_MEAN, GLS_VIEW_UNSET)}
    names = [m.name for m in measurements if (m.name.scheme_designator, m.name.value) in gls] if poor else []
    return [hd.sr.QualitativeEvaluation(name, _code(*LIMITED_QUALITY)) for name in names]


def _group(label: str, measurements: list, source_images: list | None, algorithm, evaluations: list):
    import highdicom as hd
    from pydicom.sr.codedict import codes

    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=label[:64]),
        finding_sites=[hd.sr.FindingSite(codes.SCT.LeftVentricle)], algorithm_id=algorithm,
        measurements=measurements, qualitative_evaluations=evaluations or None, source_images=source_images or None)


def _algorithm(sections, named: bool = False):
    """CardioTrace and, as its parameters, what drew the contours and what was edited by hand on these recordings
    (the study's group: each recording's, named), in the report's words; each parameter a DICOM LO (64 chars)."""
    import highdicom as hd

    def own(section) -> list[str]:
        poor = [f"strain not sent, tracking poor: {n.replace('_', ' ')}" for n in _poorly_tracked(section)]
        return section.edit_phrases + poor

    items = [f"segmentation: {part}" for part in (sections[0].segmenter or "default").split(" + ")]
    for section in sections:
        prefix = f"{view_title(section.view) or section.name}: " if named else ""
        items += [prefix + item for item in own(section)]
    return hd.sr.AlgorithmIdentification(name="CardioTrace", version=__version__,
                                         parameters=[_lo(item) for item in items])


def _lo(text: str) -> str:
    """A DICOM LO value: at most 64 characters, no backslash."""
    text = text.replace("\\", "/")
    return text if len(text) <= 64 else text[:61] + "..."


def build_sr(report, sources: list[SourceImages], series_uid: str, anonymise: bool = False, amends=None):
    """ReportData + the SourceImages of each of its recordings (same order) -> a highdicom ComprehensiveSR.
    A signed report (a reviewer named) is FINAL and VERIFIED by the reviewer, else PRELIMINARY and UNVERIFIED;
    `amends` (app.workflow.sent_results.SentResults) is referenced as its predecessor document."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    groups = []
    for section, src in zip(report.recordings, sources, strict=False):
        algorithm = _algorithm([section])
        measurements = _measurements(section, src, algorithm)
        if measurements:
            first = [hd.sr.SourceImageForMeasurementGroup(src.first.SOPClassUID, src.first.SOPInstanceUID)]
            groups.append(_group(" ".join(x for x in (view_title(section.view), section.name) if x), measurements,
                                 first, algorithm, _tracking_evaluations(measurements, bool(_poorly_tracked(section)))))
    if report.study_rows:
        groups += _study_group(report, sources)
    modality = report.recordings[0].modality
    procedure = codes.SCT.CardiacMRI if modality == "mri" else codes.SCT.Echocardiography
    device = hd.sr.DeviceObserverIdentifyingAttributes(uid=hd.UID(), name="CardioTrace",
                                                       manufacturer_name="CardioTrace", model_name=__version__)
    context = hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(codes.cid270.Device, device))
    content = hd.sr.MeasurementReport(observation_context=context, procedure_reported=procedure,
                                      imaging_measurements=groups)
    evidence = [ds for s in sources for ds in s.datasets]
    signed = report.signed
    sr = hd.sr.ComprehensiveSR(evidence=evidence, content=content[0], series_instance_uid=series_uid,
                               series_number=SR_SERIES_NUMBER, sop_instance_uid=hd.UID(), instance_number=1,
                               manufacturer="CardioTrace", is_complete=True, is_final=signed, is_verified=signed,
                               verifying_observer_name=person_name(report.reviewer) if signed else None,
                               verifying_organization=(report.patient.institution or "not given") if signed else None,
                               previous_versions=None if amends is None else [_predecessor(amends)])
    sr.SeriesDescription = series_description("SR", report)
    _body_size(sr, report.patient)  # the BSA the SR codes comes from them, typed in or from the file
    if anonymise:
        sr.PatientName, sr.PatientID = "Anonymous", "ANONYMOUS"
        sr.PatientBirthDate = ""  # type: ignore[assignment]  # empty is valid (type 2); pydicom's annotation says DA
    return sr


def _study_group(report, sources: list[SourceImages]) -> list:
    """The study's values (biplane, mean GLS, LA volume) as one group, each referencing the frames of the
    recordings the study computed it from (sr_refs.study_refs), the group every instance they reference."""
    study = type("Study", (), {"measurements": report.study_rows, "modality": report.recordings[0].modality,
                               "view": "study", "ed_frames": (), "es_frames": (), "beats": ()})
    algorithm = _algorithm(report.recordings, named=True)
    measurements = _measurements(study, None, algorithm, study_refs(report, sources))
    poor = any(_poorly_tracked(report.recordings[i]) for i in report.study_sources.gls if i < len(report.recordings))
    return [_group("study (biplane, mean GLS, LA volume)", measurements, group_sources(measurements), algorithm,
                   _tracking_evaluations(measurements, poor))] if measurements else []


def _body_size(ds, patient) -> None:
    """PatientSize (m) and PatientWeight (kg) of the height and weight the report used (DS values)."""
    if patient.height_cm:
        ds.PatientSize = f"{patient.height_cm / 100.0:.3f}"
    if patient.weight_kg:
        ds.PatientWeight = f"{patient.weight_kg:.1f}"


DESCRIPTION_CHARS = 64  # DICOM's longest Series Description (LO)


def series_description(kind: str, report) -> str:
    """'CardioTrace SR 2026-11-27 23:50:41 signed, amends 23:50:12': which results, when, signed or preliminary,
    and whether they amend earlier ones, named by the time their own description gives (to the second: two sends
    of one minute are told apart). Within DICOM's 64 characters an earlier day is named by its date, without its
    year where the whole would not fit ('amends 11-26')."""
    text = f"CardioTrace {kind} {report.made} {'signed' if report.signed else 'preliminary'}".replace("  ", " ")
    if not report.amends:
        return text[:DESCRIPTION_CHARS]
    day, _, time = report.amends.partition(" ")
    if day == report.made[:10]:
        return f"{text}, amends {time}"[:DESCRIPTION_CHARS]
    dated = f"{text}, amends {day}"
    return dated if len(dated) <= DESCRIPTION_CHARS else f"{text}, amends {day[5:]}"[:DESCRIPTION_CHARS]


_NAME_PREFIXES = {"dr", "prof", "mr", "mrs", "ms", "mx", "pr", "doc"}
_NAME_SUFFIXES = {"md", "phd", "jr", "sr", "frcp", "facc", "fesc", "mbbs", "do", "rdcs", "ii", "iii"}


def person_name(text: str) -> str:
    """A typed name as a DICOM PN (Family^Given^Middle^Prefix^Suffix): 'Jane Smith' -> 'Smith^Jane', 'Dr Jane
    Smith MD' -> 'Smith^Jane^^Dr^MD' (a title is no given name); a name already in PN form is kept."""
    text = " ".join(text.split())
    if "^" in text:
        return text[:64]
    words = text.split(" ")
    prefix = [w for w in words[:-1] if w.lower().rstrip(".") in _NAME_PREFIXES][:1]
    words = words[len(prefix):] if prefix and words[0] == prefix[0] else words
    suffix: list[str] = []
    while len(words) > 1 and words[-1].lower().rstrip(".").replace(".", "") in _NAME_SUFFIXES:
        suffix.insert(0, words.pop())
    family, given = (words[-1], " ".join(words[:-1])) if words else ("", "")
    parts = [family, given, "", " ".join(prefix), " ".join(suffix)]
    while len(parts) > 1 and not parts[-1]:
        parts.pop()
    return ("^".join(parts) if len(parts) > 1 else f"{family}^")[:64]


def _predecessor(sent):
    from pydicom import Dataset

    ds = Dataset()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = sent.study_uid, sent.series_uid
    ds.SOPClassUID, ds.SOPInstanceUID = sent.sop_class_uid, sent.sop_instance_uid
    return ds


def numeric_values(sr) -> dict[str, list[float]]:
    """Read back: concept code value -> the numeric values of every measurement with that code."""
    found: dict[str, list[float]] = {}

    def walk(items):
        for item in items:
            if item.get("ValueType") == "NUM" and "MeasuredValueSequence" in item:
                code = item.ConceptNameCodeSequence[0].CodeValue
                found.setdefault(str(code), []).append(float(item.MeasuredValueSequence[0].NumericValue))
            if "ContentSequence" in item:
                walk(item.ContentSequence)

    walk(sr.ContentSequence)
    return found
