"""Inpainting and artifact maps with a trained checkpoint, for photos of any size, bit depth and layout.

    inp = Inpainter.from_checkpoint("runs/det/last.pt")
    out = inp.inpaint("photo.jpg", "mask.png")          # (H,W,3) uint8
    v = inp.artifact_map(out)                             # (H,W) float32, the detector's valuation V

Design decisions (and why):

- **Valid pixels are never touched.** The network only proposes values for hole pixels; the result is
  composited at the very end in the caller's own integer (or float) domain, ``out = where(hole, net, original)``,
  so every pixel outside the hole comes back bit for bit, whatever resizing happened on the way.
- **No whole-image shrinking.** The generator was trained on ``size`` x ``size`` images (``size`` = the
  checkpoint's ``config.size``). Images whose longer side is at most ``2 * size`` run whole at their native
  resolution, padded (reflect) at the bottom/right to a multiple of 4 (at least 16): the network is fully
  convolutional and sees the textures at the scale it learned them; upscaling a small image would only
  invent blur. Larger photos go through *windows*: the hole is dilated by ``size // 32`` px so that nearby
  strokes merge, split into connected groups (``scipy.ndimage.label``), and small groups are packed together
  while their joint bounding box stays within ``size / 2``. Each group gets a square window of side
  ``max(size, 2 x its bounding-box side)`` centred on it (clipped to the image), i.e. at least as much context
  as hole. Windows up to ``2 * size`` run at native resolution (a window of exactly ``size`` is exactly the
  trained input); only a larger window (a hole group bigger than ``size``) is *downscaled* so that its longer
  side is ``size``, the prediction is upsampled back bilinearly, and its hole is therefore softer: the
  documented fallback for huge holes. Hole colours never leak into the downscaled context (normalised
  resampling of the valid pixels), and the downscaled mask is conservative (any hole coverage is a hole).
  Windows of equal shape are batched; each window pastes only its own group's hole pixels, while its
  generator input masks every hole pixel inside it. When holes are so dense that the windows would cost more
  generator pixels than the whole image (many overlapping windows), and the image has at most
  ``max_whole_pixels`` (4 MP, a memory bound), the whole image runs once at native resolution instead.
- **Artifact maps at native scale.** The detector judges local texture (receptive field about 34 px, no
  normalisation), so it runs at the native resolution, the scale the windows are inpainted at, rather than on
  a shrunk photo where one-pixel seams would vanish. Up to ``detector_whole_pixels`` (1 MP) the image goes
  through whole (padded to a multiple of 4); larger ones go through ``detector_tile`` (512) px tiles with a
  32 px halo, which only bounds memory: away from the image border the values equal a whole-image pass.
- **Inputs.** Images: ndarray (uint8, uint16, float in [0,1]; (H,W), (H,W,1), (H,W,2) gray+alpha, (H,W,3),
  (H,W,4)), PIL image or path. Files are read with Pillow, except 16-bit colour PNG/TIFF, which Pillow would
  truncate to 8 bits, and are then read with OpenCV. A file's EXIF orientation is applied (the photo as viewers
  show it), so the output is written upright. Alpha is ignored by the network and copied unchanged.
  Masks: 1 / True / white = hole. Files: luminance >= 128 (8-bit) or >= 32768 (16-bit) is a hole, so grey
  JPEG residue is re-binarised rather than rejected; arrays: bool as is, floats and integer arrays holding only
  0/1 at 0.5, other uint8 at 128, uint16 at 32768. ``invert_mask`` flips the polarity (black = hole).
- **Backends.** ``backend="onnx"`` (``gdn inpaint --model DIR``) runs the models of ``gdn export`` with
  onnxruntime on the CPU in fp32; only the two network calls change, so windows, padding, compositing and
  the detector's tiling are the same code and valid pixels stay bit for bit.
- **Output files** (``gdn inpaint``) keep the input's layout: gray stays gray, alpha is kept, 16-bit stays
  16-bit in PNG/TIFF. JPEG output re-compresses (lossy, 8-bit, no alpha), so only PNG, TIFF, BMP and
  lossless WebP keep the valid pixels bit for bit.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gdn.engine.checkpoint import CheckpointError, atomic_write, build_networks, load_checkpoint
from gdn.engine.export import ExportError

__all__ = ["Inpainter", "InputError", "Pixels", "Window", "read_image", "read_mask", "artifact_colormap",
           "overlay", "add_inpaint_args", "run_inpaint", "main_inpaint"]

PRECISIONS = ("fp32", "bf16", "fp16")
BACKENDS = ("torch", "onnx")
DETECTOR_HALO = 32  # px of context around each detector tile; the detector's receptive field is ~34 px wide
BATCH_SIZE = 8  # windows per generator call
_LUMA = (299, 587, 114)  # ITU-R 601 luminance weights x 1000 (Pillow's "L" conversion)


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


def _deep_colour(path: Path, im) -> bool:
    """True for 16-bit-per-channel colour PNG/TIFF files, which Pillow silently reduces to 8 bits."""
    if im.mode not in ("RGB", "RGBA"):
        return False
    if im.format == "PNG":
        with open(path, "rb") as f:
            head = f.read(26)  # signature (8) + IHDR length/type (8) + width, height (8) + depth + colour type
        return len(head) == 26 and head[24] == 16 and head[25] in (2, 6)
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, (8,))
        return max(bits if isinstance(bits, tuple) else (bits,)) == 16
    return False


def _read_cv2(path: Path, name: str) -> np.ndarray:
    import cv2

    old = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # one error line is ours to print
    try:
        a = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    finally:
        cv2.utils.logging.setLogLevel(old)
    if a is None:
        raise InputError(f"{name}: cannot read the 16-bit image")
    if a.ndim == 3:
        a = a[:, :, [2, 1, 0, 3][: a.shape[2]]]  # BGR(A) -> RGB(A)
    return np.ascontiguousarray(a)


def _read_path(path: Path, name: str) -> Pixels:
    from PIL import Image

    if not path.exists():
        raise InputError(f"{name}: no such file")
    if path.is_dir():
        raise InputError(f"{name}: is a folder, not an image file")
    try:
        with Image.open(path) as im:
            im.load()  # decodes everything now: truncated files fail here, not half-way through
            a = _pil_array(im)
            deep = _deep_colour(path, im)
            orientation = im.getexif().get(0x0112, 1)
            icc = im.info.get("icc_profile")
    except InputError as e:
        raise InputError(f"{name}: {e}") from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, Image.DecompressionBombError) as e:
        detail = str(e).strip().split("\n")[0] or type(e).__name__
        raise InputError(f"{name}: cannot read the image ({detail})") from None
    if deep:
        a = _read_cv2(path, name)
    pix = _from_array(_orient(a, orientation if isinstance(orientation, int) else 1), name)
    pix.icc_profile = icc
    return pix


def read_image(src: Any, name: str | None = None) -> Pixels:
    """Decode an image given as a path, a PIL image, an ndarray or an already decoded ``Pixels``."""
    if isinstance(src, Pixels):
        return src
    name = name or _name(src, "image")
    if isinstance(src, (str, os.PathLike)):
        return _read_path(Path(src), name)
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
        lum = col[:, :, 0] if col.shape[2] == 1 else col.astype(np.float64) @ (np.array(_LUMA) / 1000)
        return lum >= 0.5 * white
    # exact integer luminance: 299 r + 587 g + 114 b >= 1000 t (for gray it is v >= t)
    t = 128 if white == 255 else 32768 if white == 65535 else 1
    lum = col[:, :, 0].astype(np.int64) * 1000 if col.shape[2] == 1 else col.astype(np.int64) @ np.array(_LUMA)
    return lum >= 1000 * t


def read_mask(src: Any, name: str | None = None, *, invert: bool = False) -> np.ndarray:
    """Decode a mask to (H,W) bool, True = hole (see the module notes for the thresholds)."""
    name = name or _name(src, "mask")
    if isinstance(src, torch.Tensor):
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


# ------------------------------------------------------------------------------------------- tensor helpers --

def _ceil4(n: int) -> int:
    return -(-n // 4) * 4


def _net_side(n: int) -> int:
    # multiples of 4 (two stride-2 stages); at least 16 so the residual blocks' reflect padding (2 px at 1/4
    # scale) always has room
    return max(16, _ceil4(n))


def _pad(x: torch.Tensor, top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    """Reflect padding where it is possible (pad < side), replicate padding otherwise (tiny images)."""
    if top == bottom == left == right == 0:
        return x
    h, w = x.shape[-2:]
    mode = "reflect" if max(top, bottom) < h and max(left, right) < w else "replicate"
    return F.pad(x, (left, right, top, bottom), mode=mode)


def _rgb01(pix: Pixels) -> np.ndarray:
    """(H,W,3) float32 in [0,1]: gray is replicated, alpha dropped."""
    col = pix.data[:, :, :1] if pix.colour_channels == 1 else pix.data[:, :, :3]
    rgb = np.clip(col.astype(np.float32) / np.float32(pix.white), 0.0, 1.0)
    return np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb


def _quantise(v: np.ndarray, dtype: np.dtype, white: float) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    if np.issubdtype(dtype, np.floating):
        return v.astype(dtype)
    return np.rint(v * white).astype(dtype)


def _rgb8(pix: Pixels) -> np.ndarray:
    """(H,W,3) uint8 of the original; uint8 sources are copied as is (no float round trip)."""
    col = pix.data[:, :, :1] if pix.colour_channels == 1 else pix.data[:, :, :3]
    if col.dtype == np.uint8:
        out = col.copy()
    elif np.issubdtype(col.dtype, np.integer):
        w = int(pix.white)
        out = ((col.astype(np.int64) * 255 + w // 2) // w).astype(np.uint8)
    else:
        out = _quantise(col.astype(np.float32), np.uint8, 255)
    return np.repeat(out, 3, axis=2) if out.shape[2] == 1 else out


def _resolve_device(device: str | torch.device) -> torch.device:
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise InputError(f"--device {device}: not a torch device ({e})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {device}: CUDA is not available on this machine")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InputError(f"--device {device}: MPS is not available on this machine")
    return dev


# ----------------------------------------------------------------------------------------------- windows --

@dataclass(frozen=True)
class Window:
    """One crop ``[y0:y1, x0:x1]`` sent to the generator at ``net`` = (h, w). ``resized`` False: native
    resolution, padded at the bottom/right to ``net``; True: downscaled to ``net`` (huge holes only).
    ``groups`` are the hole labels whose pixels this window pastes back; ``None`` = every hole pixel."""
    y0: int
    y1: int
    x0: int
    x1: int
    net: tuple[int, int]
    resized: bool = False
    groups: tuple[int, ...] | None = None


def _pack_small(boxes: list[tuple[int, int, int, int, int]], cap: int) -> list[list[int]]:
    """Greedily pack small hole groups (label, y0, y1, x0, x1) into clusters whose joint bounding box has
    sides <= ``cap``, so a mask of many specks costs a few windows, not one per speck."""
    n = len(boxes)
    cy0, cy1, cx0, cx1 = (np.zeros(n, np.int64) for _ in range(4))
    members: list[list[int]] = []
    for lab, y0, y1, x0, x1 in boxes:
        k = len(members)
        if k:
            uh = np.maximum(cy1[:k], y1) - np.minimum(cy0[:k], y0)
            uw = np.maximum(cx1[:k], x1) - np.minimum(cx0[:k], x0)
            side = np.maximum(uh, uw)
            j = int(np.argmin(side))
            if side[j] <= cap:
                cy0[j], cy1[j] = min(cy0[j], y0), max(cy1[j], y1)
                cx0[j], cx1[j] = min(cx0[j], x0), max(cx1[j], x1)
                members[j].append(lab)
                continue
        cy0[k], cy1[k], cx0[k], cx1[k] = y0, y1, x0, x1
        members.append([lab])
    return members


class Inpainter:
    """A trained generator (and, for Det checkpoints, its detector) ready for photos of any size.

    ``size`` is the resolution the networks were trained at; it sets the window side and the point (``2*size``)
    beyond which images are processed in windows rather than whole. See the module notes for the strategy.

    ``backend="onnx"`` runs models written by ``gdn export`` with onnxruntime on the CPU (fp32): ``generator``
    and ``detector`` are then ``.onnx`` paths (or ``gdn.engine.export.OnnxNetwork``); windows, padding, compositing and
    the artifact map's tiling are the same code as for PyTorch.
    """

    max_whole_pixels = 1 << 22  # dense holes: run the whole image natively up to this size (memory bound)
    detector_tile = 512  # core side of the detector's tiles (a memory bound only; any multiple of 4)
    detector_whole_pixels = 1 << 20  # images up to this many pixels go through the detector in one pass

    def __init__(self, generator: nn.Module, detector: nn.Module | None = None, *, size: int = 256,
                 device: str | torch.device = "cpu", precision: str = "fp32", batch_size: int = BATCH_SIZE,
                 backend: str = "torch"):
        if size % 4 or size < 16:
            raise ValueError(f"size must be a multiple of 4 and >= 16, got {size}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if backend == "onnx":
            if precision != "fp32":
                raise InputError(f"the onnx backend runs fp32 only, not {precision}")
            if str(device) not in ("auto", "cpu"):
                raise InputError(f"--device {device}: the onnx backend runs on the CPU (onnxruntime)")
            generator, detector = _onnx_networks(generator, detector)
            device = "cpu"
        self.backend = backend
        self.device = _resolve_device(device)
        self.size, self.precision, self.batch_size = int(size), precision, max(1, int(batch_size))
        self.generator = generator.eval().to(self.device) if isinstance(generator, nn.Module) else generator
        self.detector = detector.eval().to(self.device) if isinstance(detector, nn.Module) else detector
        self.config = None
        self.last_windows: list[Window] = []  # the plan of the latest inpaint call, for inspection

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: str | torch.device = "auto",
                        precision: str = "fp32", batch_size: int = BATCH_SIZE, backend: str = "torch") -> "Inpainter":
        """Load a checkpoint (``CheckpointError`` on any problem); the trained scale is its ``config.size``.
        Only a ``det`` checkpoint has a detector: the Adv discriminator scores whole images, not pixels.
        ``backend="onnx"``: ``path`` is a folder written by ``gdn export`` (``ExportError`` on any problem)."""
        from gdn.networks import Detector

        if backend == "onnx":
            from gdn.engine.export import load_exported

            generator, detector, cfg = load_exported(path)
            inp = cls(generator, detector, size=cfg.size, device=device, precision=precision,
                      batch_size=batch_size, backend="onnx")
            inp.config = cfg
            return inp
        if Path(path).is_dir() and (Path(path) / "generator.onnx").is_file():
            raise CheckpointError(f"{path}: an ONNX export folder, not a checkpoint; use the onnx backend")
        dev = _resolve_device(device)
        ckpt = load_checkpoint(path)
        generator, critic = build_networks(ckpt, path)
        cfg = ckpt["config"]
        detector = critic if cfg.framework == "det" and isinstance(critic, Detector) else None
        inp = cls(generator, detector, size=cfg.size, device=dev, precision=precision, batch_size=batch_size)
        inp.config = cfg
        return inp

    # -- planning --------------------------------------------------------------------------------------
    def plan(self, hole: np.ndarray) -> tuple[list[Window], np.ndarray | None]:
        """The windows covering ``hole`` ((H,W) bool) and the group label of every hole pixel (None when the
        image is processed whole)."""
        from scipy import ndimage

        H, W = hole.shape
        S = self.size
        whole = [Window(0, H, 0, W, (_net_side(H), _net_side(W)))], None
        if max(H, W) <= 2 * S:
            return whole
        r = max(1, S // 32)  # merge holes closer than ~r px into one group
        grown = ndimage.maximum_filter(hole.view(np.uint8), size=2 * r + 1)
        labels, _ = ndimage.label(grown)
        labels = np.where(hole, labels, 0)  # labels of the hole pixels themselves (bboxes of real holes)
        small, groups = [], []
        for lab, box in enumerate(ndimage.find_objects(labels), start=1):
            if box is None:
                continue
            y0, y1, x0, x1 = box[0].start, box[0].stop, box[1].start, box[1].stop
            if max(y1 - y0, x1 - x0) <= S // 2:
                small.append((lab, y0, y1, x0, x1))
            else:
                groups.append(([lab], (y0, y1, x0, x1)))
        index = {lab: (y0, y1, x0, x1) for lab, y0, y1, x0, x1 in small}
        for members in _pack_small(small, S // 2):
            bb = np.array([index[m] for m in members])
            groups.append((members, (bb[:, 0].min(), bb[:, 1].max(), bb[:, 2].min(), bb[:, 3].max())))
        windows = []
        for members, (y0, y1, x0, x1) in groups:
            side = _ceil4(max(S, 2 * max(y1 - y0, x1 - x0)))
            wh, ww = min(side, H), min(side, W)
            wy0 = min(max((y0 + y1) // 2 - wh // 2, 0), H - wh)
            wx0 = min(max((x0 + x1) // 2 - ww // 2, 0), W - ww)
            assert wy0 <= y0 and y1 <= wy0 + wh and wx0 <= x0 and x1 <= wx0 + ww, "window misses its hole"
            if side <= 2 * S:
                net, resized = (_net_side(wh), _net_side(ww)), False
            else:  # fallback for holes larger than the trained scale: downscale the window to `size`
                scale = S / max(wh, ww)
                net, resized = (_net_side(round(wh * scale)), _net_side(round(ww * scale))), True
            windows.append(Window(int(wy0), int(wy0 + wh), int(wx0), int(wx0 + ww), net, resized,
                                  tuple(int(m) for m in members)))
        cost = sum(w.net[0] * w.net[1] for w in windows)
        if H * W <= self.max_whole_pixels and cost >= whole[0][0].net[0] * whole[0][0].net[1]:
            return whole  # dense holes: one native pass is cheaper than the overlapping windows
        return windows, labels

    # -- network passes ---------------------------------------------------------------------------------
    def _autocast(self):
        if self.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    @staticmethod
    def _prepare(rgb: np.ndarray, hole: np.ndarray, w: Window) -> tuple[torch.Tensor, torch.Tensor]:
        """Crop one window -> generator inputs image (3,h,w), mask (1,h,w) at ``w.net``."""
        img = torch.from_numpy(np.ascontiguousarray(rgb[w.y0:w.y1, w.x0:w.x1])).permute(2, 0, 1)[None]
        m = torch.from_numpy(hole[w.y0:w.y1, w.x0:w.x1]).float()[None, None]  # (1,1,wh,ww)
        if not w.resized:
            ph, pw = w.net[0] - img.shape[-2], w.net[1] - img.shape[-1]
            return _pad(img, 0, ph, 0, pw)[0], _pad(m, 0, ph, 0, pw)[0]
        # normalised resampling: hole colours must not bleed into the downscaled context
        valid = 1.0 - m
        num = F.interpolate(img * valid, size=w.net, mode="bilinear", antialias=True, align_corners=False)
        den = F.interpolate(valid, size=w.net, mode="bilinear", antialias=True, align_corners=False)
        small_hole = (1.0 - den) > 1e-3  # conservative: any hole coverage stays a hole
        small_img = (num / den.clamp_min(1e-6)).clamp(0, 1)
        return small_img[0], small_hole.float()[0]  # (3,h,w), (1,h,w)

    @staticmethod
    def _finish(pred: torch.Tensor, w: Window) -> np.ndarray:
        """Generator output (3,h,w) -> (wh,ww,3) float32 prediction for the window's crop."""
        wh, ww = w.y1 - w.y0, w.x1 - w.x0
        if w.resized:
            pred = F.interpolate(pred[None], size=(wh, ww), mode="bilinear", align_corners=False)[0]
        else:
            pred = pred[:, :wh, :ww]
        return pred.permute(1, 2, 0).numpy()

    def _predict(self, rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """(H,W,3) float32 image, (H,W) bool hole -> (H,W,3) float32 holding the prediction at hole pixels."""
        windows, labels = self.plan(hole)
        self.last_windows = windows
        out = np.zeros(rgb.shape, np.float32)
        by_shape: dict[tuple, list[Window]] = {}
        for w in windows:
            by_shape.setdefault((w.net, w.resized), []).append(w)
        with torch.inference_mode(), self._autocast():
            for group in by_shape.values():
                for i in range(0, len(group), self.batch_size):
                    chunk = group[i:i + self.batch_size]
                    inputs = [self._prepare(rgb, hole, w) for w in chunk]
                    x = torch.stack([a for a, _ in inputs]).to(self.device)  # (B,3,h,w) in [0,1]
                    m = torch.stack([b for _, b in inputs]).to(self.device)  # (B,1,h,w), 1 = hole
                    pred = self.generator(x, m).float().cpu()  # (B,3,h,w) raw prediction
                    for w, p in zip(chunk, pred):
                        win = self._finish(p, w)
                        paste = hole[w.y0:w.y1, w.x0:w.x1]
                        if w.groups is not None:
                            paste = paste & np.isin(labels[w.y0:w.y1, w.x0:w.x1], w.groups)
                        out[w.y0:w.y1, w.x0:w.x1][paste] = win[paste]
        return out

    def _inputs(self, image, mask, invert_mask: bool) -> tuple[Pixels, np.ndarray]:
        pix = read_image(image)
        hole = read_mask(mask, invert=invert_mask)
        if hole.shape != pix.shape:
            raise InputError(f"{_name(mask, 'mask')} is {hole.shape[1]}x{hole.shape[0]} but "
                             f"{pix.name} is {pix.shape[1]}x{pix.shape[0]}")
        if hole.all():
            raise InputError(f"{_name(mask, 'mask')}: every pixel is a hole, so there is nothing to condition on")
        return pix, hole

    # -- public API ---------------------------------------------------------------------------------------
    def inpaint(self, image, mask, *, invert_mask: bool = False) -> np.ndarray:
        """Fill the hole of ``image``; returns (H,W,3) uint8. Pixels outside the hole are the original's
        (converted to 8-bit RGB: gray replicated, alpha dropped, 16-bit rounded) bit for bit."""
        pix, hole = self._inputs(image, mask, invert_mask)
        base = _rgb8(pix)  # (H,W,3) uint8
        if not hole.any():
            self.last_windows = []
            return base
        pred = self._predict(_rgb01(pix), hole)  # (H,W,3) float32
        return np.where(hole[:, :, None], _quantise(pred, np.uint8, 255), base)

    def inpaint_like(self, image, mask, *, invert_mask: bool = False):
        """Like ``inpaint`` but in the input's own form: same shape, channels and dtype (gray stays gray, alpha is
        untouched, 16-bit stays 16-bit, a PIL image gives a PIL image); only hole pixels change."""
        pix, hole = self._inputs(image, mask, invert_mask)
        out = pix.data.copy()
        if hole.any():
            pred = self._predict(_rgb01(pix), hole)[hole]  # (N,3) float32
            c = pix.colour_channels
            if c == 1:
                pred = pred @ (np.array(_LUMA, np.float32) / 1000)[:, None]  # (N,1) luminance
            out[:, :, :c][hole] = _quantise(pred, out.dtype, pix.white)
        else:
            self.last_windows = []
        if pix.pil:
            from PIL import Image
            return Image.fromarray(out[:, :, 0] if out.shape[2] == 1 else out)
        return out[:, :, 0] if pix.squeeze else out

    def artifact_map(self, image) -> np.ndarray:
        """The detector's valuation V of ``image`` (paper Sec. 3.2): (H,W) float32 in [0,1], 1 = artifact."""
        if self.detector is None:
            fw = getattr(self.config, "framework", None)
            what = f"this {fw} checkpoint" if fw else "this Inpainter"
            raise InputError(f"{what} has no pixel-wise detector: artifact maps need a det checkpoint")
        rgb = _rgb01(read_image(image))
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None]  # (1,3,H,W)
        H, W = rgb.shape[:2]
        S, h = _ceil4(self.detector_tile), DETECTOR_HALO
        with torch.inference_mode(), self._autocast():
            if H * W <= self.detector_whole_pixels:
                xp = _pad(x, 0, _net_side(H) - H, 0, _net_side(W) - W).to(self.device)
                v = self.detector(xp).float()[0, 0, :H, :W].cpu()  # (H,W)
            else:
                ny, nx = -(-H // S), -(-W // S)
                xp = _pad(x, h, h + ny * S - H, h, h + nx * S - W)  # (1,3,ny*S+2h,nx*S+2h)
                v = torch.empty(ny * S, nx * S)
                tiles = [(i, j) for i in range(ny) for j in range(nx)]
                for k in range(0, len(tiles), self.batch_size):
                    part = tiles[k:k + self.batch_size]
                    batch = torch.cat([xp[..., i * S:(i + 1) * S + 2 * h, j * S:(j + 1) * S + 2 * h] for i, j in part])
                    prob = self.detector(batch.to(self.device)).float().cpu()  # (B,1,S+2h,S+2h)
                    for (i, j), p in zip(part, prob):
                        v[i * S:(i + 1) * S, j * S:(j + 1) * S] = p[0, h:h + S, h:h + S]
                v = v[:H, :W]
        return v.clamp(0, 1).numpy().astype(np.float32)


def _onnx_networks(generator, detector):
    """The onnx backend's networks: ``.onnx`` paths become onnxruntime sessions; callables are kept."""
    from gdn.engine.export import OnnxNetwork

    def wrap(net):
        if isinstance(net, nn.Module):
            raise ValueError("backend='onnx' takes .onnx files (gdn export), not PyTorch modules")
        return OnnxNetwork(net) if isinstance(net, (str, os.PathLike)) else net

    return wrap(generator), (None if detector is None else wrap(detector))


# ------------------------------------------------------------------------------------------ visualisation --

def artifact_colormap(vmap: np.ndarray, cmap: str = "jet") -> np.ndarray:
    """(H,W) valuation in [0,1] -> (H,W,3) uint8 as in the paper's Fig. 7: red = artifact, blue = clean."""
    from matplotlib import colormaps

    rgba = colormaps[cmap](np.clip(np.asarray(vmap, dtype=np.float32), 0, 1))  # (H,W,4) float in [0,1]
    return np.rint(rgba[..., :3] * 255).astype(np.uint8)


def overlay(image, vmap: np.ndarray, alpha: float = 0.5, cmap: str = "jet") -> np.ndarray:
    """Blend the colour-mapped valuation over ``image`` (any accepted form): (H,W,3) uint8."""
    base = _rgb8(read_image(image)).astype(np.float32)
    heat = artifact_colormap(vmap, cmap).astype(np.float32)
    if heat.shape != base.shape:
        raise InputError(f"the map is {heat.shape[1]}x{heat.shape[0]} but the image is {base.shape[1]}x{base.shape[0]}")
    return np.rint((1 - alpha) * base + alpha * heat).astype(np.uint8)


# ------------------------------------------------------------------------------------------------ writing --

_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF",
            ".webp": "WEBP"}
