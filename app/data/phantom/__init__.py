"""Synthetic beating left heart with exact ground truth (echo apical views and cine MRI SAX stacks).

    from app.data.phantom import EchoPhantomParams, HeartParams, make_echo
    case = make_echo(EchoPhantomParams(heart=HeartParams(edv_ml=120, esv_ml=50), view="a4c"), seed=1)
    case.recording   # app.data.Recording, frames (T, H, W) uint8
    case.truth       # PhantomTruth: labels, ed/es frames, volume_ml, displacement_px, gls_pct, ...
"""

from __future__ import annotations

from app.data.phantom.case import PhantomCase
from app.data.phantom.echo import iter_make_echo, make_echo
from app.data.phantom.mri import iter_make_mri, make_mri
from app.data.phantom.params import QUALITIES, EchoPhantomParams, HeartParams, MriPhantomParams
from app.data.phantom.segments import AHA_SEGMENTS, view_segment_names
from app.data.phantom.truth import PhantomTruth, load_truth, save_truth, strain_curves, truth_paths

__all__ = [
    "AHA_SEGMENTS", "EchoPhantomParams", "HeartParams", "MriPhantomParams", "PhantomCase", "PhantomTruth",
    "QUALITIES", "iter_make_echo", "iter_make_mri", "load_truth", "make_echo", "make_mri", "save_truth",
    "strain_curves", "truth_paths", "view_segment_names",
]
