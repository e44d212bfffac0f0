"""The colours of ED/ES marks and contours, shared by the viewer (app/ui) and the PDF report, so a
reader sees the same colour for the same thing in both. RGB 0-255."""

from __future__ import annotations

ED_RGB = (230, 60, 60)
ES_RGB = (70, 140, 255)
CONTOUR_RGB = {"endo": (255, 214, 0), "epi": (70, 230, 110), "la": (0, 190, 255), "rv": (200, 90, 255)}
CONTOUR_NAMES = {"endo": "LV endocardium", "epi": "epicardium", "la": "left atrium", "rv": "right ventricle"}


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)