_DEEP = {".png", ".tif", ".tiff"}  # formats that hold 16 bits per channel
_ALPHA = {".png", ".tif", ".tiff", ".webp"}


def _check_output(path: str, what: str) -> str:
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{path}: is a folder; give the {what} a file name")
    if not p.parent.is_dir():
        raise InputError(f"{path}: the folder {p.parent} does not exist")
    ext = p.suffix.lower()
    if ext not in _FORMATS:
        raise InputError(f"{path}: cannot write {ext or 'extension-less'} files; use one of {', '.join(_FORMATS)}")
    return ext


def _encode(a: np.ndarray, white: float, ext: str, icc: bytes | None = None) -> bytes:
    """Encode (H,W,C) pixels for ``ext`` in memory, keeping bit depth and alpha where the format can:
    16-bit PNG/TIFF stay 16-bit (colour via OpenCV), JPEG/BMP get 8 bits and lose alpha, floats become 16-bit
    (or 8-bit). Encoding before writing means a failure never leaves a partial file."""
    if a.ndim == 2:
        a = a[:, :, None]
    if np.issubdtype(a.dtype, np.floating):
        a = (_quantise(a.astype(np.float32) / np.float32(white), np.uint16, 65535) if ext in _DEEP
             else _quantise(a.astype(np.float32) / np.float32(white), np.uint8, 255))
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
    im.save(f, format=_FORMATS[ext], **opts)
    return f.getvalue()


