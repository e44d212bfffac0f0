"""A voxel spacing nobody set: a NIfTI or MetaImage header holding the writer's default is no calibration.

What writers store when the spacing was never set (checked on their files):
- SimpleITK / ITK (ITK-SNAP, our own lab and app writers): pixdim 1 with xyzt_units 10 (mm, s) and qform_code =
  sform_code = 1, whatever the spacing: nothing in the header tells the default from a measured 1 mm. ACDC
  patient061's short-axis stack written so read as 1 x 1 x 1 mm, calibrated: LV EDV 7 ml instead of about 140.
- nibabel with no affine: pixdim 1, xyzt_units 0 (unknown), qform_code = sform_code = 0; with the identity:
  the same but sform_code 2. A MetaImage written without ElementSpacing reads ElementSpacing 1.
Rules, in order (reason):
(a) what the header says: pixdim 1 in no stated spatial unit, or pixdim 1 with neither a qform nor an sform
    (nothing sizes or places the voxels);
(b) failing that (an ITK header), every spatial spacing exactly 1.0 where it is implausible:
    - the time axis' step is its default 1 too (a 2D+t clip, a 4D cine): every pixdim is the default, and a
      1 s frame step is no frame interval either;
    - a stack of 2 to MAX_DEFAULT_SLICES slices: short-axis cine slices are 5-10 mm apart, and 1 mm slices
      spanning under 40 mm cannot cover a ventricle from base to apex (an adult LV is 80-90 mm long), while a
      real 1 mm isotropic volume covers the heart in 60 slices or more and keeps its calibration.
A single frame with 1 mm pixels is left calibrated: nothing there tells a default from a measurement.
The spacing as SimpleITK reads it (a pixdim of 0 reads 1: the NIfTI reader's NO_PIXDIM_NOTE, checked before).
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_DEFAULT_SLICES = 39  # 1 mm slices spanning under 40 mm: no ventricle fits (see the module's doc)


def _all_one(values: Sequence[float]) -> bool:
    return all(abs(float(v) - 1.0) < 1e-9 for v in values)


def reason(spacing: Sequence[float], *, n_spatial: int, has_time: bool, n_slices: int, metaimage: bool,
           units_known: bool, placed: bool) -> str:
    """Why the header's spacing is the unset default, or "" when it stands. spacing: SimpleITK's, file axis order;
    n_spatial: its spatial axes as read (2 for a frame or a 2D+t clip, 3 for a stack); has_time: the next axis is
    time (a clip, a 4D cine); n_slices: a stack's slices (1 otherwise); units_known: the NIfTI header names a
    spatial unit; placed: its qform_code or sform_code is set."""
    spatial = tuple(spacing[:n_spatial])
    ones = " x ".join("1" * len(spatial))
    if metaimage:  # the in-plane pair decides, as it always has for MetaImage
        written = " ".join(f"{float(s):g}" for s in spacing)
        return f"ElementSpacing {written}: 1 x 1 pixels, the default when none is written" if _all_one(
            spacing[:2]) else ""
    if not _all_one(spatial):
        return ""
    if not units_known:
        return f"pixdim {ones}, the default, in no stated unit"
    if not placed:
        return f"pixdim {ones}, the default, with neither a qform nor an sform"
    if has_time and len(spacing) > n_spatial and _all_one(spacing[n_spatial:n_spatial + 1]):
        return f"every pixdim 1, the writer's default: {ones} mm voxels and a 1 s frame step"
    if n_spatial == 3 and 2 <= n_slices <= MAX_DEFAULT_SLICES:
        return f"{ones} mm, the writer's default: short-axis cine slices are 5-10 mm apart, not 1"
    return ""


def note(why: str, stack: bool) -> str:
    """The reader note for an unset spacing (why: reason's text; stack: a calibrated length gives no slice spacing,
    so only the file's spacing mends a stack)."""
    mend = "" if stack else " (or calibrate a known length)"
    return (f"the header holds no voxel spacing ({why}): read as uncalibrated, so volumes and mass are not "
            f"computed; write the file with its voxel spacing in mm{mend}")
