"""The one image and mask reader (and writer) of the package: files, bytes, PIL images and arrays.

- **Images** are decoded exactly (:class:`Pixels`): ndarray (uint8, uint16, float in [0,1]; (H,W), (H,W,1),
  (H,W,2) gray+alpha, (H,W,3), (H,W,4)), PIL image, path or the bytes of a file. Files are read with Pillow,
  except 16-bit colour PNG/TIFF, which Pillow would truncate to 8 bits, and are then read with OpenCV. A file's
  EXIF orientation is applied (the photo as viewers show it). :func:`load_rgb8` gives the (H,W,3) uint8 RGB the
  datasets train on (alpha composited onto white, the colour of a hole in the corrupted input).
- **Masks**: 1 / True / white = hole (the contract). Files: luminance >= 128 (8-bit) or >= 32768 (16-bit) is
  a hole, so grey JPEG residue is re-binarised rather than rejected; arrays: bool as is, floats and integer
  arrays holding only 0/1 at 0.5, other uint8 at 128, uint16 at 32768. ``invert`` flips the polarity.
- **Writing** (:func:`encode`) keeps the input's layout where the format can: gray stays gray, alpha is kept,
  16-bit stays 16-bit in PNG/TIFF. JPEG re-compresses (lossy, 8-bit, no alpha).

Every failure is one :class:`InputError` (a ``ValueError``) whose message starts with the file's name.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["InputError", "Pixels", "read_image", "read_mask", "load_rgb8", "to_rgb8", "to_rgb01", "quantise",
           "header_problem", "check_output", "encode", "LUMA", "IMAGE_EXTS", "MASK_EXTS"]

IMAGE_EXTS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
MASK_EXTS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
LUMA = (299, 587, 114)  # ITU-R 601 luminance weights x 1000 (Pillow's "L" conversion)


class InputError(ValueError):
    """Bad user input (unreadable file, mismatched mask, empty hole, ...); the message names the file."""


# ----------------------------------------------------------------------------------------------- pixels --

@dataclass
class Pixels:
    """An image exactly as decoded: ``data`` (H,W,C) in the source's dtype, C = 1 gray, 2 gray+alpha, 3 RGB or
    4 RGBA; ``white`` is full intensity (255, 65535 or 1.0). Kept so results can be returned in the same form."""
    data: np.ndarray
    white: float
    name: str = "image"
    squeeze: bool = False  # a 2-D source (gray array or gray file): give (H,W) back
    pil: bool = False  # the caller passed a PIL image: give a PIL image back
    icc_profile: bytes | None = None  # the file's colour profile, copied into the output file

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape[:2]

    @property
    def colour_channels(self) -> int:
        return 1 if self.data.shape[2] <= 2 else 3

    @property
    def has_alpha(self) -> bool:
        return self.data.shape[2] in (2, 4)


def _name(src: Any, default: str) -> str:
    return str(src) if isinstance(src, (str, os.PathLike)) else default


def _int_white(a: np.ndarray, name: str) -> float:
    """Full intensity of an integer array: 255 for uint8-range data, 65535 for uint16-range data."""
    if a.dtype == np.uint8:
        return 255.0
    if a.dtype == np.uint16:
        return 65535.0
    lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
    if lo >= 0 and hi <= 255:
        return 255.0
    if lo >= 0 and hi <= 65535:
        return 65535.0
    raise InputError(f"{name}: integer values {lo}..{hi} fit neither 8 nor 16 bits")


def _from_array(a: np.ndarray, name: str) -> Pixels:
    squeeze = a.ndim == 2
    if squeeze:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4):
        raise InputError(f"{name}: expected an (H,W), (H,W,3) or (H,W,4) array, got shape {tuple(a.shape)}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(f"{name}: the image is empty ({a.shape[1]}x{a.shape[0]})")
    if a.dtype == bool:
        raise InputError(f"{name}: a boolean array is a mask, not an image")
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise InputError(f"{name}: the image holds NaN or infinite values")
        return Pixels(a, 1.0, name, squeeze)
    if np.issubdtype(a.dtype, np.integer):
        return Pixels(a, _int_white(a, name), name, squeeze)
    raise InputError(f"{name}: unsupported pixel type {a.dtype}")


def _pil_array(im) -> np.ndarray:
    """Pillow image -> array in the closest lossless layout (palettes expand, exotic modes become RGB)."""
    mode = im.mode
    if mode == "1":
        return np.asarray(im.convert("L"))
    if mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16)
    if mode == "I":
        a = np.asarray(im)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise InputError("32-bit integer pixels are not supported")
        return a.astype(np.uint16)
    if mode == "F":
        return np.asarray(im, dtype=np.float32)
    if mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(im)
    if mode in ("P", "PA"):
        keep_alpha = mode == "PA" or "transparency" in im.info
        return np.asarray(im.convert("RGBA" if keep_alpha else "RGB"))
    if mode in ("La", "RGBa", "LA;16"):
        return np.asarray(im.convert("RGBA"))
    return np.asarray(im.convert("RGB"))  # CMYK, YCbCr, LAB, HSV, RGBX


def _orient(a: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation tag (1-8) to an (H,W,C) array, as ``PIL.ImageOps.exif_transpose`` would."""
    ops = {2: lambda x: x[:, ::-1], 3: lambda x: x[::-1, ::-1], 4: lambda x: x[::-1],
           5: lambda x: x.swapaxes(0, 1), 6: lambda x: np.rot90(x, -1), 7: lambda x: x[::-1, ::-1].swapaxes(0, 1),
           8: lambda x: np.rot90(x, 1)}
    return np.ascontiguousarray(ops[orientation](a)) if orientation in ops else a


