"""Whether a short-axis label map given by the user follows our convention (1 LV cavity, 2 myocardium, 3 RV) or has
the LV and RV the other way round, as ACDC's own `_gt` files have them (1 RV, 2 myocardium, 3 LV).

On a short-axis slice the LV cavity is ringed by myocardium: every pixel on its border touches label 2 (ACDC's
expert labels, 80 patients: 100 %). The RV meets the myocardium only along the septum (19-38 % of its border). A
label 3 ringed by myocardium beside a label 1 that is not is an LV and an RV swapped, which would give the RV's
volumes as the LV's and a mass from the wrong wall, silently.
"""

from __future__ import annotations

import numpy as np

LV, MYOCARDIUM, RV = 1, 2, 3
RINGED = 0.8  # of a cavity's border touching myocardium: the LV's (measured 1.0)
NOT_RINGED = 0.6  # the RV's (measured 0.19-0.38)


def myocardium_share_of_border(labels: np.ndarray, label: int) -> float | None:
    """The share of `label`'s border pixels (4-neighbourhood) that touch myocardium, over every image of a
    (..., H, W) label map; None where the label is absent."""
    images = np.asarray(labels).reshape(-1, *np.shape(labels)[-2:])
    border = touching = 0
    for image in images:
        inside = image == label
        if not inside.any():
            continue
        padded = np.pad(image, 1)
        neighbours = (padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:])
        border += int((inside & np.any([n != label for n in neighbours], axis=0)).sum())
        touching += int((inside & np.any([n == MYOCARDIUM for n in neighbours], axis=0)).sum())
    return touching / border if border else None


def lv_and_rv_swapped(labels: np.ndarray) -> tuple[float, float] | None:
    """(label 1's, label 3's myocardium share of border) when label 3 is ringed by myocardium and label 1 is not:
    the map has the LV as 3 and the RV as 1; None otherwise (either label absent, or ours)."""
    share_1 = myocardium_share_of_border(labels, LV)
    share_3 = myocardium_share_of_border(labels, RV)
    if share_1 is None or share_3 is None or not (share_3 >= RINGED and share_1 <= NOT_RINGED):
        return None
    return share_1, share_3
