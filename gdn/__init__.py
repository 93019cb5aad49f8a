"""gdn: Pixel-wise Dense Detector for Image Inpainting (Zhang et al., Pacific Graphics 2020) in PyTorch.

Modules, one responsibility each: ``networks`` (G, Det, the Adv discriminator), ``losses`` (Eq. 4-7),
``frameworks`` (one training step of Weight, Adv, Det), ``masks``, ``data``, ``metrics``, ``baselines``,
``config``, ``train``, ``checkpoint``, ``evaluation``, ``inference``, ``bench``, ``book``, ``demo``.
"""
from gdn.config import Config, resolve
from gdn.losses import detector_loss, weight_map, weighted_l1
from gdn.networks import Detector, Discriminator, Generator

__version__ = "0.1.0"
__all__ = ["Config", "resolve", "Generator", "Detector", "Discriminator", "detector_loss", "weight_map",
           "weighted_l1", "Inpainter"]


def __getattr__(name):
    # Inference pulls in image I/O; load it only when asked for.
    if name == "Inpainter":
        from gdn.engine.inference import Inpainter
        return Inpainter
    raise AttributeError(f"module 'gdn' has no attribute {name!r}")
