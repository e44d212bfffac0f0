"""Draws the CardioTrace icon (a ventricle contour on a dark disc): `python resources/icons/make_icon.py`."""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = 256
HERE = Path(__file__).resolve().parent


def ventricle_outline(cx: float, cy: float, scale: float, n: int = 120) -> list[tuple[float, float]]:
    """A bullet-shaped LV outline: apex at the top, mitral plane at the bottom (echo apical view)."""
    t = np.linspace(0, np.pi, n)
    x = cx + scale * 0.55 * np.sin(t) * np.where(t < np.pi / 2, 1, 1)
    y = cy - scale * np.cos(t)
    left = list(zip(cx - (x - cx), y))
    right = list(zip(x, y))
    return right + left[::-1]


def main() -> None:
    img = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((8, 8, SIZE - 8, SIZE - 8), fill=(22, 27, 34, 255), outline=(90, 200, 250, 255), width=6)
    draw.polygon(ventricle_outline(128, 128, 78), outline=(255, 80, 80, 255), width=10)
    draw.polygon(ventricle_outline(128, 132, 56), outline=(80, 230, 120, 255), width=8)
    draw.line((60, 206, 196, 206), fill=(255, 210, 70, 255), width=6)
    img.save(HERE / "cardiotrace.png")
    img.save(HERE / "cardiotrace.ico", sizes=[(256, 256), (64, 64), (32, 32), (16, 16)])


if __name__ == "__main__":
    main()
