"""Loss functions of the paper (Sec. 3.4) and of the two frameworks it is compared with (Sec. 4.3).

Shapes: ``prob`` is the detector's valuation V, (B,1,H,W) in [0,1]; ``mask`` is M, (B,1,H,W), 1 = hole;
``pred`` and ``target`` are (B,3,H,W) in [0,1].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "DETECTOR_LOSSES", "WEIGHT_MAPPINGS", "detector_loss", "weight_map", "weighted_l1",
    "hole_weighted_l1", "adversarial_d_loss", "adversarial_g_loss",
]

DETECTOR_LOSSES = ("ce", "bce", "focal")  # Eq. 4, 5, 6
WEIGHT_MAPPINGS = ("linear", "exp")  # Sec. 3.4.3
_EPS = 1e-8  # the official code clips probabilities to [1e-8, 1 - 1e-8] before the log


def detector_loss(prob: torch.Tensor, mask: torch.Tensor, kind: str = "focal", gamma: float = 2.0) -> torch.Tensor:
    """The detector's segmentation loss, Eq. 4 (``"ce"``), Eq. 5 (``"bce"``) or Eq. 6 (``"focal"``).

    ``alpha`` is each image's hole ratio (Sec. 3.4.1), so hole pixels, usually the minority, weigh
    ``1 - alpha`` and valid pixels ``alpha``. The mean runs over the pixels of each image, then over the
    batch (all images have the same size, so this is the mean over all elements).
    """
    if kind not in DETECTOR_LOSSES:
        raise ValueError(f"unknown detector loss {kind!r}; choose one of {DETECTOR_LOSSES}")
    v = prob.clamp(_EPS, 1 - _EPS)
    hole = mask * torch.log(v)  # M_i log V_i
    valid = (1 - mask) * torch.log(1 - v)  # (1 - M_i) log(1 - V_i)
    if kind == "ce":
        per_pixel = hole + valid
    else:
        alpha = mask.mean(dim=(1, 2, 3), keepdim=True)  # (B,1,1,1) hole ratio of each image
        if kind == "bce":
            per_pixel = (1 - alpha) * hole + alpha * valid
        else:
            per_pixel = (1 - alpha) * (1 - v) ** gamma * hole + alpha * v ** gamma * valid
    return -per_pixel.mean()


def weight_map(prob: torch.Tensor, kind: str = "exp", base: float = 10.0) -> torch.Tensor:
    """Weight mapping of Sec. 3.4.3, from the valuation V in [0,1] to a weight W >= 1:
    ``"linear"``: W = 1 + V (range [1, 2]); ``"exp"``: W = base ** V (range [1, base], base > 1)."""
    if kind not in WEIGHT_MAPPINGS:
        raise ValueError(f"unknown weight mapping {kind!r}; choose one of {WEIGHT_MAPPINGS}")
    if kind == "linear":
        return 1 + prob
    if not base > 1:
        raise ValueError(f"the exponential weight mapping needs base > 1, got {base}")
    return torch.pow(torch.as_tensor(float(base), dtype=prob.dtype, device=prob.device), prob)


def weighted_l1(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The weighted reconstruction loss of Eq. 7, ``mean(W * |I_out - I_gt|)`` over all elements.

    ``weight`` (B,1,H,W) broadcasts over the colour channels. In the Det framework the caller must not
    detach it: the generator's only adversarial signal is the gradient that flows back through the
    detector into this weight (Eq. 8; the official code does the same).
    """
    return (weight * (pred - target).abs()).mean()


def hole_weighted_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                     hole: float = 6.0, valid: float = 1.0, known: torch.Tensor | None = None) -> torch.Tensor:
    """The Weight framework's hard-weighted L1 (Sec. 4.3): weight ``hole`` (6) on the holes and ``valid``
    (1) elsewhere, as PConv's L_hole and L_valid, each normalised by the number of elements. ``known``
    (B,1,H,W), 1 = the pixel's truth is known: the others weigh 0 (per-photo learning)."""
    weight = hole * mask + valid * (1 - mask)
    return weighted_l1(pred, target, weight if known is None else weight * known)


def adversarial_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's side of Eq. 2 (non-saturating GAN): ``-log D(I_gt) - log(1 - D(I_out))``, halved."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return (real + fake) / 2


def adversarial_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's L_adv of Eq. 3 in its non-saturating form, ``-log D(I_out)``."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
