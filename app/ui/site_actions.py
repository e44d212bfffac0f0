"""Analysis ▸ Use this site's echo model: the user's switch between the site's fine-tuned echo U-Net and the
shipped one (app/ml/site_model.py). The switch is kept in the site folder and read when an analysis starts, so
it applies from the next analysis; the contours on screen keep naming the model that drew them."""

from __future__ import annotations

from PySide6.QtGui import QAction

from app.ml.site_model import SiteModel, set_in_use, site_model

MODEL = "echo_seg_base"  # the shipped model the viewer's echo analysis runs (app.workflow.segment_step)
NO_SITE_TIP = ("No site model yet: one is made from this site's corrected studies (python -m app adapt echo-seg) "
               "and offered here once it beats the shipped model on the site's held-out patients.")


def site_tooltip(model: SiteModel | None) -> str:
    """What the switch chooses between, and the check the site model passed."""
    if model is None:
        return NO_SITE_TIP
    return (f"Segment echo with the {model.label}: the shipped U-Net fine-tuned on {model.studies} corrected "
            f"studies of {model.patients} patients of this site. On {model.heldout_patients} held-out patients it "
            f"scored a mean Dice of {model.dice_site:.3f} (shipped model {model.dice_shipped:.3f}). "
            "Unchecked: the shipped model. Applies to the next analysis.")


class SiteModelAction:
    """The checkable action in `menu`; it re-reads the site folder each time the menu opens (a model adapted,
    or switched in another window, meanwhile): a small JSON file, no network loaded."""

    def __init__(self, window, menu) -> None:
        self.window = window
        self.action = QAction("Use this site's echo &model", window)
        self.action.setCheckable(True)
        self.action.triggered.connect(self.toggle)
        menu.addAction(self.action)
        menu.aboutToShow.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        model = site_model(MODEL)
        self.action.setEnabled(model is not None)
        self.action.setChecked(model is not None and model.in_use)
        self.action.setToolTip(site_tooltip(model))

    def toggle(self) -> None:
        """Called after Qt flipped the check mark: remember the choice for the next analysis and say so."""
        on = self.action.isChecked()
        try:
            set_in_use(MODEL, on)
        except OSError as exc:
            self.refresh()  # the check mark shows the switch as it still is
            self.window.statusBar().showMessage(f"The model choice could not be saved: {exc}", 8000)
            return
        model = site_model(MODEL)
        chosen = model.label if on and model is not None else "shipped echo model"
        self.window.statusBar().showMessage(f"The next echo analysis uses the {chosen}: re-analyse (Ctrl+R) to apply",
                                            8000)
