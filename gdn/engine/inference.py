"""Inpainting and artifact maps with a trained checkpoint, for photos of any size, bit depth and layout.

    inp = Inpainter.from_checkpoint("runs/det/last.pt")
    out = inp.inpaint("photo.jpg", "mask.png")          # (H,W,3) uint8
    v = inp.artifact_map(out)                             # (H,W) float32, the detector's valuation V

Design decisions (and why):

- **Valid pixels are never touched.** The network only proposes values for hole pixels; the result is
  composited at the very end in the caller's own integer (or float) domain, ``out = where(hole, net, original)``,
  so every pixel outside the hole comes back bit for bit, whatever resizing happened on the way.
- **The generator works at the scale it was trained at.** A generator learns detail at the scale of its
  training images (:func:`gdn.engine.loader.content_side`: ``size`` for a folder of photos brought whole to
  ``size``, about 1.5 x ``size`` for the built-in photos' crops). A photo whose shorter side is larger is
  brought down (antialiased, aspect kept) until its shorter side is that ``working_side``; the hole's colours
  never leak into the small image (normalised resampling of the valid pixels) and any working pixel the hole
  touches is a hole. The generator fills the small image, its fill is upsampled (bilinear), and the detail the
  small image could not hold (the photo minus that upsampled fill, around the hole) is continued into the hole
  by a harmonic fill at full resolution (:func:`gdn.engine.scales.detail_fill`, per group of nearby holes).
  Run natively on a large photo, the network met content finer-grained than any it was trained on and made
  its own training-free start worse (Generalisation chapter); at its working scale it sees what it learned. A
  photo at most ``working_side`` on its shorter side runs natively (never upscaled: that would only invent
  blur), padded (reflect) at the bottom/right to a multiple of 4 (at least 16).
- **Artifact maps at the working scale.** The detector judges local texture (receptive field about 34 px) at
  the scale it was trained at, so it sees the result brought to the same working size as the generator, and
  its map is upsampled. Up to ``detector_whole_pixels`` (1 MP) the working image goes through whole; larger
  ones (a long panorama) go through ``detector_tile`` (512) px tiles with a 32 px halo, which only bounds
  memory: away from the image border the values equal a whole-image pass. ``detector_scale`` (``gdn inpaint
  --artifact-scale``, default 2) looks at the photo at that many times the working side (never above the
  photo's own size). With the cpu profile's detector (its cool-down started from a trained detector), on the
  validation photos at 256 and 512 px and two seeds, 2x finds Det's fills of thin scratches far better than 1x
  (2-4 px at the model's scale: AUROC 0.69-0.70 to 0.89-0.92) and loses nothing on heavy strokes or free-form
  holes (free-form +0.04); on the test photos, checked after the choice, 16 px strokes 0.02 and free-form holes
  0.01 lower (the Detector chapter's record of 7 December 2026, ``(record-detector-scale-2)``).
- **Inputs.** Images: ndarray (uint8, uint16, float in [0,1]; (H,W), (H,W,1), (H,W,2) gray+alpha, (H,W,3),
  (H,W,4)), PIL image or path. Files are read with Pillow, except 16-bit colour PNG/TIFF, which Pillow would
  truncate to 8 bits, and are then read with OpenCV. A file's EXIF orientation is applied (the photo as viewers
  show it), so the output is written upright. Alpha is ignored by the network and copied unchanged.
  Masks: 1 / True / white = hole. Files: luminance >= 128 (8-bit) or >= 32768 (16-bit) is a hole, so grey
  JPEG residue is re-binarised rather than rejected; arrays: bool as is, floats and integer arrays holding only
  0/1 at 0.5, other uint8 at 128, uint16 at 32768. ``invert_mask`` flips the polarity (black = hole).
- **Backends.** ``backend="onnx"`` (``gdn inpaint --model DIR``) runs the models of ``gdn export`` with
  onnxruntime on the CPU in fp32; only the two network calls change, so the working scale, padding,
  compositing and the detector's tiling are the same code and valid pixels stay bit for bit.
- **Output files** (``gdn inpaint``) keep the input's layout: gray stays gray, alpha is kept, 16-bit stays
  16-bit in PNG/TIFF. JPEG output re-compresses (lossy, 8-bit, no alpha), so only PNG, TIFF, BMP and
  lossless WebP keep the valid pixels bit for bit.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gdn.anchored import generator_fill
from gdn.device import PRECISIONS, autocast, compile_for_inference, resolve_device
from gdn.engine.adapt import DEFAULT_STEPS, Adaptation, adapt
from gdn.engine.checkpoint import CheckpointError, build_networks, load_checkpoint
from gdn.engine.loader import content_side
from gdn.engine.scales import Scale, ceil4, detail_fill, downscale, net_side, pad, working_shape
from gdn.files import atomic_write
from gdn.networks import Detector
from gdn.imageio import (LUMA, InputError, Pixels, check_output, encode, quantise, read_image, read_mask, to_rgb01,
                         to_rgb8)

__all__ = ["Inpainter", "Scale", "inpaint_file", "artifact_colormap", "overlay"]

BACKENDS = ("torch", "onnx")
DETECTOR_HALO = 32  # px of context around each detector tile; the detector's receptive field is ~34 px wide
BATCH_SIZE = 8  # detector tiles per call
FLIPS = ((), (-1,), (-2,), (-1, -2))  # the four flips of a photo: as is, left-right, up-down, both


class Inpainter:
    """A trained generator (and, for Det checkpoints, its detector) ready for photos of any size.

    ``working_side`` is the shorter side a photo is brought down to for the networks (the scale they were
    trained at; ``from_checkpoint`` takes it from the checkpoint's config, :func:`gdn.engine.loader.content_side`);
    smaller photos run natively. See the module notes for the strategy.

    ``adapt``: per-photo learning (:mod:`gdn.engine.adapt`) at the working scale before each fill: ``None`` (the
    default) takes the project's default steps (:data:`gdn.engine.adapt.DEFAULT_STEPS`, today 0) where it can
    (the torch backend with the checkpoint's ``config``), ``0`` turns it off, ``N`` takes N steps of the
    :class:`~gdn.engine.adapt.Adaptation` recipe, an ``Adaptation`` sets everything (which layers learn, the
    fill averaged over flips). ``critic`` is the network that adapts alongside the generator (default: the
    detector; an Adv checkpoint's discriminator); ``progress(step, total)`` is called after each adaptation step.

    ``backend="onnx"`` runs models written by ``gdn export`` with onnxruntime on the CPU (fp32): ``generator``
    and ``detector`` are then ``.onnx`` paths (or ``gdn.engine.export.OnnxNetwork``); the working scale, padding,
    compositing and the artifact map's tiling are the same code as for PyTorch. It cannot adapt (no gradients).
    """

    detector_tile = 512  # core side of the detector's tiles (a memory bound only; any multiple of 4)
    detector_whole_pixels = 1 << 20  # images up to this many pixels go through the detector in one pass
    detector_scale = 2.0  # the detector sees a large photo at this many times the working side (module notes)

    def __init__(self, generator: nn.Module, detector: nn.Module | None = None, *, working_side: int = 256,
                 device: str | torch.device = "cpu", precision: str = "fp32", batch_size: int = BATCH_SIZE,
                 backend: str = "torch", compile: bool = False, adapt: int | Adaptation | None = None,
                 config=None, critic: nn.Module | None = None,
                 progress: Callable[[int, int], None] | None = None):
        if working_side < 16:
            raise ValueError(f"working_side must be at least 16, got {working_side}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if backend == "onnx":
            if precision != "fp32":
                raise InputError(f"the onnx backend runs fp32 only, not {precision}")
            if str(device) not in ("auto", "cpu"):
                raise InputError(f"--device {device}: the onnx backend runs on the CPU (onnxruntime)")
            if compile:
                raise InputError("compile applies to the torch backend; onnxruntime optimises its own graph")
            generator, detector = _onnx_networks(generator, detector)
            device = "cpu"
        self.backend = backend
        self.device = _device(device)
        self.working_side, self.precision, self.batch_size = int(working_side), precision, max(1, int(batch_size))
        self.generator = generator.eval().to(self.device) if isinstance(generator, nn.Module) else generator
        self.detector = detector.eval().to(self.device) if isinstance(detector, nn.Module) else detector
        critic = detector if critic is None else critic
        self.critic = critic.eval().to(self.device) if isinstance(critic, nn.Module) else None
        # what the passes call: the networks, or their compiled forms (each new working shape compiles once)
        self._generator, self._detector = self.generator, self.detector
        if compile:
            self._generator = compile_for_inference(self.generator, self.device)
            self._detector = None if detector is None else compile_for_inference(self.detector, self.device)
        self.config = config
        # the training-free fill the generator departs from (gdn.anchored), or None (the paper's generator)
        self.anchor = generator_fill(config) if backend == "onnx" and config is not None else \
            getattr(self.generator, "fill", None)
        self.set_adapt(adapt)
        self.progress = progress
        self.last_scale: Scale | None = None  # the scale of the latest inpaint call, for inspection

    def set_adapt(self, adapt: int | Adaptation | None) -> None:
        """Set the per-photo learning of the next fills (``adapt`` as the constructor's); the demo's switch."""
        self.adaptation = self._adaptation(adapt)

    def _adaptation(self, adapt) -> Adaptation:
        if isinstance(adapt, Adaptation):
            settings = adapt
        elif adapt is None:  # the default, where this Inpainter can learn
            can = self.backend == "torch" and self.config is not None
            return Adaptation(steps=DEFAULT_STEPS if can else 0)
        else:
            if isinstance(adapt, bool) or int(adapt) != adapt:
                raise InputError(f"--adapt takes a whole number of steps, got {adapt!r}")
            settings = Adaptation(steps=int(adapt))
        if settings.steps and self.backend == "onnx":
            raise InputError("the onnx backend cannot adapt to a photo (onnxruntime has no gradients): use "
                             "--adapt 0, or the checkpoint with the torch backend")
        if settings.steps and self.config is None:
            raise ValueError("per-photo learning needs the checkpoint's training config: use "
                             "Inpainter.from_checkpoint, or pass config=")
        return settings

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: str | torch.device = "auto",
                        precision: str = "fp32", batch_size: int = BATCH_SIZE, backend: str = "torch",
                        compile: bool = False, adapt: int | Adaptation | None = None,
                        progress: Callable[[int, int], None] | None = None) -> "Inpainter":
        """Load a checkpoint (``CheckpointError`` on any problem); the working side is its config's
        :func:`~gdn.engine.loader.content_side`.
        Only a ``det`` checkpoint has a detector (the artifact map): the Adv discriminator scores whole images, and
        adapts alongside the generator. ``backend="onnx"``: ``path`` is a folder written by ``gdn export``
        (``ExportError`` on any problem)."""
        if backend == "onnx":
            from gdn.engine.export import load_exported

            generator, detector, cfg = load_exported(path)
            return cls(generator, detector, working_side=content_side(cfg), device=device, precision=precision,
                       batch_size=batch_size, backend="onnx", adapt=adapt, config=cfg, progress=progress)
        if Path(path).is_dir() and (Path(path) / "generator.onnx").is_file():
            raise CheckpointError(f"{path}: an ONNX export folder, not a checkpoint; use the onnx backend")
        dev = _device(device)
        ckpt = load_checkpoint(path)
        generator, critic = build_networks(ckpt, path)
        cfg = ckpt["config"]
        detector = critic if isinstance(critic, Detector) else None
        return cls(generator, detector, working_side=content_side(cfg), device=dev, precision=precision,
                   batch_size=batch_size, compile=compile, adapt=adapt, config=cfg, critic=critic, progress=progress)

    def scale(self, shape: tuple[int, int], side: int | None = None) -> Scale:
        """The scale a photo of ``shape`` (H, W) goes through the networks at (and adapts at); ``side``: another
        working side than the generator's (the detector's, ``detector_scale``)."""
        return Scale(tuple(shape), working_shape(*shape, self.working_side if side is None else side))

    # -- network passes ---------------------------------------------------------------------------------
    def _autocast(self):
        return autocast(self.device, self.precision)

    def _generate(self, x: torch.Tensor, m: torch.Tensor, generator=None, anchor: bool = False,
                  flips: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(1,3,h,w) image in [0,1], (1,1,h,w) mask (1 = hole) -> (1,3,h,w) raw prediction of ``generator``
        (default: this Inpainter's), padded on the way, and with ``anchor`` the generator's own anchor on the same
        padded input (so an untrained residual generator's prediction minus it is exactly zero); with ``flips``
        each is the mean over the four flips of the input, flipped back (:attr:`Adaptation.flips`)."""
        h, w = x.shape[-2:]
        ph, pw = net_side(h) - h, net_side(w) - w
        xp, mp = pad(x, 0, ph, 0, pw).to(self.device), pad(m, 0, ph, 0, pw).to(self.device)
        net = self._generator if generator is None else generator

        def mean_over_flips(f):  # f(image, mask) -> (1,3,h',w') float
            return torch.stack([_flip(f(_flip(xp, d), _flip(mp, d)), d) for d in (FLIPS if flips else ((),))]).mean(0)

        with torch.inference_mode(), self._autocast():
            pred = mean_over_flips(lambda a, b: net(a, b).float())
        base = None
        if anchor:
            with torch.inference_mode():
                base = mean_over_flips(lambda a, b: self.anchor(a.float(), b.float())).cpu()[..., :h, :w]
        return pred.cpu()[..., :h, :w], base

    def _adapted(self, x: torch.Tensor, m: torch.Tensor):
        """The generator that fills this photo: a copy adapted to it at the working scale ((1,3,h,w) image and
        (1,1,h,w) hole, padded as the generator sees them), or the checkpoint's when adaptation is off."""
        if not self.adaptation.steps:
            return self._generator
        h, w = x.shape[-2:]
        ph, pw = net_side(h) - h, net_side(w) - w
        generator, _ = adapt(self.generator, self.critic, self.config, pad(x, 0, ph, 0, pw), pad(m, 0, ph, 0, pw),
                             self.adaptation, precision=self.precision, progress=self.progress)
        return generator

    def _predict(self, rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """(H,W,3) float32 image, (H,W) bool hole -> (H,W,3) float32 holding the prediction at hole pixels."""
        scale = self.last_scale = self.scale(hole.shape)
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]  # (1,3,H,W)
        m = torch.from_numpy(hole).to(x.dtype)[None, None]  # (1,1,H,W), 1 = hole
        xs, ms = (x, m) if scale.native else downscale(x, m, scale.work)  # (1,3,h,w), (1,1,h,w): the working scale
        generator = self._adapted(xs, ms)
        flips = bool(self.adaptation.steps) and self.adaptation.flips  # the adapted fill only
        if scale.native:
            return self._generate(x, m, generator, flips=flips)[0][0].permute(1, 2, 0).numpy()
        small, base = self._generate(xs, ms, generator, anchor=self.anchor is not None, flips=flips)
        with torch.inference_mode():
            if base is not None:
                # the generator's learned departure from its anchor, zero off the working hole, upsampled onto the
                # same anchor computed on the full-resolution photo: an untrained network returns that anchor
                correction = F.interpolate((small - base) * ms, size=scale.photo, mode="bilinear",
                                           align_corners=False)  # (1,3,H,W)
                pred = self.anchor(x, m) + correction
            else:  # the paper's generator: its fill upsampled, the full-resolution detail continued into the hole
                coarse = F.interpolate(small, size=scale.photo, mode="bilinear", align_corners=False)  # (1,3,H,W)
                pred = coarse + detail_fill(x - coarse, hole)
        return pred[0].permute(1, 2, 0).numpy()

    def _inputs(self, image, mask, invert_mask: bool) -> tuple[Pixels, np.ndarray]:
        pix = read_image(image)
        hole = read_mask(mask, invert=invert_mask)
        _check_pair(pix, hole, mask)
        return pix, hole

    # -- public API ---------------------------------------------------------------------------------------
    def inpaint(self, image, mask, *, invert_mask: bool = False) -> np.ndarray:
        """Fill the hole of ``image``; returns (H,W,3) uint8. Pixels outside the hole are the original's
        (converted to 8-bit RGB: gray replicated, alpha dropped, 16-bit rounded) bit for bit."""
        pix, hole = self._inputs(image, mask, invert_mask)
        base = to_rgb8(pix)  # (H,W,3) uint8
        if not hole.any():
            self.last_scale = None
            return base
        pred = self._predict(to_rgb01(pix), hole)  # (H,W,3) float32
        return np.where(hole[:, :, None], quantise(pred, np.uint8, 255), base)

    def inpaint_like(self, image, mask, *, invert_mask: bool = False):
        """Like ``inpaint`` but in the input's own form: same shape, channels and dtype (gray stays gray, alpha is
        untouched, 16-bit stays 16-bit, a PIL image gives a PIL image); only hole pixels change."""
        pix, hole = self._inputs(image, mask, invert_mask)
        out = pix.data.copy()
        if hole.any():
            pred = self._predict(to_rgb01(pix), hole)[hole]  # (N,3) float32
            c = pix.colour_channels
            if c == 1:
                pred = pred @ (np.array(LUMA, np.float32) / 1000)[:, None]  # (N,1) luminance
            out[:, :, :c][hole] = quantise(pred, out.dtype, pix.white)
        else:
            self.last_scale = None
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
        rgb = to_rgb01(read_image(image))
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None]  # (1,3,H,W)
        if not self.detector_scale > 0:
            raise InputError(f"the detector's scale must be a positive factor, got {self.detector_scale!r}")
        scale = self.scale(rgb.shape[:2], round(self.detector_scale * self.working_side))
        if scale.native:
            return self._detect(x).clamp(0, 1).numpy().astype(np.float32)
        small = F.interpolate(x, size=scale.work, mode="bilinear", antialias=True, align_corners=False)
        v = F.interpolate(self._detect(small)[None, None], size=scale.photo, mode="bilinear", align_corners=False)
        return v[0, 0].clamp(0, 1).numpy().astype(np.float32)

    def _detect(self, x: torch.Tensor) -> torch.Tensor:
        """(1,3,H,W) image in [0,1] -> (H,W) valuation, whole or in tiles (module notes)."""
        H, W = x.shape[-2:]
        S, h = ceil4(self.detector_tile), DETECTOR_HALO
        with torch.inference_mode(), self._autocast():
            if H * W <= self.detector_whole_pixels:
                xp = pad(x, 0, net_side(H) - H, 0, net_side(W) - W).to(self.device)
                return self._detector(xp).float()[0, 0, :H, :W].cpu()  # (H,W)
            ny, nx = -(-H // S), -(-W // S)
            xp = pad(x, h, h + ny * S - H, h, h + nx * S - W)  # (1,3,ny*S+2h,nx*S+2h)
            v = torch.empty(ny * S, nx * S)
            tiles = [(i, j) for i in range(ny) for j in range(nx)]
            for k in range(0, len(tiles), self.batch_size):
                part = tiles[k:k + self.batch_size]
                batch = torch.cat([xp[..., i * S:(i + 1) * S + 2 * h, j * S:(j + 1) * S + 2 * h] for i, j in part])
                prob = self._detector(batch.to(self.device)).float().cpu()  # (B,1,S+2h,S+2h)
                for (i, j), p in zip(part, prob):
                    v[i * S:(i + 1) * S, j * S:(j + 1) * S] = p[0, h:h + S, h:h + S]
            return v[:H, :W]


def _check_pair(pix: Pixels, hole: np.ndarray, mask, invert_mask: bool | None = None) -> None:
    """The mask fits the image and leaves something to condition on; ``invert_mask`` (the command line's
    flag) adds a hint at the other polarity."""
    name = str(mask) if isinstance(mask, (str, os.PathLike)) else "mask"
    if hole.shape != pix.shape:
        raise InputError(f"{name} is {hole.shape[1]}x{hole.shape[0]} but {pix.name} is {pix.shape[1]}x{pix.shape[0]}")
    if hole.all():
        hint = "" if invert_mask is None else f" (try {'without' if invert_mask else 'with'} --invert-mask)"
        raise InputError(f"{name}: every pixel is a hole, so there is nothing to condition on{hint}")


def _flip(t: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    return t.flip(dims) if dims else t


def _device(device: str | torch.device) -> torch.device:
    """:func:`gdn.device.resolve_device`, its error phrased as bad input (it names the option)."""
    try:
        return resolve_device(device)
    except ValueError as e:
        raise InputError(f"--device {device}: {e}") from None


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
    base = to_rgb8(read_image(image)).astype(np.float32)
    heat = artifact_colormap(vmap, cmap).astype(np.float32)
    if heat.shape != base.shape:
        raise InputError(f"the map is {heat.shape[1]}x{heat.shape[0]} but the image is {base.shape[1]}x{base.shape[0]}")
    return np.rint((1 - alpha) * base + alpha * heat).astype(np.uint8)


# ------------------------------------------------------------------------------------------------- files --

def inpaint_file(image: str, mask: str, output: str, *, model: str, backend: str = "torch",
                 artifact_map: str | None = None, invert_mask: bool = False, device: str = "auto",
                 precision: str = "fp32", adapt: int | None = None, artifact_scale: float = 2.0,
                 progress: Callable[[int, int], None] | None = None) -> str:
    """What ``gdn inpaint`` does: fill ``image``'s holes and write ``output`` (and the detector's ``artifact_map``)
    in the image's own mode. Every check happens before any file is written, and each file is encoded in memory
    and moved into place atomically, so a failure leaves both files as they were. Returns a one-line summary."""
    ext = check_output(output, "output")
    map_ext = check_output(artifact_map, "artifact map") if artifact_map else None
    if artifact_map and Path(artifact_map).resolve() == Path(output).resolve():
        raise InputError(f"{artifact_map}: the artifact map cannot overwrite the output")
    pix = read_image(image)
    hole = read_mask(mask, invert=invert_mask)
    if not hole.any():
        flip = "without" if invert_mask else "with"
        raise InputError(f"{mask}: the mask has no hole, so there is nothing to inpaint "
                         f"(holes are {'black' if invert_mask else 'white'}; try {flip} --invert-mask)")
    _check_pair(pix, hole, mask, invert_mask)
    inp = Inpainter.from_checkpoint(model, device=device, precision=precision, backend=backend, adapt=adapt,
                                    progress=progress)
    if artifact_map and inp.detector is None:
        what = "checkpoint" if backend == "torch" else "export"
        raise InputError(f"{model}: a {inp.config.framework} {what} has no pixel-wise detector; "
                         f"--artifact-map needs a det {what}")
    inp.detector_scale = artifact_scale
    out = inp.inpaint_like(pix, hole).reshape(pix.data.shape)  # (H,W,C) in the image's dtype and layout
    data = encode(out, pix.white, ext, pix.icc_profile)
    if artifact_map:
        map_data = encode(artifact_colormap(inp.artifact_map(replace(pix, data=out))), 255.0, map_ext)
    atomic_write(output, lambda f: f.write(data))
    if artifact_map:
        atomic_write(artifact_map, lambda f: f.write(map_data))
    how = f"{pix.shape[1]}x{pix.shape[0]}, the generator {inp.last_scale}"
    if inp.last_scale is not None and not inp.last_scale.native and inp.anchor is not None:
        how += ", its correction added to its anchor at full resolution"
    if inp.adaptation.steps:
        how += f", adapted to the photo in {inp.adaptation.steps} steps"
    return f"wrote {output} ({how})" + (f" and {artifact_map}" if artifact_map else "")