def _head(f: Path | io.BytesIO, n: int) -> bytes:
    if isinstance(f, io.BytesIO):
        return f.getvalue()[:n]
    with open(f, "rb") as fh:
        return fh.read(n)


def _deep_colour(f: Path | io.BytesIO, im) -> bool:
    """True for 16-bit-per-channel colour PNG/TIFF files, which Pillow silently reduces to 8 bits."""
    if im.mode not in ("RGB", "RGBA"):
        return False
    if im.format == "PNG":
        head = _head(f, 26)  # signature (8) + IHDR length/type (8) + width, height (8) + depth + colour type
        return len(head) == 26 and head[24] == 16 and head[25] in (2, 6)
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, (8,))
        return max(bits if isinstance(bits, tuple) else (bits,)) == 16
    return False


def _read_cv2(f: Path | io.BytesIO, name: str) -> np.ndarray:
    import cv2

    raw = np.frombuffer(f.getvalue(), np.uint8) if isinstance(f, io.BytesIO) else np.fromfile(f, dtype=np.uint8)
    old = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # one error line is ours to print
    try:
        a = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)
    finally:
        cv2.utils.logging.setLogLevel(old)
    if a is None:
        raise InputError(f"{name}: cannot read the 16-bit image")
    if a.ndim == 3:
        a = a[:, :, [2, 1, 0, 3][: a.shape[2]]]  # BGR(A) -> RGB(A)
    return np.ascontiguousarray(a)


def _read_path(path: Path, name: str) -> Pixels:
    if not path.exists():
        raise InputError(f"{name}: no such file")
    if path.is_dir():
        raise InputError(f"{name}: is a folder, not an image file")
    return _read_file(path, name)


def _read_file(f: Path | io.BytesIO, name: str) -> Pixels:
    from PIL import Image

    try:
        with Image.open(f) as im:
            im.load()  # decodes everything now: truncated files fail here, not half-way through
            a = _pil_array(im)
            deep = _deep_colour(f, im)
            orientation = im.getexif().get(0x0112, 1)
            icc = im.info.get("icc_profile")
    except InputError as e:
        raise InputError(f"{name}: {e}") from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, Image.DecompressionBombError) as e:
        detail = str(e).strip().split("\n")[0] or type(e).__name__
        raise InputError(f"{name}: cannot read the image ({detail})") from None
    if deep:
        a = _read_cv2(f, name)
    pix = _from_array(_orient(a, orientation if isinstance(orientation, int) else 1), name)
    pix.icc_profile = icc
    return pix


