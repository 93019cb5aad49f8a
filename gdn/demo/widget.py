"""The interactive inpainting demo: draw a hole on a photo, inpaint it, see the detector's artifact map.

    from gdn.demo import InpaintDemo
    InpaintDemo()            # in a notebook cell (JupyterLab or Voila); ``gdn demo`` / ``make demo`` serves it

Design:

- **The mask is a full-resolution numpy array** (``demo.mask``, (H,W) bool, True = hole) and the single source of
  truth. The ipycanvas ``Canvas`` is only a *view*: a downscaled copy of the photo (longer side at most
  ``view_max`` px) with the hole tinted red. A brush stroke arrives as canvas-pixel events, is mapped to
  full-resolution coordinates and stamped into ``mask`` as a capsule (disc swept along the segment); then only
  the touched rectangle of the view is re-rendered from ``mask`` and sent (``put_image_data``). Nothing is read
  back from the browser, so the logic runs headless (tests replay ``canvas._handle_frontend_event``).
- **Large photos** stay at full resolution: ``Inpainter.inpaint`` inpaints windows around the hole and keeps every
  other pixel bit for bit; the download is the full-resolution PNG.
- **Never silently busy**: before inpainting or training, the status line and a progress bar are updated (widget
  messages leave the kernel at once, even while the callback runs); afterwards the status shows the timings.
- The brush size is in *screen* (view) pixels, i.e. what the user sees; undo keeps up to ``UNDO_DEPTH`` masks
  (bit-packed), one per stroke or clear.
- Checkpoint: the ``checkpoint`` argument, else ``$GDN_DEMO_CHECKPOINT`` (set by ``gdn demo --checkpoint``), else
  ``runs/cpu/det/last.pt`` (what ``make book`` trains), else the newest ``runs/*/det/last.pt``. Without one the
  demo says how to get one and offers a button that trains the small CPU model here.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import io
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = ["InpaintDemo", "BUILTIN_PHOTOS", "builtin_photo", "find_checkpoint", "stamp_segment", "png_bytes",
           "voila_command", "main_demo", "ENV_CHECKPOINT", "TRAIN_COMMAND"]

ROOT = Path(__file__).resolve().parents[2]  # the repository (editable install)
NOTEBOOK = Path("notebooks") / "demo.ipynb"
ENV_CHECKPOINT = "GDN_DEMO_CHECKPOINT"
DEFAULT_CHECKPOINT = Path("runs") / "cpu" / "det" / "last.pt"
# the last resort on a fresh clone: the cpu profile's warm-start generator, shipped with the package (no detector)
BUNDLED_CHECKPOINT = Path(__file__).resolve().parents[1] / "weights" / "cpu-warmstart.pt"
TRAIN_COMMAND = "gdn train --profile cpu --out runs/cpu/det"
# RGB photos bundled in the scikit-image wheel (no download, no pooch); retina (1411 px) exercises the window path
BUILTIN_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field",
                  "colorwheel", "retina")
_LINK_STYLE = ("display:inline-block;margin:6px 0;padding:5px 12px;border-radius:3px;background:#2e7d32;"
               "color:white;text-decoration:none")
HOLE_RGB = np.array([255, 32, 32], np.float32)  # tint of the hole on the canvas
UNDO_DEPTH = 30


# ---------------------------------------------------------------------------------------------- helpers --

def builtin_photo(name: str) -> np.ndarray:
    """A photo bundled with scikit-image as (H,W,3) uint8."""
    from skimage import data

    if name not in BUILTIN_PHOTOS:
        raise ValueError(f"unknown built-in photo {name!r}; choose one of {', '.join(BUILTIN_PHOTOS)}")
    return _as_rgb8(getattr(data, name)())


def _as_rgb8(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype != np.uint8:
        a = np.clip(np.rint(a.astype(np.float64) * (255 if a.dtype.kind == "f" else 1)), 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    return np.ascontiguousarray(a[:, :, :3])


def decode_upload(content: bytes, name: str = "upload") -> np.ndarray:
    """Bytes of an uploaded image file -> (H,W,3) uint8, upright (EXIF orientation applied)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(bytes(content))) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                a = np.asarray(im).astype(np.float64) / 65535.0
                return _as_rgb8(a)
            return np.asarray(im.convert("RGB")).copy()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise ValueError(f"{name}: cannot read the image ({str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__})") from None