# ---------------------------------------------------------------------------------------- command line --

def add_inpaint_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Arguments of ``gdn inpaint IMAGE MASK -o OUT (--checkpoint CKPT | --model DIR [--backend onnx])``."""
    parser.add_argument("image", metavar="IMAGE", help="photo to inpaint (any size; gray, RGB, RGBA; 8 or 16 bit)")
    parser.add_argument("mask", metavar="MASK",
                        help="same size as IMAGE; white (>= 128 in 8-bit, luminance of colour masks) = hole")
    parser.add_argument("-o", "--output", metavar="OUT", required=True,
                        help="result, written in IMAGE's mode (.png .jpg .bmp .tif .webp; 16-bit needs .png/.tif)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", metavar="CKPT", help="a gdn checkpoint (.pt), run with PyTorch")
    source.add_argument("--model", metavar="DIR", help="a folder written by gdn export, run with onnxruntime")
    parser.add_argument("--backend", choices=BACKENDS, default=None,
                        help="torch (with --checkpoint) or onnx (with --model); the default follows the source")
    parser.add_argument("--artifact-map", metavar="MAP.png", default=None,
                        help="also write the detector's valuation of the result, jet colours (det checkpoints)")
    parser.add_argument("--invert-mask", action="store_true", help="black = hole in MASK")
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:1, mps")
    parser.add_argument("--precision", default="fp32", choices=PRECISIONS, help="autocast precision (default fp32)")
    return parser


def _source(args: argparse.Namespace) -> tuple[str, str]:
    """The model to load and its backend: ``--checkpoint`` runs PyTorch, ``--model`` runs onnxruntime."""
    backend = args.backend or ("onnx" if args.model else "torch")
    if backend == "onnx" and not args.model:
        raise InputError(f"{args.checkpoint}: --backend onnx runs an exported model; write one with gdn export "
                         f"--checkpoint {args.checkpoint} -o DIR, then pass --model DIR")
    if backend == "torch" and args.model:
        raise InputError(f"{args.model}: --model is an ONNX export; run it with --backend onnx")
    return args.checkpoint or args.model, backend


def run_inpaint(args: argparse.Namespace) -> int:
    """Run ``gdn inpaint`` with parsed ``args``. Every check happens before any file is written, and each file
    is encoded in memory and moved into place atomically, so a failure leaves OUT (and MAP) as they were."""
    try:
        ext = _check_output(args.output, "output")
        map_ext = _check_output(args.artifact_map, "artifact map") if args.artifact_map else None
        if args.artifact_map and Path(args.artifact_map).resolve() == Path(args.output).resolve():
            raise InputError(f"{args.artifact_map}: the artifact map cannot overwrite the output")
        pix = read_image(args.image)
        hole = read_mask(args.mask, invert=args.invert_mask)
        if hole.shape != pix.shape:
            raise InputError(f"{args.mask} is {hole.shape[1]}x{hole.shape[0]} but "
                             f"{args.image} is {pix.shape[1]}x{pix.shape[0]}")
        flip = "without" if args.invert_mask else "with"
        if not hole.any():
            raise InputError(f"{args.mask}: the mask has no hole, so there is nothing to inpaint "
                             f"(holes are {'black' if args.invert_mask else 'white'}; try {flip} --invert-mask)")
        if hole.all():
            raise InputError(f"{args.mask}: every pixel is a hole, so there is nothing to condition on "
                             f"(try {flip} --invert-mask)")
        source, backend = _source(args)
        inp = Inpainter.from_checkpoint(source, device=args.device, precision=args.precision, backend=backend)
        if args.artifact_map and inp.detector is None:
            what = "checkpoint" if backend == "torch" else "export"
            raise InputError(f"{source}: a {inp.config.framework} {what} has no pixel-wise detector; "
                             f"--artifact-map needs a det {what}")
        out = inp.inpaint_like(pix, hole).reshape(pix.data.shape)  # (H,W,C) in IMAGE's dtype and layout
        data = _encode(out, pix.white, ext, pix.icc_profile)
        if args.artifact_map:
            vmap = inp.artifact_map(replace(pix, data=out))
            map_data = _encode(artifact_colormap(vmap), 255.0, map_ext)
        atomic_write(args.output, lambda f: f.write(data))
        if args.artifact_map:
            atomic_write(args.artifact_map, lambda f: f.write(map_data))
    except (InputError, CheckpointError, ExportError) as e:
        print(f"gdn inpaint: error: {e}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError, MemoryError) as e:  # disk full, out of GPU memory, ...
        print(f"gdn inpaint: error: {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}",
              file=sys.stderr)
        return 1
    w = inp.last_windows
    how = "whole" if len(w) == 1 and w[0].groups is None else f"{len(w)} window(s)"
    print(f"wrote {args.output} ({pix.shape[1]}x{pix.shape[0]}, {how})"
          + (f" and {args.artifact_map}" if args.artifact_map else ""))
    return 0


def main_inpaint(argv: list[str] | None = None) -> int:
    parser = add_inpaint_args(argparse.ArgumentParser(
        prog="gdn inpaint", description="Fill the holes of IMAGE marked by MASK with a trained gdn generator."))
    return run_inpaint(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main_inpaint(sys.argv[1:]))
