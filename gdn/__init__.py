"""gdn: Pixel-wise Dense Detector for Image Inpainting (Zhang et al., Pacific Graphics 2020) in PyTorch.

The method, at the top: ``networks`` (G, Det, the Adv discriminator), ``losses`` (Eq. 4-7), ``frameworks``
(one training step of Weight, Adv, Det) and ``config`` (the paper's settings, the profiles). Beside it, the
primitives: ``imageio``, ``files``, ``masks``, ``data``, ``device``, ``stats``, ``baselines`` and ``evaluation``
(scores, FID, Table 1's protocol; ``metrics`` is its contract name). Then ``engine`` (train, checkpoint,
evaluate, inference, export, bench), ``book`` (what ``gdn book`` and the notebooks use), and the faces:
``demo`` and ``cli``. Imports run one way, down this list.
"""
from gdn.config import Config, resolve
from gdn.losses import detector_loss, weight_map, weighted_l1
from gdn.networks import Detector, Discriminator, Generator
from gdn.version import __version__

__all__ = ["Config", "resolve", "Generator", "Detector", "Discriminator", "detector_loss", "weight_map",
           "weighted_l1", "Inpainter", "__version__"]


def __getattr__(name):
    # Inference pulls in image I/O; load it only when asked for.
    if name == "Inpainter":
        from gdn.engine.inference import Inpainter
        return Inpainter
    raise AttributeError(f"module 'gdn' has no attribute {name!r}")
