"""What the demo draws: built-in photos, the downscaled view, brush strokes stamped into the mask, PNG bytes."""
from __future__ import annotations

import math

import numpy as np

from gdn.data import photo
from gdn.imageio import encode, load_rgb8, read_image, to_rgb8

__all__ = ["BUILTIN_PHOTOS", "HOLE_RGB", "builtin_photo", "as_rgb8", "decode_upload", "png_bytes", "resize_view",
           "view_shape", "stamp_segment"]

# RGB photos bundled in the scikit-image wheel (no download, no pooch); retina (1411 px) exercises the working scale
BUILTIN_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field",
                  "colorwheel", "retina")
HOLE_RGB = np.array([255, 32, 32], np.float32)  # tint of the hole on the canvas


def builtin_photo(name: str) -> np.ndarray:
    """A photo bundled with scikit-image as a writable (H,W,3) uint8."""
    if name not in BUILTIN_PHOTOS:
        raise ValueError(f"unknown built-in photo {name!r}; choose one of {', '.join(BUILTIN_PHOTOS)}")
    return np.array(photo(name))


def as_rgb8(image) -> np.ndarray:
    """Any image the package reads (array of any dtype and channels, PIL image, path) as (H,W,3) uint8."""
    return to_rgb8(read_image(image, "photo"))


def decode_upload(content: bytes, name: str = "upload") -> np.ndarray:
    """Bytes of an uploaded image file -> (H,W,3) uint8, upright (EXIF orientation applied)."""
    return load_rgb8(bytes(content), name)


def png_bytes(a: np.ndarray) -> bytes:
    """(H,W,3) uint8 as the bytes of a PNG file (what the image widgets show)."""
    return encode(a, 255.0, ".png")


def resize_view(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H,W,3) uint8 -> (h,w,3) uint8 (area-like downscaling), ``size`` = (h, w)."""
    from PIL import Image

    if a.shape[:2] == tuple(size):
        return a
    return np.asarray(Image.fromarray(a).resize((size[1], size[0]), Image.Resampling.LANCZOS))


def view_shape(h: int, w: int, view_max: int) -> tuple[int, int]:
    """The canvas size of an h x w photo: the longer side at most ``view_max``, aspect kept, never upscaled."""
    s = min(1.0, view_max / max(h, w))
    return max(1, round(h * s)), max(1, round(w * s))


def stamp_segment(mask: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], radius: float,
                  value: bool = True) -> tuple[int, int, int, int] | None:
    """Set every pixel of ``mask`` ((H,W) bool) whose centre lies within ``radius`` of the segment p0-p1
    (points as (x, y) in pixel coordinates) to ``value``; returns the touched box (y0, y1, x0, x1) or None."""
    H, W = mask.shape
    r = max(float(radius), 0.5)
    (x0, y0), (x1, y1) = p0, p1
    xa, xb = max(math.floor(min(x0, x1) - r), 0), min(math.ceil(max(x0, x1) + r) + 1, W)
    ya, yb = max(math.floor(min(y0, y1) - r), 0), min(math.ceil(max(y0, y1) + r) + 1, H)
    if xa >= xb or ya >= yb:
        return None
    xx = np.arange(xa, xb, dtype=np.float32)[None, :]
    yy = np.arange(ya, yb, dtype=np.float32)[:, None]
    dx, dy = np.float32(x1 - x0), np.float32(y1 - y0)
    n2 = dx * dx + dy * dy
    if n2 > 0:
        t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / n2, 0, 1)
        d2 = (xx - (x0 + t * dx)) ** 2 + (yy - (y0 + t * dy)) ** 2
    else:
        d2 = (xx - x0) ** 2 + (yy - y0) ** 2
    sel = d2 <= r * r
    mask[ya:yb, xa:xb][sel] = value
    return ya, yb, xa, xb
