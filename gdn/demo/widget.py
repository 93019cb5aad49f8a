"""The interactive inpainting demo: draw a hole on a photo, inpaint it, see the detector's artifact map.

    from gdn.demo import InpaintDemo
    InpaintDemo()            # in a notebook cell (JupyterLab or Voila); ``gdn demo`` / ``make demo`` serves it

Design:
- **The mask is a full-resolution numpy array** (``demo.mask``, (H,W) bool, True = hole), the single source of truth.
  The ipycanvas ``Canvas`` is only a *view*: the photo downscaled (longer side at most ``view_max`` px), the hole
  tinted red. A brush stroke's canvas-pixel events are mapped to full resolution and stamped into ``mask`` as a
  capsule; only the touched rectangle of the view is re-rendered and sent (``put_image_data``). Nothing is read back
  from the browser, so the logic runs headless (tests replay ``canvas._handle_frontend_event``).
- **Large photos** stay at full resolution (``Inpainter.inpaint``: the networks at their trained scale, every other
  pixel bit for bit); the download is the full-resolution PNG. "learn the photo first": per-photo learning.
- **Never silently busy**: the status line and a progress bar move before and during the work; then the timings.
- The brush size is in *screen* (view) pixels; undo keeps up to ``UNDO_DEPTH`` bit-packed masks.
- Checkpoint: the ``checkpoint`` argument, else ``$GDN_DEMO_CHECKPOINT`` (``gdn demo --checkpoint``), else
  ``runs/cpu/det/last.pt`` (``make book``), else the newest ``runs/*/det/last.pt``; without one, the demo says how
  to get one and offers a button that trains the small CPU model here.
"""
from __future__ import annotations

import base64
import html
import math
import os
import time
from pathlib import Path
import numpy as np

from gdn.demo.canvas import (BUILTIN_PHOTOS, HOLE_RGB, as_rgb8, builtin_photo, decode_upload, png_bytes,
                             resize_view, stamp_segment, view_shape)
from gdn.demo import launch

__all__ = ["InpaintDemo"]

_LINK_STYLE = ("display:inline-block;margin:6px 0;padding:5px 12px;border-radius:3px;background:#2e7d32;"
               "color:white;text-decoration:none")
UNDO_DEPTH = 30


# ------------------------------------------------------------------------------------------------ widget --