def read_image(src: Any, name: str | None = None) -> Pixels:
    """Decode an image given as a path, the bytes of a file, a PIL image, an ndarray or a decoded ``Pixels``."""
    if isinstance(src, Pixels):
        return src
    name = name or _name(src, "image")
    if isinstance(src, (str, os.PathLike)):
        return _read_path(Path(src), name)
    if isinstance(src, (bytes, bytearray, memoryview)):
        return _read_file(io.BytesIO(bytes(src)), name)
    if isinstance(src, np.ndarray):
        return _from_array(src, name)
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        Image = None
    if Image is not None and isinstance(src, Image.Image):
        try:
            pix = _from_array(_pil_array(src), name)
        except InputError as e:
            raise InputError(f"{name}: {e}") from None
        pix.squeeze, pix.pil = False, True
        return pix
    raise InputError(f"{name}: expected a path, PIL image or numpy array, got {type(src).__name__}")


def _holes_from(a: np.ndarray, white: float, name: str) -> np.ndarray:
    """(H,W,C) array, C in 1..4 (alpha ignored) -> (H,W) bool, luminance >= half of ``white`` is a hole."""
    col = a[:, :, :1] if a.shape[2] <= 2 else a[:, :, :3]
    if np.issubdtype(col.dtype, np.floating):
        lum = col[:, :, 0] if col.shape[2] == 1 else col.astype(np.float64) @ (np.array(LUMA) / 1000)
        return lum >= 0.5 * white
    # exact integer luminance: 299 r + 587 g + 114 b >= 1000 t (for gray it is v >= t)
    t = 128 if white == 255 else 32768 if white == 65535 else 1
    lum = col[:, :, 0].astype(np.int64) * 1000 if col.shape[2] == 1 else col.astype(np.int64) @ np.array(LUMA)
    return lum >= 1000 * t


def read_mask(src: Any, name: str | None = None, *, invert: bool = False) -> np.ndarray:
    """Decode a mask to (H,W) bool, True = hole (see the module notes for the thresholds)."""
    name = name or _name(src, "mask")
    if hasattr(src, "detach"):  # a torch tensor
        src = src.detach().cpu().numpy()
    if isinstance(src, np.ndarray):
        a = src
        if a.ndim == 4 and a.shape[:2] == (1, 1):  # (1,1,H,W), the library's tensor layout
            a = a[0, 0]
        if a.ndim == 2:
            a = a[:, :, None]
        if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4) or 0 in a.shape:
            raise InputError(f"{name}: expected an (H,W) mask array, got shape {tuple(src.shape)}")
        if a.dtype == bool:
            hole = a[:, :, 0] if a.shape[2] <= 2 else a[:, :, :3].any(axis=2)
        elif np.issubdtype(a.dtype, np.floating):
            if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
                raise InputError(f"{name}: a float mask must hold values in [0,1] (1 = hole)")
            hole = _holes_from(a, 1.0, name)
        elif np.issubdtype(a.dtype, np.integer):
            white = 1.0 if a.size and a.min() >= 0 and a.max() <= 1 else _int_white(a, name)
            hole = _holes_from(a.astype(np.float32), 1.0, name) if white == 1.0 else _holes_from(a, white, name)
        else:
            raise InputError(f"{name}: unsupported mask type {a.dtype}")
    else:
        pix = read_image(src, name)
        hole = _holes_from(pix.data, pix.white, name)
    return ~hole if invert else hole


def to_rgb01(pix: Pixels) -> np.ndarray:
    """(H,W,3) float32 in [0,1]: gray is replicated, alpha dropped."""
    col = pix.data[:, :, :1] if pix.colour_channels == 1 else pix.data[:, :, :3]
    rgb = np.clip(col.astype(np.float32) / np.float32(pix.white), 0.0, 1.0)
    return np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb


def quantise(v: np.ndarray, dtype: np.dtype, white: float) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    if np.issubdtype(dtype, np.floating):
        return v.astype(dtype)
    return np.rint(v * white).astype(dtype)


