"""Left panel: the study's recordings and slice selector. Tools panel: overlays, editing, view label."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.analysis.rubber_band import DEFAULT_RADIUS_MM
from app.data.recording import VIEWS
from app.ui.overlays import LAYERS

KIND_LABELS = {"endo": "Endocardium", "epi": "Epicardium", "la": "Left atrium", "rv": "Right ventricle (MRI)"}
ECHO_ONLY_LAYERS = ("la", "axis", "strain")  # long-axis echo overlays: hidden on cine MRI
MRI_ONLY = ("rv",)  # the RV border comes from short-axis MRI only
MODE_LABELS = {"edit": "Drag points", "redraw": "Redraw contour", "calibrate": "Calibrate (draw a line)"}


class WheelOnlyWhenFocused(QObject):
    """The mouse wheel passing over a spin box or list box of a panel scrolls the panel: it changes the value
    (the drag radius, the view) only once the user has clicked into the field."""

    def __init__(self, panel: QWidget) -> None:
        super().__init__(panel)
        for field in panel.findChildren(QAbstractSpinBox) + panel.findChildren(QComboBox):
            field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            field.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            event.ignore()
            return True
        return False


class RecordingsPanel(QWidget):
    """recording_selected(index), slice_changed(index)."""

    recording_selected = Signal(int)
    slice_changed = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.currentRowChanged.connect(self.recording_selected)
        self.slice = QSpinBox()
        self.slice.setToolTip("Short-axis slice (base = 1)")
        self.slice.valueChanged.connect(lambda v: self.slice_changed.emit(v - 1))
        self.slice_label = QLabel("Slice")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Recordings in this study"))
        layout.addWidget(self.list, 1)
        layout.addWidget(self.slice_label)
        layout.addWidget(self.slice)
        self.set_slices(1)

    def set_slices(self, n_slices: int, current: int = 0) -> None:
        self.slice.blockSignals(True)
        self.slice.setRange(1, max(n_slices, 1))
        self.slice.setValue(current + 1)
        self.slice.blockSignals(False)
        for w in (self.slice, self.slice_label):
            w.setVisible(n_slices > 1)

    def set_item_text(self, index: int, text: str) -> None:
        if index >= self.list.count():
            self.list.addItem(text)
        else:
            self.list.item(index).setText(text)


class ToolsPanel(QWidget):
    """overlay_toggled(name, on), kind_changed(kind), mode_changed(mode), view_chosen(view), analyze(), analyze_all(),
    patient_requested() (the patient dialog: the one place height, weight and sex are typed)."""

    overlay_toggled = Signal(str, bool)
    kind_changed = Signal(str)
    mode_changed = Signal(str)
    view_chosen = Signal(str)
    patient_requested = Signal()
    analyze = Signal()
    analyze_all = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.analyze_button = QPushButton("Analyze recording")
        self.analyze_button.setToolTip("Segment every frame, find ED/ES, measure volumes and EF (Ctrl+R)")
        self.analyze_button.clicked.connect(self.analyze)
        self.analyze_all_button = QPushButton("Analyze all recordings")
        self.analyze_all_button.setToolTip("Analyze every recording of the study, one after another (Ctrl+Shift+R)")
        self.analyze_all_button.clicked.connect(self.analyze_all)
        overlays = QGroupBox("Overlays")
        ov = QVBoxLayout(overlays)
        self.overlay_boxes = {}
        for name, (label, colour) in LAYERS.items():
            box = QCheckBox(label)
            box.setChecked(True)
            box.setStyleSheet(f"color: rgb{colour}")
            box.toggled.connect(lambda on, n=name: self.overlay_toggled.emit(n, on))
            ov.addWidget(box)
            self.overlay_boxes[name] = box
        editing = QGroupBox("Corrections")
        form = QFormLayout(editing)
        self.kind = QComboBox()
        for kind, label in KIND_LABELS.items():
            self.kind.addItem(label, kind)
        self.kind.currentIndexChanged.connect(lambda i: self.kind_changed.emit(self.kind.itemData(i)))
        form.addRow("Contour", self.kind)
        self.mode_group = QButtonGroup(self)
        self.mode_buttons = {}
        for i, (mode, label) in enumerate(MODE_LABELS.items()):
            button = QRadioButton(label)
            button.setChecked(mode == "edit")
            self.mode_group.addButton(button, i)
            self.mode_buttons[mode] = button
            form.addRow(button)
        self.mode_group.idClicked.connect(lambda i: self.mode_changed.emit(list(MODE_LABELS)[i]))
        self.drag_radius = QDoubleSpinBox()
        self.drag_radius.setRange(0.0, 40.0)
        self.drag_radius.setDecimals(0)
        self.drag_radius.setSuffix(" mm")
        self.drag_radius.setValue(DEFAULT_RADIUS_MM)
        self.drag_radius.setToolTip("A dragged point pulls its neighbours within this distance along the contour, "
                                    "less the farther they are (0: the point alone)")
        form.addRow("Drag radius", self.drag_radius)
        self.propagate = QSpinBox()
        self.propagate.setRange(0, 20)
        self.propagate.setValue(3)
        self.propagate.setToolTip("Carry a correction along the motion to this many frames on each side, "
                                  "blended to nothing at the ends (0: this frame only)")
        form.addRow("Propagate ± frames", self.propagate)
        self.propagate_to_marks = QCheckBox("Propagate to the neighbouring ED / ES")
        self.propagate_to_marks.setToolTip("Carry a correction to every frame up to the ED / ES marks around it")
        self.propagate_to_marks.toggled.connect(lambda on: self.propagate.setEnabled(not on))
        form.addRow(self.propagate_to_marks)
        self.frame_status = QLabel("")
        self.frame_status.setStyleSheet("color: rgb(255, 200, 120)")
        form.addRow(self.frame_status)
        editing.setToolTip("Drag a control point to move it; double-click a contour to add a point; "
                           "Ctrl+click (or right-click) a point to remove it; E / S move the ED / ES mark of "
                           "the current beat to this frame (again on a mark: remove it); Ctrl+Left / Ctrl+Right "
                           "jump to the previous / next mark; Home / End, PgUp / PgDn move through the frames; "
                           "Ctrl+Z undoes.")
        hint = QLabel("Dbl-click: add point · Ctrl+click: remove\nE / S: beat's ED / ES here · Ctrl+Z: undo")
        hint.setStyleSheet("color: gray")
        form.addRow(hint)
        self.view = QComboBox()
        self.view.addItems(list(VIEWS))
        self.view.activated.connect(lambda i: self.view_chosen.emit(self.view.itemText(i)))
        form.addRow("View label", self.view)
        self.body_size = QLabel("")
        self.body_size.setWordWrap(True)
        self.patient_button = QPushButton("Height, weight, sex…")
        self.patient_button.setToolTip("Type the patient's height, weight and sex for the whole study (Ctrl+I): "
                                       "indexed values and sex-specific ranges follow")
        self.patient_button.clicked.connect(self.patient_requested)
        form.addRow("Patient", self.body_size)
        form.addRow(self.patient_button)
        self.show_body_size(None, None)
        layout = QVBoxLayout(self)
        layout.addWidget(self.analyze_button)
        layout.addWidget(self.analyze_all_button)
        layout.addWidget(overlays)
        layout.addWidget(editing)
        layout.addStretch(1)
        self.wheel_guard = WheelOnlyWhenFocused(self)

    def set_mode(self, mode: str) -> None:
        self.mode_buttons[mode].setChecked(True)
        self.mode_changed.emit(mode)

    def show_body_size(self, height_cm: float | None, weight_kg: float | None, sex: str = "") -> None:
        """Show the study's height/weight/sex (typed in the patient dialog or from the file); read-only here."""
        size = (f"{height_cm:.0f} cm, {weight_kg:.1f} kg" if height_cm is not None and weight_kg is not None
                else "height / weight unknown: no indexed values")
        self.body_size.setText(size + {"M": ", male", "F": ", female"}.get(sex, ""))

    def show_view(self, view: str) -> None:
        self.view.setCurrentText(view)

    def show_modality(self, modality: str) -> None:
        """Offer the overlays and contour kinds of the modality (no LA, long axis or strain on MRI; no RV on echo)."""
        hidden = ECHO_ONLY_LAYERS if modality == "mri" else MRI_ONLY
        for name, box in self.overlay_boxes.items():
            box.setVisible(name not in hidden)
        if getattr(self, "_kinds_for", None) == modality:
            return
        self._kinds_for = modality
        current = self.kind.currentData()
        self.kind.blockSignals(True)
        self.kind.clear()
        for kind, label in KIND_LABELS.items():
            if kind not in hidden:
                self.kind.addItem(label.replace(" (MRI)", ""), kind)
        index = max(self.kind.findData(current), 0)
        self.kind.setCurrentIndex(index)
        self.kind.blockSignals(False)
        if self.kind.currentData() != current:
            self.kind_changed.emit(self.kind.currentData())