def png_bytes(a: np.ndarray) -> bytes:
    from PIL import Image

    f = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a)).save(f, format="PNG")
    return f.getvalue()


def _resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
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


def _search_roots() -> list[Path]:
    roots = []
    for r in (Path.cwd(), Path.cwd().parent, ROOT):
        r = r.resolve()
        if r not in roots:
            roots.append(r)
    return roots


def find_checkpoint(checkpoint: str | os.PathLike | None = None) -> tuple[Path | None, list[str]]:
    """The checkpoint the demo should load, and the places it looked.

    Order: ``checkpoint`` (returned even when missing, so the demo can say so), ``$GDN_DEMO_CHECKPOINT``,
    ``runs/cpu/det/last.pt`` (``make book``), the newest ``runs/*/det/last.pt``, searched in the current
    folder, its parent (notebooks/ -> the repository) and the repository of this package; last the warm-start
    generator that ships with the package (it inpaints, but has no detector for the artifact map)."""
    for given in (checkpoint, os.environ.get(ENV_CHECKPOINT)):
        if given not in (None, ""):
            return Path(given).expanduser(), [str(given)]
    looked = []
    for root in _search_roots():
        looked.append(str(root / DEFAULT_CHECKPOINT))
        if (root / DEFAULT_CHECKPOINT).is_file():
            return root / DEFAULT_CHECKPOINT, looked
    found = []
    for root in _search_roots():
        looked.append(str(root / "runs" / "*" / "det" / "last.pt"))
        found += [p for p in (root / "runs").glob("*/det/last.pt") if p.is_file()]
    if found:
        return max(found, key=lambda p: p.stat().st_mtime), looked
    looked.append(str(BUNDLED_CHECKPOINT))
    if BUNDLED_CHECKPOINT.is_file():
        return BUNDLED_CHECKPOINT, looked
    return None, looked


# ------------------------------------------------------------------------------------------------ widget --