def to_rgb8(pix: Pixels) -> np.ndarray:
    """(H,W,3) uint8 of the original, alpha dropped; uint8 sources are copied as is (no float round trip)."""
    col = pix.data[:, :, :1] if pix.colour_channels == 1 else pix.data[:, :, :3]
    if col.dtype == np.uint8:
        out = col.copy()
    elif np.issubdtype(col.dtype, np.integer):
        w = int(pix.white)
        out = ((col.astype(np.int64) * 255 + w // 2) // w).astype(np.uint8)
    else:
        out = quantise(col.astype(np.float32), np.uint8, 255)
    return np.repeat(out, 3, axis=2) if out.shape[2] == 1 else out




def header_problem(path: Path) -> str | None:
    """None if PIL recognises the file's header (cheap: no pixel decoding), else the reason."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            w, h = im.size
        if w <= 0 or h <= 0:
            return f"empty image {w}x{h}"
        return None
    except FileNotFoundError:
        return "no such file"
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        return f"{type(e).__name__}: {e}"


def load_rgb8(src: Any, name: str | None = None) -> np.ndarray:
    """(H,W,3) uint8 RGB of any image (what the datasets train on): gray replicated, 16-bit rounded, and an
    alpha channel composited onto white, the colour a viewer shows and the corrupted input gives holes."""
    pix = read_image(src, name)
    rgb = to_rgb8(pix)
    if not pix.has_alpha:
        return rgb
    alpha = pix.data[:, :, -1:].astype(np.float32) / np.float32(pix.white)  # (H,W,1) in [0,1]
    return np.rint(rgb * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF",
            ".webp": "WEBP"}
_DEEP = {".png", ".tif", ".tiff"}  # formats that hold 16 bits per channel
_ALPHA = {".png", ".tif", ".tiff", ".webp"}


def check_output(path: str, what: str) -> str:
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{path}: is a folder; give the {what} a file name")
    if not p.parent.is_dir():
        raise InputError(f"{path}: the folder {p.parent} does not exist")
    ext = p.suffix.lower()
    if ext not in FORMATS:
        raise InputError(f"{path}: cannot write {ext or 'extension-less'} files; use one of {', '.join(FORMATS)}")
    return ext


def encode(a: np.ndarray, white: float, ext: str, icc: bytes | None = None) -> bytes:
    """Encode (H,W,C) pixels for ``ext`` in memory, keeping bit depth and alpha where the format can:
    16-bit PNG/TIFF stay 16-bit (colour via OpenCV), JPEG/BMP get 8 bits and lose alpha, floats become 16-bit
    (or 8-bit). Encoding before writing means a failure never leaves a partial file."""
    if a.ndim == 2:
        a = a[:, :, None]
    if np.issubdtype(a.dtype, np.floating):
        a = (quantise(a.astype(np.float32) / np.float32(white), np.uint16, 65535) if ext in _DEEP
             else quantise(a.astype(np.float32) / np.float32(white), np.uint8, 255))
    elif a.dtype not in (np.uint8, np.uint16):  # other integer arrays hold 8- or 16-bit values (see _int_white)
        a = a.astype(np.uint8 if white == 255 else np.uint16)
    if a.dtype == np.uint16 and ext not in _DEEP:
        a = ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if a.shape[2] in (2, 4) and ext not in _ALPHA:
        a = a[:, :, :-1]
    if a.shape[2] == 2 and (a.dtype == np.uint16 or ext == ".webp"):
        a = a[:, :, [0, 0, 0, 1]]  # neither OpenCV (16-bit) nor WebP writes gray+alpha: RGBA
    if a.dtype == np.uint16 and a.shape[2] > 1:
        import cv2
        ok, buf = cv2.imencode(ext, np.ascontiguousarray(a[:, :, [2, 1, 0, 3][: a.shape[2]]]))
        if not ok:
            raise OSError(f"cannot encode a 16-bit {ext} image")
        return buf.tobytes()
    from PIL import Image
    im = Image.fromarray(np.ascontiguousarray(a[:, :, 0] if a.shape[2] == 1 else a))
    opts: dict[str, Any] = {"icc_profile": icc} if icc and ext != ".bmp" else {}
    if ext in (".jpg", ".jpeg"):
        opts.update(quality=95)
    if ext == ".webp":
        opts.update(lossless=True)
    f = io.BytesIO()
    im.save(f, format=FORMATS[ext], **opts)
    return f.getvalue()
