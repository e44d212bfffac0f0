"""Measurements on masks, contours and curves (numpy/scipy only). No Qt, no torch."""
