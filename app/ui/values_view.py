"""The values of the recording shown: the measurements panel, the LV and strain curves and the beat table,
read from the study state (app/workflow/study.py) after every re-measurement, and the first values of a
running analysis before its strain."""

from __future__ import annotations

from app.data.recording import view_title
from app.ui.curves_panel import curve_title
from app.ui.measurements_panel import contours_text, edes_source_text, measurement_scope
from app.ui.timeline import edit_marks
from app.workflow.analyze import refusal
from app.workflow.indexed import indexed_values
from app.workflow.strain_step import strain_error_now
from app.workflow.view_step import view_note


class ValuesView:
    def __init__(self, window) -> None:
        self.window = window

    def measured(self, index: int, analysis) -> None:
        """The running analysis has measured (its strain still to come): show the values and the curve now,
        on a recording that has none yet (a re-analysis keeps showing the current ones until it ends)."""
        w = self.window
        if index != w.index or w.state.measurements is not None:
            return
        m, rec = analysis.measurements, analysis.recording
        w.curves.show_measurements(rec.n_frames, m, m.ed_frames, m.es_frames, analysis.flagged_frames,
                                   curve_title(rec, w.slice_index))
        scope = " · ".join(x for x in (view_title(rec.view), w.state.name) if x)
        w.measurements.set_scope(f"{scope} (analyzing)")
        w.measurements.show_measurements(m, rec.patient.sex, modality=rec.modality, view=rec.view,
                                         strain_note="strain still running")

    def refresh(self) -> None:
        w = self.window
        st = w.state
        if st is None:
            return
        index = w.index
        assert index is not None  # the state shown is the index's
        strain = st.strain
        w.curves.show_measurements(st.recording.n_frames, st.measurements, st.ed_frames, st.es_frames,
                                   st.flagged_frames, curve_title(st.recording, w.slice_index),
                                   edit_marks(st, w.slice_index))
        if w.curves.strain_source is not strain:  # re-plot only when the strain result changes
            w.curves.show_strain(strain)
        w.curves.set_frame(w.cine.frame)
        w.cine.set_frame_flags(st.measurements.quality if st.measurements is not None else ())
        rec = st.recording
        patient = rec.patient  # typed or from the file
        w.tools.show_body_size(patient.height_cm, patient.weight_kg, patient.sex)
        source = edes_source_text(getattr(st.analysis, "ed_es_method", ""), getattr(st.analysis, "ed_es_fallback", ""),
                                  st.edes_edited)
        biplane = w.study.biplane_for(index)
        la = w.study.la  # biplane, or single-plane on the view it comes from
        la = la if la is not None and (biplane is not None or rec.view in la.views) else None
        w.measurements.set_scope(measurement_scope(st, biplane is not None))
        shown = biplane if biplane is not None and not rec.is_stack else st.measurements  # what the rows show
        w.measurements.show_measurements(st.measurements, rec.patient.sex, strain, st.measure_error,
                                         None if rec.is_stack else biplane, rec.modality, source,
                                         view_note(st.analysis), indexed_values(shown, rec.patient), la,
                                         view=rec.view, study_gls=w.study.gls,
                                         strain_note=self.strain_note(index, strain),
                                         contour_source=contours_text(getattr(st.analysis, "segmenter", ""),
                                                                      bool(st.edited_keys)),
                                         refused=refusal(rec))
        w.stack.refresh()  # the per-slice table and strip follow every re-measurement (include/exclude, undo)
        w.beats.show_measurements(None if rec.is_stack else st.measurements, rec.view)
        w.beats.setVisible(bool(w.beats.rows))
        w.edits.show_spreading()  # (the recording shown may have changed)

    def strain_note(self, index: int, strain) -> str:
        """What the GLS shown is (re-tracked), or why there is none (a view with no strain)."""
        w = self.window
        st = w.study[index]
        no_strain = strain_error_now(st.analysis, st.recording) if strain is None and st.analysis else ""
        return w.edits.retrack.note(index) or (f"no strain: {no_strain}" if no_strain else "")
