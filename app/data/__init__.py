"""Data layer: recording model, readers, writers and the synthetic phantom. No Qt, no torch."""

from app.data.errors import LoadError
from app.data.recording import APICAL_VIEWS, VIEWS, PatientInfo, Recording, SeriesInfo

__all__ = ["LoadError", "PatientInfo", "Recording", "SeriesInfo", "VIEWS", "APICAL_VIEWS"]
