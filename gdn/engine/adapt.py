"""Per-photo learning (not in the paper): before a photo is filled, a copy of the generator, and of its critic,
trains a few steps on the photo itself.

A few dozen training photos cannot teach a network the texture of a new photo; the photo can. Its valid pixels
are a training set whose truth is known: random strokes from the training distribution are hidden among them
(on top of the photo's own hole), the copy learns to fill them with its framework's own losses
(:class:`gdn.frameworks.Framework`: Weight's hole-weighted L1, Det's detector and weighted L1, Adv's
discriminator), every reconstruction term restricted to the pixels whose truth is known, so the photo's own hole
is never in any loss. Then the adapted copy fills the real hole. The checkpoint's networks are never changed.

    gen, critic = adapt(generator, critic, cfg, image, hole, Adaptation(steps=60))

Everything runs at the scale the generator works at for this photo (:mod:`gdn.engine.scales`), in crops of its
training size, so a step costs the same for a 512 px and a 2048 px photo. Seeded: the same photo, mask and
settings give the same networks on the same machine (a CPU adapts on one thread, whatever the thread count).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import torch
from torch import nn

from gdn.masks import random_mask

__all__ = ["Adaptation", "DEFAULT_STEPS", "LAYERS", "adapt", "photo_batch"]

LAYERS = ("all", "decoder")  # the generator's layers that may learn on a photo (Adaptation.layers)


@dataclass(frozen=True)
class Adaptation:
    """The recipe of per-photo learning, chosen on the validation photos for the cpu profile's networks (the
    Per-photo learning chapter's record): 60 steps at Adam 5e-4 without decay beat 100 steps, 1e-3, a cosine decay,
    a held-out choice of the step count and strokes shaped like the photo's own hole. Only the decoder learning
    (Adam 2e-3) with the fill averaged over flips looked better on the pairs it was picked on and was not on fresh
    validation pairs, so ``layers`` and ``flips`` keep the recipe's values by default."""
    steps: int = 60  # generator steps on the photo
    lr: float = 5e-4  # the generator's Adam learning rate (a critic keeps its config's d_lr)
    batch_size: int = 8  # crops of the training size per step
    seed: int = 0  # masks, crops and flips
    framework: str = "weight"  # whose losses: "weight" (the hole-weighted L1, whatever the checkpoint) or "own"
    #                            (the checkpoint's framework, its critic adapting alongside: Det's detector, Adv's
    #                            discriminator); on the validation photos Det's own min-max made fills worse
    layers: str = "all"  # which of the generator's layers learn: "all", or "decoder" (its upsampling half; the
    #                      encoder and the residual blocks keep what the training photos taught them)
    flips: bool = False  # the adapted fill is the mean of the fills of the photo's four flips, flipped back

    def __post_init__(self):
        if self.steps < 0:
            raise ValueError(f"adaptation steps must be >= 0, got {self.steps}")
        if self.framework not in ("weight", "own"):
            raise ValueError(f"framework must be 'weight' or 'own', got {self.framework!r}")
        if self.layers not in LAYERS:
            raise ValueError(f"layers must be one of {LAYERS}, got {self.layers!r}")
        if self.batch_size < 1 or not self.lr > 0:
            raise ValueError(f"adaptation needs batch_size >= 1 and lr > 0, got {self.batch_size}, {self.lr}")


# The steps `adapt=None` takes (gdn inpaint, the demo, Inpainter): 0, per-photo learning is off by default. On the
# validation photos the recipe above did not beat the full-resolution spline by the margin asked of it (the
# Per-photo learning chapter's record) and costs tens of seconds a photo on two cores.
DEFAULT_STEPS = 0


def photo_batch(image: torch.Tensor, hole: torch.Tensor, side: int, batch_size: int,
                rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """One batch of the photo's own training set: ``batch_size`` random crops (at most ``side`` square, multiples
    of 4) of ``image`` (1,3,h,w) with its ``hole`` (1,1,h,w), 1 = unknown, randomly flipped, each with a random
    training mask (:func:`gdn.masks.random_mask`) hidden among its pixels:
    ``{"image", "mask": the photo's hole and the hidden strokes, "known": the hidden strokes off the photo's hole}``."""
    h, w = image.shape[-2:]
    ch, cw = max(4, min(side, h) // 4 * 4), max(4, min(side, w) // 4 * 4)
    images, masks, known = [], [], []
    for _ in range(batch_size):
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        crop = torch.cat([image, hole], dim=1)[..., y:y + ch, x:x + cw]  # (1,4,ch,cw)
        if rng.random() < 0.5:
            crop = crop.flip(-1)
        if rng.random() < 0.5:
            crop = crop.flip(-2)
        hidden = torch.from_numpy(random_mask((ch, cw), rng)).to(image)[None, None]  # (1,1,ch,cw), 1 = hidden
        images.append(crop[:, :3])
        masks.append(torch.maximum(crop[:, 3:], hidden))
        known.append((1 - crop[:, 3:]) * hidden)
    return {"image": torch.cat(images), "mask": torch.cat(masks), "known": torch.cat(known)}


def adapt(generator: nn.Module, critic: nn.Module | None, cfg, image: torch.Tensor, hole: torch.Tensor,
          settings: Adaptation = Adaptation(), *, precision: str = "fp32",
          progress: Callable[[int, int], None] | None = None) -> tuple[nn.Module, nn.Module | None]:
    """Copies of ``generator`` and ``critic`` trained ``settings.steps`` steps on ``image`` (1,3,h,w) in [0,1]
    with its ``hole`` (1,1,h,w), 1 = hole, in crops of the training size ``cfg.size``, with the Weight framework's
    loss or, with ``settings.framework="own"``, ``cfg.framework``'s (``cfg``: the checkpoint's config; a
    checkpoint without its critic adapts with the Weight framework's loss: a new critic would start from noise).
    ``progress(step, total)`` after each step. The originals are untouched; the copies come back in eval mode."""
    from gdn.frameworks import Framework

    framework = cfg.framework if critic is not None and settings.framework == "own" else "weight"
    gen = copy.deepcopy(generator).train()
    crit = copy.deepcopy(critic).train() if framework != "weight" else None
    for name, p in gen.named_parameters():
        p.requires_grad_(settings.layers == "all" or name.startswith(f"{settings.layers}."))
    for p in crit.parameters() if crit is not None else ():
        p.requires_grad_(True)
    fw = Framework(replace(cfg, framework=framework, lr=settings.lr, precision=precision), gen, crit)
    rng = np.random.default_rng(settings.seed)
    device = next(gen.parameters()).device
    threads = torch.get_num_threads()
    if device.type == "cpu":
        # batches of eight small crops: one thread does them as fast as two, and a second thread stalls under any
        # other load on the cores (gdn bench --photo, 2 AVX2 cores at a load of 3: 8-10 s a photo on one thread,
        # 57-137 s on two); one thread also makes the result independent of the machine's thread count
        torch.set_num_threads(1)
    try:
        with torch.inference_mode(False), torch.enable_grad():
            image, hole = image.to(device).clone(), hole.to(device).clone()  # normal tensors, even from inference
            for step in range(settings.steps):
                fw.step(photo_batch(image, hole, cfg.size, settings.batch_size, rng))
                if progress is not None:
                    progress(step + 1, settings.steps)
    finally:
        torch.set_num_threads(threads)
    return gen.eval(), (crit.eval() if crit is not None else None)