class InpaintDemo:
    """The demo as a widget: ``display(InpaintDemo())`` or leave it as the last expression of a cell.

    Parameters: ``checkpoint`` (path; default: see ``launch.find_checkpoint``), ``photo`` (a built-in name or an
    (H,W,3) array), ``view_max`` (canvas side in px), ``device`` for the Inpainter, and where the
    "train a small model" button trains (``train_profile``, ``train_out``, ``train_overrides``)."""

    def __init__(self, checkpoint: str | os.PathLike | None = None, *, photo: str | np.ndarray = "astronaut",
                 view_max: int = 480, device: str = "auto", train_profile: str = "cpu",
                 train_out: str | os.PathLike | None = None, train_overrides: dict[str, str] | None = None):
        import ipywidgets as w
        from ipycanvas import Canvas

        self.view_max, self.device, self.train_profile = int(view_max), device, train_profile
        self.train_out = Path(train_out) if train_out is not None else launch.home() / launch.DEFAULT_CHECKPOINT.parent
        self.train_overrides = dict(train_overrides or {})
        self.inpainter, self.checkpoint = None, None  # the loaded Inpainter and its checkpoint path
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
                                     layout=w.Layout(width="220px", display="none"), tooltip=launch.TRAIN_COMMAND)
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
        self.with_artifacts = w.Checkbox(value=True, description="artifact map", indent=False, layout=w.Layout(
            width="120px"), tooltip="run the detector on the result (about 5-10 s per megapixel on CPU)")
        self.learn = w.Checkbox(value=False, description="learn the photo first", indent=False,
                                layout=w.Layout(width="170px"), tooltip="per-photo learning: a copy of the model "
                                "trains on this photo's own pixels before filling (about 10 s on a CPU)")
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
            w.HBox([self.inpaint_button, self.learn, self.with_artifacts, self.progress, self.status],
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
        """Load ``checkpoint`` (or the one ``launch.find_checkpoint`` picks); on failure show how to get one."""
        from gdn.engine.inference import Inpainter

        path, looked = launch.find_checkpoint(checkpoint)
        self.inpainter, self.checkpoint = None, path
        if path is not None and path.is_file():
            try:
                self.inpainter = Inpainter.from_checkpoint(path, device=self.device)
            except Exception as e:  # noqa: BLE001 - any load failure is shown, not raised, in the widget
                self._no_model(f"cannot load <code>{path}</code>: {_one_line(e)}")
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
            f"<b>No model</b>: {why}.<br>Get one with <code>make book</code> (trains "
            f"<code>{launch.DEFAULT_CHECKPOINT}</code>) or "
            f"<code>{launch.TRAIN_COMMAND}</code>, then reload; or press the button to train the small CPU model here "
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
            self.status.value = _error(f"training failed: {_one_line(e)}")
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
            self.status.value = _error(_html(str(e)))
            return
        self.set_photo(image, f.get("name", "upload"))

    def set_photo(self, image: np.ndarray, name: str = "photo") -> None:
        """Show a new photo (any size, kept at full resolution) with an empty hole."""
        self.image = as_rgb8(image)
        H, W = self.image.shape[:2]
        self._photo_name = Path(name).stem or "photo"
        self.mask = np.zeros((H, W), bool)
        self.history.clear()
        self.result = self.vmap = self.overlay_image = None
        vh, vw = view_shape(H, W, self.view_max)
        self.view_image = resize_view(self.image, (vh, vw))
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
            self.status.value = _error(f"no model loaded: see above (<code>make book</code> or "
                                       f"<code>{launch.TRAIN_COMMAND}</code>)")
            return None
        if not self.mask.any():
            self.status.value = "paint a hole first"
            return None
        H, W = self.mask.shape
        from gdn.engine.adapt import Adaptation

        inp = self.inpainter
        inp.set_adapt(Adaptation() if self.learn.value else 0)  # the recipe's steps (off by default: gdn.engine.adapt)
        steps = inp.adaptation.steps
        self.inpaint_button.disabled = True
        self.progress.layout.visibility = "visible"
        self.progress.bar_style = "info"
        self.progress.max, self.progress.value = steps + 3, 0
        self.progress.description = "learning" if steps else "inpainting"
        self.status.value = f"learning the photo ({steps} steps)..." if steps else f"inpainting {W}x{H} px..."

        def learned(step: int, total: int) -> None:
            self.progress.value, self.progress.description = step, "learning" if step < total else "inpainting"
            self.status.value = (f"learning the photo: step {step}/{total}" if step < total
                                 else f"learned the photo in {total} steps; inpainting {W}x{H} px...")
        inp.progress = learned
        try:
            t0 = time.perf_counter()
            result = self.inpainter.inpaint(self.image, self.mask)
            t1 = time.perf_counter()
            self.progress.value = steps + 1
            self.result = result
            vh, vw = self.view_image.shape[:2]
            self.result_view.value = png_bytes(resize_view(result, (vh, vw)))
            if self.inpainter.detector is not None and self.with_artifacts.value:
                self.progress.description = "artifacts"
                self.status.value = f"generator done in {t1 - t0:.2f} s; computing the artifact map..."
                self.vmap = self.inpainter.artifact_map(result)
                self.overlay_image = overlay(result, self.vmap, 0.5)
                self.artifact_view.value = png_bytes(resize_view(self.overlay_image, (vh, vw)))
                hole_v = float(self.vmap[self.mask].mean())
                rest_v = float(self.vmap[~self.mask].mean()) if (~self.mask).any() else float("nan")
                self.artifact_note.value = f"mean V: hole {hole_v:.2f}, elsewhere {rest_v:.2f}"
            else:
                self.vmap = self.overlay_image = None
                self.artifact_view.value = png_bytes(np.full((vh, vw, 3), 235, np.uint8))
                self.artifact_note.value = ("this checkpoint has no pixel-wise detector" if self.inpainter.detector is None
                                            else "artifact map switched off")
            t2 = time.perf_counter()
            self.progress.value = steps + 2
            data = base64.b64encode(png_bytes(result)).decode("ascii")
            self.download.value = (f"<a download='{_html(self._photo_name)}_inpainted.png' "
                                   f"href='data:image/png;base64,{data}' style='{_LINK_STYLE}'>"
                                   f"&#x2B07; Download the result (PNG, {W}x{H})</a>")
            t3 = time.perf_counter()
            self.progress.value = steps + 3
            self.progress.bar_style = "success"
            self.progress.description = "done"
            how = f"the generator {self.inpainter.last_scale}" + (f", after {steps} steps on the photo" if steps else "")
            self.timings = {"inpaint_s": t1 - t0, "artifact_s": t2 - t1, "encode_s": t3 - t2, "total_s": t3 - t0}
            self.status.value = (f"inpainted {W}x{H} px in {t1 - t0:.2f} s ({how}); artifact map "
                                 f"{t2 - t1:.2f} s; total {t3 - t0:.2f} s")
            return result
        except Exception as e:  # noqa: BLE001 - shown in the widget
            self.progress.bar_style = "danger"
            self.status.value = _error(f"inpainting failed: {_one_line(e)}")
            return None
        finally:
            self.inpaint_button.disabled = self.inpainter is None


def _html(s: str) -> str:
    return html.escape(s, quote=True)


def _one_line(e: BaseException) -> str:
    """An exception as one escaped line: its message's first line, or its type's name when it has none."""
    return _html(str(e).splitlines()[0] if str(e) else type(e).__name__)


def _error(markup: str) -> str:
    """``markup`` in the widget's error colour."""
    return f"<span style='color:#b00'>{markup}</span>"


