"""A small-machine variant of the paper's generator, beside it rather than inside it, and the one factory that
builds the generator of a config. Not in the paper: the cpu profile's deviation, measured in the Training chapter.

The variant keeps the paper's layer table and state-dict keys (it subclasses :class:`gdn.networks.Generator`)
and changes only what goes in and comes out: the network learns a departure from a training-free fill (an
*anchor*, :mod:`gdn.baselines`), so its fills take their colours from the photo at hand and not from a prior
learned on a few training photos.

    G = build_generator(cfg)     # cfg.colour_anchor: "none" (the paper), "residual" or "spline"
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from functools import partial

from gdn.baselines import LEVELS, harmonic, spline, valid_mean
from gdn.networks import Generator

__all__ = ["ANCHORS", "ResidualGenerator", "SplineResidualGenerator", "build_generator", "smooth_anchor",
           "anchor_fill", "generator_fill"]

SMOOTH = 9  # box size of the blur that gives valid pixels an anchor without a step at the hole's border


def smooth_anchor(fill: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``fill`` in the holes and, on valid pixels, ``fill`` blurred by a ``SMOOTH`` x ``SMOOTH`` box: an anchor
    with no step at the hole's border, that leaves the network the valid pixels' detail to learn (anchored to
    the photo itself there, an L1 loss pulls the whole network to zero output). (B,3,H,W)."""
    blur = F.avg_pool2d(fill, SMOOTH, stride=1, padding=SMOOTH // 2, count_include_pad=False)
    return mask * fill + (1 - mask) * blur


class ResidualGenerator(Generator):
    """The paper's network on a colour-free input: ``pred = A + s * G(d / s, M)``, where ``A`` is
    :func:`smooth_anchor` over a training-free ``fill`` (:func:`harmonic` here), ``d = (I - A)(1 - M)`` the
    valid pixels' detail around it (zero in the holes) and ``s`` each image's per-channel RMS of ``d``
    (``floor`` added). An affine change of any channel's levels (a tint, a brightness or contrast change)
    changes ``A``, ``d`` and ``s`` alike and leaves ``d / s`` unchanged, so the output follows it exactly: the
    network cannot learn a colour prior, only detail. The paper's output tanh is gone (the output is a sum); it is kept in [0, 1] by a clamp whose
    gradient passes through (a clamped pixel still learns)."""

    floor = 2 / 255  # RMS added to s: a flat channel's noise is not blown up
    # the training-free fill the network departs from, over a pyramid of fixed depth (an exported graph fits
    # every image size; the same fill as a full pyramid up to 128 px)
    fill = staticmethod(partial(harmonic, levels=LEVELS))

    def __init__(self, width: int = 64, res_blocks: int = 8, norm: str = "instance"):
        super().__init__(width, res_blocks, norm)
        torch.nn.init.zeros_(self.decoder[-1].weight)  # a new network starts as its anchor, not as noise on it

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # image (B,3,H,W) in [0,1]; mask (B,1,H,W), 1 = hole
        anchor = smooth_anchor(self.fill(image, mask), mask)  # (B,3,H,W)
        keep = 1 - mask
        detail = (image - anchor) * keep  # (B,3,H,W), 0 in the holes: the hole's pixels never reach the network
        scale = valid_mean(detail ** 2, mask).sqrt() + self.floor  # (B,3,1,1): the detail's RMS per channel
        out = anchor + scale * self.decoder(self.middle(self.encoder(torch.cat([detail / scale, mask], dim=1))))
        return out + (out.clamp(0, 1) - out).detach()  # (B,3,H,W) in [0,1], straight-through gradient


class SplineResidualGenerator(ResidualGenerator):
    """:class:`ResidualGenerator` around a thin-plate spline under tension (:func:`gdn.baselines.spline`)
    instead of the harmonic fill: a better start at the scale the network works at (the Generalisation chapter
    measures both), the same network and state-dict keys."""

    fill = staticmethod(spline)


_KINDS = {"none": Generator, "residual": ResidualGenerator, "spline": SplineResidualGenerator}
ANCHORS = tuple(_KINDS)


def build_generator(cfg) -> Generator:
    """The generator of a config (``gdn.config.Config``): ``colour_anchor`` picks the class, ``width``,
    ``res_blocks`` and ``norm`` its size. Every caller (frameworks, checkpoints, training, notebooks, demo,
    export) builds it here."""
    if cfg.colour_anchor not in _KINDS:
        raise ValueError(f"unknown colour_anchor {cfg.colour_anchor!r}; choose one of {ANCHORS}")
    return _KINDS[cfg.colour_anchor](cfg.width, cfg.res_blocks, cfg.norm)


def anchor_fill(cfg):
    """The training-free fill that the generator of a config starts from (``gdn.baselines.harmonic`` or
    ``spline``), or None for the paper's generator: the control that shows what the network adds."""
    return {"none": None, "residual": harmonic, "spline": spline}[cfg.colour_anchor]


def generator_fill(cfg):
    """The fill the generator of a config departs from, exactly as it computes it (its class's ``fill``), or None:
    what :class:`gdn.Inpainter` computes beside an exported generator, and at a photo's full resolution."""
    return getattr(_KINDS[cfg.colour_anchor], "fill", None)
