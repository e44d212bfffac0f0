"""Small dialogs: errors, series choice, calibration length, unsaved state on close, re-analysis.

Everything modal goes through these functions so tests can monkeypatch QMessageBox / QInputDialog.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
)


def show_error(parent, title: str, text: str) -> None:
    QMessageBox.critical(parent, title, text)


def show_warning(parent, title: str, text: str) -> None:
    QMessageBox.warning(parent, title, text)


def ask_length_mm(parent, length_px: float) -> float | None:
    """The true length of the line just drawn, in mm (None when cancelled)."""
    value, ok = QInputDialog.getDouble(
        parent, "Calibrate", f"The line is {length_px:.1f} pixels long.\nIts true length in mm:", 10.0, 0.1, 1000.0, 2
    )
    return float(value) if ok else None


def ask_unsaved(parent, detail: str) -> str:
    """'retry', 'discard' or 'cancel' when the study (its analyses, and any edits) could not be saved before
    closing: a study never edited loses its analysis results, which is what the words say then too."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved work",
                      "The study could not be saved:\n" + detail + "\n\nClose anyway and lose what was not saved "
                      "(analysis results and any corrections)?", parent=parent)
    retry = box.addButton("Try again", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Close without saving", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    clicked = box.clickedButton()
    return "retry" if clicked is retry else "discard" if clicked is discard else "cancel"


def ask_reanalyze(parent, detail: str) -> str:
    """'keep', 'discard' or 'cancel' before re-analyzing a recording with corrections made by hand."""
    box = QMessageBox(QMessageBox.Icon.Question, "Re-analyze a corrected recording",
                      f"This recording has corrections made by hand ({detail}).\n\nKeep them and re-analyze "
                      "the rest, or let the analysis replace them? Either can be undone (Ctrl+Z).", parent=parent)
    keep = box.addButton("Keep my corrections", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Replace them", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(keep)
    box.exec()
    clicked = box.clickedButton()
    return "keep" if clicked is keep else "discard" if clicked is discard else "cancel"


def ask_join_study(parent, new: str, study: str) -> str:
    """'join', 'separate' or 'cancel' for a recording whose patient cannot be told (no ID, name or UID)."""
    box = QMessageBox(QMessageBox.Icon.Question, "Which patient?",
                      f"{new} carries no patient identity, so it cannot be checked against this study "
                      f"({study}).\n\nAdd it to this study only if it is the same patient and exam.", parent=parent)
    join = box.addButton("Add to this study", QMessageBox.ButtonRole.AcceptRole)
    separate = box.addButton("Open as a separate study", QMessageBox.ButtonRole.RejectRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(separate)
    box.exec()
    clicked = box.clickedButton()
    return "join" if clicked is join else "separate" if clicked is separate else "cancel"


class ConclusionDialog(QDialog):
    """The report's conclusion (several lines) and the reviewer's name."""

    def __init__(self, parent, conclusion: str, reviewer: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Comment / Conclusion")
        self.text = QPlainTextEdit(conclusion)
        self.text.setPlaceholderText("e.g. Normal LV size and systolic function.")
        self.reviewer = QLineEdit(reviewer)
        self.reviewer.setPlaceholderText("name printed beside the signature line")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(QLabel("Conclusion, printed on page 1 of the report:"))
        form.addRow(self.text)
        form.addRow("Reviewed by", self.reviewer)
        form.addRow(buttons)
        self.resize(520, 300)


def edit_conclusion(parent, conclusion: str, reviewer: str) -> tuple[str, str] | None:
    """(conclusion, reviewer) as typed, or None when cancelled."""
    dialog = ConclusionDialog(parent, conclusion, reviewer)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.text.toPlainText(), dialog.reviewer.text()


class SeriesDialog(QDialog):
    """Pick one or more series of a folder (several views of one study, or one MR stack)."""

    def __init__(self, parent, series) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose series")
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        for info in series:
            shape = "×".join(str(v) for v in info.shape)
            item = QListWidgetItem(
                f"{info.description or info.key}  —  {info.modality}, {info.n_frames} frames, {shape}"
            )
            item.setData(256, info.key)
            self.list.addItem(item)
        if self.list.count():
            self.list.item(0).setSelected(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("This folder holds several series. Open:"))
        layout.addWidget(self.list)
        layout.addWidget(buttons)

    def keys(self) -> list[str]:
        return [item.data(256) for item in self.list.selectedItems()]


def choose_series(parent, series) -> list[str]:
    dialog = SeriesDialog(parent, series)
    return dialog.keys() if dialog.exec() == QDialog.DialogCode.Accepted else []
