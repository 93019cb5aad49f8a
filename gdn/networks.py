"""The networks of the paper (Sec. 3.3): the generator, the pixel-wise artifact detector, and the
scalar-output discriminator that the Adv framework of Sec. 4.3 trains instead of the detector.

Layer tables follow the official TensorFlow code (see ``shared/reference/official_gdn.md``, Sec. 2-3):
no conv bias and affine instance norm in the generator, Xavier-uniform initialisation, a 2-class softmax
head on the detector. At the defaults ``Generator`` has 10,779,328 parameters and ``Detector`` 2,267,490.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["Generator", "Detector", "Discriminator", "count_parameters", "corrupt", "NORMS"]


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def corrupt(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The corrupted input of Sec. 3.1, ``I_in = I_gt * (1 - M) + M``: holes are filled white."""
    return image * (1 - mask) + mask


def _xavier(module: nn.Module) -> None:
    # The official code initialises every conv and deconv with Glorot-uniform weights and zero bias.
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


NORMS = ("instance", "none")  # the generator's normalisation (``norm``)


def _norm(channels: int, norm: str) -> nn.Module:
    # "instance": the paper's affine instance norm; "none": an identity in its place, so that the layer indices
    # (and the state-dict keys of every conv) stay the same
    return nn.InstanceNorm2d(channels, affine=True, eps=1e-5) if norm == "instance" else nn.Identity()


def _conv_in_relu(c_in: int, c_out: int, k: int, stride: int = 1, reflect: int = 0, zero: int = 0,
                  norm: str = "instance"):
    layers: list[nn.Module] = []
    if reflect:
        layers.append(nn.ReflectionPad2d(reflect))
    layers += [
        nn.Conv2d(c_in, c_out, k, stride=stride, padding=zero, bias=False),
        _norm(c_out, norm),
        nn.ReLU(inplace=True),
    ]
    return layers


class ResBlock(nn.Module):
    """Residual block of the generator: dilated (2) 3x3 conv, IN, ReLU, plain 3x3 conv, IN; ``x + F(x)``
    with no activation after the sum (official ``resblock``)."""

    def __init__(self, channels: int, dilation: int = 2, norm: str = "instance"):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(dilation),
            nn.Conv2d(channels, channels, 3, dilation=dilation, bias=False),
            _norm(channels, norm),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=False),
            _norm(channels, norm),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Generator(nn.Module):
    """The generator G of Sec. 3.3.1: an EdgeConnect-style encoder, 8 dilated residual blocks, decoder.

    ``width`` is the channel count of the first layer (the paper's 64); a smaller width gives small machines
    a cheaper network of the same shape. ``forward(image, mask)`` builds the corrupted input
    itself (Sec. 3.1), so pixels of ``image`` under the hole never reach the network.

    ``norm="none"`` replaces the instance norms by identities (same state-dict keys): a deviation that small
    machines use, measured in the Training chapter. Variants that change the input and output around this
    network live in :mod:`gdn.anchored`.
    """

    def __init__(self, width: int = 64, res_blocks: int = 8, norm: str = "instance"):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"unknown generator norm {norm!r}; choose one of {NORMS}")
        w = width
        self.width, self.res_blocks, self.norm = width, res_blocks, norm
        self.encoder = nn.Sequential(
            *_conv_in_relu(4, w, 7, reflect=3, norm=norm),
            *_conv_in_relu(w, 2 * w, 4, stride=2, zero=1, norm=norm),
            *_conv_in_relu(2 * w, 4 * w, 4, stride=2, zero=1, norm=norm),
        )
        self.middle = nn.Sequential(*[ResBlock(4 * w, norm=norm) for _ in range(res_blocks)])
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(4 * w, 2 * w, 4, stride=2, padding=1, bias=False),
            _norm(2 * w, norm),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1, bias=False),
            _norm(w, norm),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(3),
            nn.Conv2d(w, 3, 7, bias=False),
        )
        _xavier(self)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # image (B,3,H,W) in [0,1]; mask (B,1,H,W), 1 = hole; H, W multiples of 4
        x = torch.cat([corrupt(image, mask), mask], dim=1)  # (B,4,H,W)
        x = self.decoder(self.middle(self.encoder(x)))  # (B,3,H,W) logits
        return (torch.tanh(x) + 1) / 2  # (B,3,H,W) raw prediction I_out in [0,1]


def _same_pad_4(stride: int) -> nn.Module:
    # TF 'SAME' for a 4x4 kernel: stride 1 pads 1 before and 2 after; stride 2 on even sizes pads 1/1.
    return nn.ZeroPad2d((1, 2, 1, 2) if stride == 1 else (1, 1, 1, 1))


def _detector_trunk(width: int = 32) -> nn.Sequential:
    """The five 4x4 convs of the detector (Sec. 3.3.2): 32, 64, 128/s2, 256/s2, 256, LeakyReLU 0.2
    (``width`` 32, the paper's; a smaller width scales every layer, for small machines)."""
    w = width
    layers: list[nn.Module] = []
    for c_in, c_out, s in [(3, w, 1), (w, 2 * w, 1), (2 * w, 4 * w, 2), (4 * w, 8 * w, 2), (8 * w, 8 * w, 1)]:
        layers += [_same_pad_4(s), nn.Conv2d(c_in, c_out, 4, stride=s), nn.LeakyReLU(0.2, inplace=True)]
    return nn.Sequential(*layers)


class Detector(nn.Module):
    """The pixel-wise artifact detector Det of Sec. 3.3.2: seven layers (five convs, two deconvs, no norm,
    no activation between the deconvs) and a 2-class softmax. ``forward`` returns the valuation V of
    Sec. 3.2, the per-pixel probability of the artifact (hole) class. ``width`` (32, the paper's) scales the
    channels of every layer."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.width = width
        self.trunk = _detector_trunk(width)
        self.head = nn.Sequential(
            nn.ConvTranspose2d(8 * width, 4 * width, 4, stride=2, padding=1),
            nn.ConvTranspose2d(4 * width, 2, 4, stride=2, padding=1),
        )
        _xavier(self)

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(image))  # (B,2,H,W): channel 1 = artifact

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        # image (B,3,H,W) in [0,1] -> V (B,1,H,W) in [0,1]
        return torch.softmax(self.logits(image), dim=1)[:, 1:2]


class Discriminator(nn.Module):
    """The Adv framework's discriminator (Sec. 4.3): the detector's trunk, a 1x1 conv to one logit per
    location, then the average over locations, so the generator sees one scalar per image (the "average
    strategy" that Sec. 3.2 argues loses the artifacts' positions). Returns logits of shape (B,)."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.width = width
        self.trunk = _detector_trunk(width)
        self.out = nn.Conv2d(8 * width, 1, 1)
        _xavier(self)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.out(self.trunk(image)).mean(dim=(1, 2, 3))  # (B,) real/fake logit