class InpaintDemo:
    """The demo as a widget: ``display(InpaintDemo())`` or leave it as the last expression of a cell.

    Parameters: ``checkpoint`` (path; default: see ``find_checkpoint``), ``photo`` (a built-in name or an
    (H,W,3) array), ``view_max`` (canvas side in px), ``device`` for the Inpainter, and where the
    "train a small model" button trains (``train_profile``, ``train_out``, ``train_overrides``)."""

    def __init__(self, checkpoint: str | os.PathLike | None = None, *, photo: str | np.ndarray = "astronaut",
                 view_max: int = 480, device: str = "auto", train_profile: str = "cpu",
                 train_out: str | os.PathLike | None = None, train_overrides: dict[str, str] | None = None):
        import ipywidgets as w
        from ipycanvas import Canvas

        self.view_max = int(view_max)
        self.device = device
        self.train_profile = train_profile
        self.train_out = Path(train_out) if train_out is not None else ROOT / "runs" / "cpu" / "det"
        self.train_overrides = dict(train_overrides or {})
        self.inpainter = None
        self.checkpoint: Path | None = None
        self.image = np.zeros((1, 1, 3), np.uint8)
        self.mask = np.zeros((1, 1), bool)
        self.history: list[tuple[np.ndarray, tuple[int, int]]] = []
        self.result: np.ndarray | None = None
        self.vmap: np.ndarray | None = None
        self.overlay_image: np.ndarray | None = None
        self.timings: dict[str, float] = {}
        self._stroke: tuple[float, float] | None = None  # last point of the stroke in progress (view px)
        self._photo_name = "photo"
        # draw commands sent before a browser view exists break ipycanvas's front end ("reading putImageData of
        # undefined"), so the canvas is only drawn after its first client_ready event (and fully on each one)
        self.client_ready = False

        # -- widgets --
        self.title = w.HTML("<div>Paint the region to remove, then press <b>Inpaint</b>. The artifact map is the "
                            "pixel-wise detector's valuation of the result (red = looks fake, blue = looks real).</div>")
        self.model_info = w.HTML().add_class("gdn-model")
        self.train_button = w.Button(description="Train a small CPU model", button_style="warning",
                                     layout=w.Layout(width="220px", display="none"), tooltip=TRAIN_COMMAND)
        self.train_progress = w.IntProgress(value=0, min=0, max=1, description="training",
                                            layout=w.Layout(display="none"))
        self.photo_picker = w.Dropdown(options=list(BUILTIN_PHOTOS), description="Photo",
                                       layout=w.Layout(width="260px"))
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="Upload photo")
        self.mode = w.ToggleButtons(options=[("Brush", "draw"), ("Eraser", "erase")], value="draw",
                                    style={"button_width": "80px"})
        self.brush = w.IntSlider(value=24, min=2, max=96, step=1, description="Brush size",
                                 continuous_update=False)
        self.undo_button = w.Button(description="Undo", layout=w.Layout(width="80px"))
        self.clear_button = w.Button(description="Clear", layout=w.Layout(width="80px"))
        self.inpaint_button = w.Button(description="Inpaint", button_style="primary",
                                       layout=w.Layout(width="120px")).add_class("gdn-inpaint")
        self.with_artifacts = w.Checkbox(value=True, description="artifact map", indent=False,
                                         layout=w.Layout(width="120px"),
                                         tooltip="run the detector on the result (about 5-10 s per megapixel on CPU)")
        self.progress = w.IntProgress(value=0, min=0, max=3, description="working",
                                      layout=w.Layout(visibility="hidden", width="260px"))
        self.status = w.HTML("").add_class("gdn-status")
        self.canvas = Canvas(width=1, height=1).add_class("gdn-canvas")
        self.input_view = w.Image(format="png", layout=w.Layout(width="100%", height="auto")).add_class("gdn-input")
        self.result_view = w.Image(format="png", layout=w.Layout(width="100%", height="auto")).add_class("gdn-result")
        self.artifact_view = w.Image(format="png",
                                     layout=w.Layout(width="100%", height="auto")).add_class("gdn-artifact")
        self.artifact_note = w.HTML("")
        self.download = w.HTML("").add_class("gdn-download")

        def panel(caption, *children):
            return w.VBox([w.HTML(f"<b>{caption}</b>"), *children], layout=w.Layout(width="32%", margin="0 0.5% 0 0"))

        self.widget = w.VBox([
            self.title,
            w.HBox([self.model_info, self.train_button, self.train_progress], layout=w.Layout(align_items="center")),
            w.HBox([self.photo_picker, self.upload]),
            w.HBox([self.mode, self.brush, self.undo_button, self.clear_button], layout=w.Layout(flex_flow="row wrap")),
            self.canvas,
            w.HBox([self.inpaint_button, self.with_artifacts, self.progress, self.status],
                   layout=w.Layout(align_items="center")),
            w.HBox([panel("Input (hole in white)", self.input_view),
                    panel("Result", self.result_view),
                    panel("Artifact map of the result", self.artifact_view, self.artifact_note)],
                   layout=w.Layout(width="100%")),
            self.download,
        ])

        # -- events --
        self.canvas.on_client_ready(self._client_ready)
        self.canvas.on_mouse_down(self._down)
        self.canvas.on_mouse_move(self._move)
        self.canvas.on_mouse_up(self._up)
        self.canvas.on_mouse_out(self._up)
        self.canvas.on_touch_start(lambda touches: touches and self._down(*touches[0]))
        self.canvas.on_touch_move(lambda touches: touches and self._move(*touches[0]))
        self.canvas.on_touch_end(lambda touches: self._up())
        self.canvas.on_touch_cancel(lambda touches: self._up())
        self.undo_button.on_click(lambda _: self.undo())
        self.clear_button.on_click(lambda _: self.clear())
        self.inpaint_button.on_click(lambda _: self.run_inpaint())
        self.train_button.on_click(lambda _: self.train_small_model())
        self.photo_picker.observe(self._on_pick, names="value")
        self.upload.observe(self._on_upload, names="value")

        if isinstance(photo, str):
            self.photo_picker.value = photo  # triggers _on_pick
            if self.image.shape[:2] == (1, 1):
                self.set_photo(builtin_photo(photo), photo)
        else:
            self.set_photo(photo, "photo")
        self.load_checkpoint(checkpoint)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # -- model ------------------------------------------------------------------------------------------
    def load_checkpoint(self, checkpoint: str | os.PathLike | None = None) -> bool:
        """Load ``checkpoint`` (or the one ``find_checkpoint`` picks); on failure show how to get one."""
        from gdn.engine.inference import Inpainter

        path, looked = find_checkpoint(checkpoint)
        self.inpainter, self.checkpoint = None, path
        if path is not None and path.is_file():
            try:
                self.inpainter = Inpainter.from_checkpoint(path, device=self.device)
            except Exception as e:  # noqa: BLE001 - any load failure is shown, not raised, in the widget
                self._no_model(f"cannot load <code>{path}</code>: {_html(str(e).splitlines()[0] if str(e) else type(e).__name__)}")
                return False
            cfg = self.inpainter.config
            det = "" if self.inpainter.detector is not None else " &mdash; <i>no detector: no artifact map</i>"
            self.model_info.value = (f"<b>Model</b>: <code>{_html(str(path))}</code> ({cfg.framework}, width {cfg.width}, "
                                     f"trained at {cfg.size} px){det}")
            self.train_button.layout.display = "none"
            self.train_progress.layout.display = "none"
            self.inpaint_button.disabled = False
            return True
        where = f"<code>{_html(str(path))}</code> does not exist" if path is not None else \
            "no checkpoint found (looked for " + ", ".join(f"<code>{_html(s)}</code>" for s in looked[:2]) + ", ...)"
        self._no_model(where)
        return False

    def _no_model(self, why: str) -> None:
        self.model_info.value = (
            f"<b>No model</b>: {why}.<br>Get one with <code>make book</code> (trains <code>{DEFAULT_CHECKPOINT}</code>) or "
            f"<code>{TRAIN_COMMAND}</code>, then reload; or press the button to train the small CPU model here "
            f"(profile <code>{self.train_profile}</code>; minutes to tens of minutes on a CPU).")
        self.train_button.layout.display = ""
        self.inpaint_button.disabled = True

    def train_small_model(self) -> Path | None:
        """Train the small model into ``train_out`` with a live progress bar, then load it."""
        from gdn.config import resolve
        from gdn.engine.train import train

        last = self.train_out / "last.pt"
        self.train_button.disabled = True
        self.train_progress.layout.display = ""
        self.train_progress.bar_style = "info"
        try:
            if not last.exists():
                cfg = resolve(self.train_profile, {"framework": "det", **self.train_overrides})
                self.status.value = f"training the {self.train_profile} model into <code>{_html(str(self.train_out))}</code>..."
                t0 = time.perf_counter()

                def tick(step: int, total: int) -> None:
                    self.train_progress.max = total
                    self.train_progress.value = step
                    if step % 10 == 0 or step == total:
                        self.status.value = f"training: step {step}/{total}, {time.perf_counter() - t0:.0f} s"
                last = train(cfg, self.train_out, progress=False, on_step=tick)
                self.status.value = f"trained {cfg.steps} steps in {time.perf_counter() - t0:.1f} s"
            self.train_progress.bar_style = "success"
            self.train_progress.value = self.train_progress.max
            if self.load_checkpoint(last):
                return Path(last)
        except Exception as e:  # noqa: BLE001
            self.train_progress.bar_style = "danger"
            self.status.value = f"<span style='color:#b00'>training failed: {_html(str(e).splitlines()[0] if str(e) else type(e).__name__)}</span>"
        finally:
            self.train_button.disabled = False
        return None

    # -- photo ------------------------------------------------------------------------------------------
    def _on_pick(self, change) -> None:
        name = change["new"]
        if name in BUILTIN_PHOTOS:
            self.set_photo(builtin_photo(name), name)

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        f = files[-1]
        try:
            image = decode_upload(f["content"], f.get("name", "upload"))
        except ValueError as e:
            self.status.value = f"<span style='color:#b00'>{_html(str(e))}</span>"
            return
        self.set_photo(image, f.get("name", "upload"))

    def set_photo(self, image: np.ndarray, name: str = "photo") -> None:
        """Show a new photo (any size, kept at full resolution) with an empty hole."""
        self.image = _as_rgb8(image)
        H, W = self.image.shape[:2]
        self._photo_name = Path(name).stem or "photo"
        self.mask = np.zeros((H, W), bool)
        self.history.clear()
        self.result = self.vmap = self.overlay_image = None
        vh, vw = view_shape(H, W, self.view_max)
        self.view_image = _resize(self.image, (vh, vw))
        self._iy = np.minimum(((np.arange(vh) + 0.5) * H / vh).astype(np.int64), H - 1)
        self._ix = np.minimum(((np.arange(vw) + 0.5) * W / vw).astype(np.int64), W - 1)
        self.canvas.width, self.canvas.height = vw, vh
        self.canvas.layout.width, self.canvas.layout.height = f"{vw}px", f"{vh}px"
        self.result_view.value = png_bytes(np.full((vh, vw, 3), 235, np.uint8))
        self.artifact_view.value = self.result_view.value
        self.artifact_note.value = ""
        self.download.value = ""
        self.redraw()
        self._update_input_view()
        self.status.value = f"{_html(self._photo_name)}: {W}x{H} px. Paint the hole."

    # -- drawing ----------------------------------------------------------------------------------------
    @property
    def scale(self) -> tuple[float, float]:
        """Full-resolution pixels per view pixel, (sy, sx)."""
        return self.mask.shape[0] / self.canvas.height, self.mask.shape[1] / self.canvas.width

    def _to_full(self, x: float, y: float) -> tuple[float, float]:
        sy, sx = self.scale
        return (x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5

    def stroke(self, p0: tuple[float, float], p1: tuple[float, float]) -> None:
        """Paint (or erase, in eraser mode) the segment p0-p1 given in canvas pixels."""
        sy, sx = self.scale
        radius = self.brush.value / 2 * max(sx, sy)
        box = stamp_segment(self.mask, self._to_full(*p0), self._to_full(*p1), radius, self.mode.value == "draw")
        if box is not None:
            self.redraw(box)

    def _down(self, x, y) -> None:
        self.push_history()
        self._stroke = (x, y)
        self.stroke((x, y), (x, y))

    def _move(self, x, y) -> None:
        if self._stroke is not None:
            self.stroke(self._stroke, (x, y))
            self._stroke = (x, y)

    def _up(self, x=None, y=None) -> None:
        if self._stroke is None:
            return
        self._stroke = None
        self._update_input_view()
        self._show_hole_size()

    def push_history(self) -> None:
        self.history.append((np.packbits(self.mask, axis=None), self.mask.shape))
        del self.history[:-UNDO_DEPTH]

    def undo(self) -> None:
        if not self.history:
            self.status.value = "nothing to undo"
            return
        packed, shape = self.history.pop()
        self.mask = np.unpackbits(packed, count=shape[0] * shape[1]).reshape(shape).astype(bool)
        self.redraw()
        self._update_input_view()
        self._show_hole_size()

    def clear(self) -> None:
        if self.mask.any():
            self.push_history()
            self.mask[:] = False
        self.redraw()
        self._update_input_view()
        self._show_hole_size()

    def _show_hole_size(self) -> None:
        H, W = self.mask.shape
        n = int(self.mask.sum())
        self.status.value = f"hole: {n:,} px ({100 * n / (H * W):.1f}% of {W}x{H})"

    def render_view(self, y0: int = 0, y1: int | None = None, x0: int = 0, x1: int | None = None) -> np.ndarray:
        """The canvas pixels [y0:y1, x0:x1]: the downscaled photo with the hole tinted."""
        patch = self.view_image[y0:y1, x0:x1].copy()
        hole = self.mask[np.ix_(self._iy[y0:y1], self._ix[x0:x1])]
        if hole.any():
            patch[hole] = np.rint(patch[hole] * 0.35 + HOLE_RGB * 0.65).astype(np.uint8)
        return patch

    def _client_ready(self) -> None:
        self.client_ready = True
        self.redraw()

    def redraw(self, box: tuple[int, int, int, int] | None = None) -> None:
        """Send the whole view, or only the part covering the full-resolution box (y0, y1, x0, x1)."""
        if not self.client_ready:
            return
        vh, vw = self.view_image.shape[:2]
        if box is None:
            y0, y1, x0, x1 = 0, vh, 0, vw
        else:
            H, W = self.mask.shape
            y0, x0 = max(math.floor(box[0] * vh / H) - 1, 0), max(math.floor(box[2] * vw / W) - 1, 0)
            y1, x1 = min(math.ceil(box[1] * vh / H) + 1, vh), min(math.ceil(box[3] * vw / W) + 1, vw)
        if y1 > y0 and x1 > x0:
            self.canvas.put_image_data(self.render_view(y0, y1, x0, x1), x0, y0)

    def masked_input(self) -> np.ndarray:
        """The network's view of the input: the photo with the hole filled white (full resolution)."""
        out = self.image.copy()
        out[self.mask] = 255
        return out

    def _update_input_view(self) -> None:
        vh, vw = self.view_image.shape[:2]
        view = self.view_image.copy()
        view[self.mask[np.ix_(self._iy, self._ix)]] = 255
        self.input_view.value = png_bytes(view)

    # -- inpainting -------------------------------------------------------------------------------------
    def run_inpaint(self) -> np.ndarray | None:
        """Inpaint the hole (full resolution), show the result and its artifact map, offer the PNG."""
        from gdn.engine.inference import overlay

        if self.inpainter is None:
            self.status.value = ("<span style='color:#b00'>no model loaded: see above (<code>make book</code> or "
                                 f"<code>{TRAIN_COMMAND}</code>)</span>")
            return None
        if not self.mask.any():
            self.status.value = "paint a hole first"
            return None
        H, W = self.mask.shape
        self.inpaint_button.disabled = True
        self.progress.layout.visibility = "visible"
        self.progress.bar_style = "info"
        self.progress.value = 0
        self.progress.description = "inpainting"
        self.status.value = f"inpainting {W}x{H} px..."
        try:
            t0 = time.perf_counter()
            result = self.inpainter.inpaint(self.image, self.mask)
            t1 = time.perf_counter()
            self.progress.value = 1
            self.result = result
            vh, vw = self.view_image.shape[:2]
            self.result_view.value = png_bytes(_resize(result, (vh, vw)))
            if self.inpainter.detector is not None and self.with_artifacts.value:
                self.progress.description = "artifacts"
                self.status.value = f"generator done in {t1 - t0:.2f} s; computing the artifact map..."
                self.vmap = self.inpainter.artifact_map(result)
                self.overlay_image = overlay(result, self.vmap, 0.5)
                self.artifact_view.value = png_bytes(_resize(self.overlay_image, (vh, vw)))
                hole_v = float(self.vmap[self.mask].mean())
                rest_v = float(self.vmap[~self.mask].mean()) if (~self.mask).any() else float("nan")
                self.artifact_note.value = f"mean V: hole {hole_v:.2f}, elsewhere {rest_v:.2f}"
            else:
                self.vmap = self.overlay_image = None
                self.artifact_view.value = png_bytes(np.full((vh, vw, 3), 235, np.uint8))
                self.artifact_note.value = ("this checkpoint has no pixel-wise detector" if self.inpainter.detector is None
                                            else "artifact map switched off")
            t2 = time.perf_counter()
            self.progress.value = 2
            data = base64.b64encode(png_bytes(result)).decode("ascii")
            self.download.value = (f"<a download='{_html(self._photo_name)}_inpainted.png' "
                                   f"href='data:image/png;base64,{data}' style='{_LINK_STYLE}'>"
                                   f"&#x2B07; Download the result (PNG, {W}x{H})</a>")
            t3 = time.perf_counter()
            self.progress.value = 3
            self.progress.bar_style = "success"
            self.progress.description = "done"
            windows = self.inpainter.last_windows
            how = ("whole image" if len(windows) == 1 and windows[0].groups is None
                   else f"{len(windows)} window{'s' * (len(windows) != 1)}")
            self.timings = {"inpaint_s": t1 - t0, "artifact_s": t2 - t1, "encode_s": t3 - t2, "total_s": t3 - t0}
            self.status.value = (f"inpainted {W}x{H} px in {t1 - t0:.2f} s ({how}); artifact map "
                                 f"{t2 - t1:.2f} s; total {t3 - t0:.2f} s")
            return result
        except Exception as e:  # noqa: BLE001 - shown in the widget
            self.progress.bar_style = "danger"
            self.status.value = f"<span style='color:#b00'>inpainting failed: {_html(str(e).splitlines()[0] if str(e) else type(e).__name__)}</span>"
            return None
        finally:
            self.inpaint_button.disabled = self.inpainter is None


def _html(s: str) -> str:
    import html
    return html.escape(s, quote=True)


# ---------------------------------------------------------------------------------------------- serving --

def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def voila_command(notebook: str | os.PathLike, port: int) -> list[str]:
    """The Voila command line that serves ``notebook`` on 127.0.0.1:``port``."""
    exe = Path(sys.executable).with_name("voila")
    head = [str(exe)] if exe.exists() else ([shutil.which("voila")] if shutil.which("voila") else
                                             [sys.executable, "-m", "voila"])
    return head + [str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
                   "--show_tracebacks=True"]


def main_demo(argv: list[str] | None = None) -> int:
    """``gdn demo [--port 8866] [--checkpoint PATH] [--no-browser]``: serve notebooks/demo.ipynb with Voila."""
    p = argparse.ArgumentParser(prog="gdn demo", description="Serve the interactive inpainting demo with Voila "
                                "on localhost (Ctrl-C stops it).")
    p.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default 8866)")
    p.add_argument("--checkpoint", default=None,
                   help=f"checkpoint to load (default: {DEFAULT_CHECKPOINT}, then the newest runs/*/det/last.pt)")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for Voila to start (default 120)")
    args = p.parse_args(argv)

    notebook = ROOT / NOTEBOOK
    if not notebook.is_file():
        raise FileNotFoundError(f"{notebook}: the demo notebook is missing")
    env = dict(os.environ)
    if args.checkpoint:
        ckpt = Path(args.checkpoint).expanduser().resolve()
        if not ckpt.is_file():
            raise FileNotFoundError(f"{args.checkpoint}: checkpoint not found")
        env[ENV_CHECKPOINT] = str(ckpt)
    if not 0 < args.port < 65536:
        raise ValueError(f"--port {args.port}: not a TCP port")
    if not _port_free(args.port):
        raise OSError(f"port {args.port} on 127.0.0.1 is in use; pass --port with another number")
    cmd = voila_command(notebook, args.port)
    try:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    except FileNotFoundError:
        raise RuntimeError("voila is not installed: pip install 'gdn[demo]' (or make venv)") from None
    url = f"http://127.0.0.1:{args.port}/"

    def stop(*_):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    def on_term(*_):  # unwind out of proc.wait(); the finally clause stops Voila
        raise SystemExit(143)
    old_term = signal.signal(signal.SIGTERM, on_term)
    try:
        deadline = time.monotonic() + args.timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited with status {proc.returncode} before serving {url}")
            try:  # a bare TCP connect: a GET of the page would start a kernel
                with socket.create_connection(("127.0.0.1", args.port), timeout=2):
                    break
            except OSError:  # not up yet
                if time.monotonic() > deadline:
                    raise RuntimeError(f"voila did not answer at {url} within {args.timeout:.0f} s") from None
                time.sleep(0.3)
        print(f"demo: {url}", flush=True)
        if not args.no_browser:
            import webbrowser
            with contextlib.suppress(Exception):
                webbrowser.open(url)
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop()
        signal.signal(signal.SIGTERM, old_term)
