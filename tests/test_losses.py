import math

import numpy as np
import pytest
import torch

from gdn.losses import (adversarial_d_loss, adversarial_g_loss, detector_loss, hole_weighted_l1, weight_map,
                        weighted_l1)


def _printed_equation(v, m, kind, gamma=2.0):
    """Eq. 4-6 term by term in float64 numpy, with alpha the hole ratio of each image."""
    v = np.clip(v.astype(np.float64), 1e-8, 1 - 1e-8)
    m = m.astype(np.float64)
    per_image = []
    for vi, mi in zip(v, m):
        alpha = mi.mean()
        n = mi.size
        total = 0.0
        for vv, mm in zip(vi.ravel(), mi.ravel()):
            if kind == "ce":
                total += mm * math.log(vv) + (1 - mm) * math.log(1 - vv)
            elif kind == "bce":
                total += (1 - alpha) * mm * math.log(vv) + alpha * (1 - mm) * math.log(1 - vv)
            else:
                total += ((1 - alpha) * (1 - vv) ** gamma * mm * math.log(vv)
                          + alpha * vv ** gamma * (1 - mm) * math.log(1 - vv))
        per_image.append(-total / n)
    return float(np.mean(per_image))


@pytest.mark.parametrize("kind", ["ce", "bce", "focal"])
def test_detector_loss_equals_the_printed_equation(kind):
    g = torch.Generator().manual_seed(3)
    prob = torch.rand(3, 1, 6, 7, generator=g, dtype=torch.float64)
    mask = (torch.rand(3, 1, 6, 7, generator=g) < torch.tensor([0.1, 0.4, 0.7]).view(3, 1, 1, 1)).double()
    got = detector_loss(prob, mask, kind).item()
    assert got == pytest.approx(_printed_equation(prob.numpy(), mask.numpy(), kind), rel=1e-10)


def test_detector_losses_differ_and_focal_gamma_zero_is_balanced_ce():
    prob = torch.rand(2, 1, 8, 8, dtype=torch.float64)
    mask = (torch.rand(2, 1, 8, 8) > 0.8).double()
    ce, bce, focal = (detector_loss(prob, mask, k).item() for k in ("ce", "bce", "focal"))
    assert len({round(ce, 9), round(bce, 9), round(focal, 9)}) == 3
    assert detector_loss(prob, mask, "focal", gamma=0.0).item() == pytest.approx(bce, rel=1e-12)


def test_detector_loss_rejects_unknown_kind():
    with pytest.raises(ValueError, match="focal"):
        detector_loss(torch.rand(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), "dice")


def test_weight_maps():
    v = torch.tensor([0.0, 0.25, 0.5, 1.0])
    assert torch.allclose(weight_map(v, "linear"), 1 + v)
    assert torch.allclose(weight_map(v, "exp", 10.0), torch.tensor([1.0, 10 ** 0.25, 10 ** 0.5, 10.0]))
    assert torch.allclose(weight_map(v, "exp", math.e), torch.exp(v))
    w = weight_map(torch.rand(1000), "exp", 10.0)
    assert w.min() >= 1 and w.max() <= 10
    with pytest.raises(ValueError, match="base > 1"):
        weight_map(v, "exp", 1.0)
    with pytest.raises(ValueError, match="linear"):
        weight_map(v, "quadratic")


def test_weighted_l1_is_eq7_with_weight_broadcast_over_channels():
    pred, target = torch.rand(2, 3, 4, 5), torch.rand(2, 3, 4, 5)
    weight = 1 + torch.rand(2, 1, 4, 5)
    manual = sum(float(weight[b, 0, i, j] * abs(pred[b, c, i, j] - target[b, c, i, j]))
                 for b in range(2) for c in range(3) for i in range(4) for j in range(5)) / (2 * 3 * 4 * 5)
    assert weighted_l1(pred, target, weight).item() == pytest.approx(manual, rel=1e-5)


def test_hole_weighted_l1_weighs_holes_six_times():
    target = torch.zeros(1, 3, 2, 2)
    pred = torch.full((1, 3, 2, 2), 0.5)
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    # one hole pixel (weight 6) and three valid (weight 1), error 0.5 everywhere
    assert hole_weighted_l1(pred, target, mask).item() == pytest.approx(0.5 * (6 + 3) / 4)


def test_adversarial_losses():
    big = torch.tensor([20.0, 20.0])
    assert adversarial_d_loss(big, -big).item() < 1e-6
    assert adversarial_g_loss(big).item() < 1e-6
    assert adversarial_g_loss(-big).item() > 10
