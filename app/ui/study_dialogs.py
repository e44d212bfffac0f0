"""Study-level dialogs: the patient's height, weight and sex (indexed values and sex-specific ranges follow),
and Help > About (version, shipped models with their validation headline, research-use note)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QVBoxLayout

from app.data.recording import HEIGHT_RANGE_CM, WEIGHT_RANGE_KG

SEXES = (("unknown", ""), ("female", "F"), ("male", "M"))
RESEARCH_NOTE = ("For research use only. Not a medical device: every value must be checked by a qualified reader "
                 "before it is used for a patient.")


class PatientDialog(QDialog):
    """Height (cm), weight (kg) and sex; `values()` -> (height_cm | None, weight_kg | None, 'M' | 'F' | '')."""

    def __init__(self, parent, height_cm: float | None, weight_kg: float | None, sex: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Patient: height, weight and sex")
        form = QFormLayout()
        self.height_box = _size_box(HEIGHT_RANGE_CM, " cm", 0, height_cm)
        self.weight = _size_box(WEIGHT_RANGE_KG, " kg", 1, weight_kg)
        self.sex = QComboBox()
        for label, code in SEXES:
            self.sex.addItem(label, code)
        self.sex.setCurrentIndex(max(self.sex.findData((sex or "").upper()[:1]), 0))
        form.addRow("Height", self.height_box)
        form.addRow("Weight", self.weight)
        form.addRow("Sex", self.sex)
        note = QLabel("Height and weight give the body surface area (Mosteller) and the indexed values; the sex "
                      "selects the normal ranges. They apply to every recording of this study.")
        note.setWordWrap(True)
        note.setStyleSheet("color: gray")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def values(self) -> tuple[float | None, float | None, str]:
        return _box_value(self.height_box), _box_value(self.weight), self.sex.currentData()


def _size_box(rng: tuple[float, float], unit: str, decimals: int, value: float | None) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(rng[0] - 1.0, rng[1])  # one below the plausible range reads "unknown"
    box.setDecimals(decimals)
    box.setSuffix(unit)
    box.setSpecialValueText("unknown")
    box.setValue(box.minimum() if value is None else float(value))
    return box


def _box_value(box: QDoubleSpinBox) -> float | None:
    return None if box.value() <= box.minimum() else float(box.value())


def ask_patient_details(parent, height_cm, weight_kg, sex) -> tuple[float | None, float | None, str] | None:
    """The values typed in, or None when cancelled."""
    dialog = PatientDialog(parent, height_cm, weight_kg, sex)
    return dialog.values() if dialog.exec() == QDialog.DialogCode.Accepted else None


def about_html() -> str:
    """The About text: version, each installed model (what it does, version, validation headline), the note."""
    from app import __version__
    from app.report.models_info import headline_figures, installed_models

    figures = headline_figures()
    rows = []
    for model in installed_models():
        folder = model.name
        line = f"<b>{folder}</b> (version {model.version}): {model.detail}"
        if folder in figures:
            line += f"<br><span style='color:gray'>validation: {figures[folder]}</span>"
        rows.append(f"<li>{line}</li>")
    models = f"<ul>{''.join(rows)}</ul>" if rows else "<p>No models installed.</p>"
    return (f"<h3>CardioTrace {__version__}</h3><p>Echocardiography and cine MRI: LV and RV outlines, ED/ES, "
            f"volumes, EF, mass and strain.</p><p><b>Models</b></p>{models}<p><b>{RESEARCH_NOTE}</b></p>")


class AboutDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About CardioTrace")
        self.text = QLabel(about_html())
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setMinimumWidth(560)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
