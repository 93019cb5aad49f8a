"""Classical baselines: shapes, no ground-truth leakage, only hole pixels change, better than a flat fill."""
import numpy as np
import pytest
import torch

from gdn import metrics as M
from gdn.baselines import BASELINES, biharmonic, mean_colour, telea

SIZE = 48


@pytest.fixture(scope="module")
def smooth_batch():
    """Two smooth (2,3,48,48) images and masks (2,1,48,48) with a square hole and a stroke."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, SIZE), torch.linspace(0, 1, SIZE), indexing="ij")
    one = torch.stack([0.2 + 0.6 * xx, 0.3 + 0.4 * yy * xx, 0.5 + 0.3 * torch.sin(4 * yy)])
    two = torch.stack([0.8 - 0.5 * yy, 0.4 + 0.2 * torch.cos(3 * xx), 0.3 + 0.4 * xx * (1 - yy)])
    image = torch.stack([one, two]).float()
    mask = torch.zeros(2, 1, SIZE, SIZE)
    mask[0, :, 16:30, 18:32] = 1
    mask[1, :, 10:14, 5:40] = 1
    mask[1, :, 30:44, 30:34] = 1
    return image, mask


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baseline_fills_only_holes_and_ignores_them(smooth_batch, name):
    fn = BASELINES[name]
    image, mask = smooth_batch
    pred = fn(image, mask)
    assert pred.shape == image.shape and pred.dtype == image.dtype
    assert pred.min() >= 0 and pred.max() <= 1
    comp = M.composite(pred, image, mask)
    known = (mask == 0).expand_as(image)
    assert torch.equal(comp[known], image[known])
    assert not torch.equal(comp, image)  # the holes were actually filled with something else
    # no leakage: what the holes held must not matter
    scrambled = mask * torch.rand_like(image) + (1 - mask) * image
    assert torch.equal(fn(scrambled, mask), pred)
    # unbatched input -> unbatched output, same values
    assert torch.allclose(fn(image[1], mask[1]), pred[1])


def test_mean_colour_fills_each_hole_with_the_mean_of_the_known_pixels(smooth_batch):
    image, mask = smooth_batch
    pred = mean_colour(image, mask)
    for k in range(2):
        known = mask[k, 0] == 0
        want = image[k][:, known].mean(dim=1)  # (3,)
        assert torch.allclose(pred[k][:, mask[k, 0] == 1], want[:, None].expand(-1, int(mask[k].sum())), atol=1e-6)


@pytest.mark.parametrize("name", ["biharmonic", "telea"])
def test_classical_baseline_beats_the_mean_colour_fill_on_smooth_images(smooth_batch, name):
    image, mask = smooth_batch
    gt8 = M.to_uint8(image)
    ours = M.to_uint8(M.composite(BASELINES[name](image, mask), image, mask))
    flat = M.to_uint8(M.composite(mean_colour(image, mask), image, mask))
    assert np.all(M.psnr(ours, gt8) > M.psnr(flat, gt8) + 3)
    assert np.all(M.l1(ours, gt8) < M.l1(flat, gt8))


def test_empty_mask_returns_the_image(smooth_batch):
    image, _ = smooth_batch
    empty = torch.zeros(2, 1, SIZE, SIZE)
    for fn in (biharmonic, telea):
        assert torch.allclose(fn(image, empty), image.double().float())


def test_mask_shape_mismatch_is_an_error(smooth_batch):
    image, mask = smooth_batch
    with pytest.raises(ValueError, match="does not match"):
        telea(image, mask[:1])


def test_baselines_work_as_evaluate_methods(smooth_batch):
    image, mask = smooth_batch
    classical = {k: BASELINES[k] for k in ("biharmonic", "telea")}
    rows = M.evaluate(classical, list(image), [m[0].numpy() for m in mask], fid=False, progress=False)
    alls = [r for r in rows if r["bin"] == "all"]
    assert [r["method"] for r in alls] == ["biharmonic", "telea"]
    assert all(r["count"] == 2 and r["psnr"] > 35 for r in alls)  # biharmonic: inf (exact in 8 bits)


def test_spline_continues_smooth_shading_better_than_harmonic():
    """The spline solves a fourth-order system: a linear ramp comes back exactly, curved shading closer than the
    harmonic fill's (which only interpolates the border and creases at it)."""
    from gdn.baselines import harmonic, spline

    yy, xx = torch.meshgrid(torch.linspace(0, 1, SIZE), torch.linspace(0, 1, SIZE), indexing="ij")
    ramp = torch.stack([0.2 + 0.6 * xx, 0.3 + 0.4 * yy, 0.5 + 0.2 * xx - 0.1 * yy])[None]  # (1,3,48,48)
    curved = torch.stack([0.2 + 0.6 * xx ** 2, 0.3 + 0.4 * yy * xx, 0.5 + 0.3 * torch.sin(3 * yy)])[None]
    mask = torch.zeros(1, 1, SIZE, SIZE)
    mask[..., 12:36, 10:30] = 1
    assert ((spline(ramp, mask) - ramp).abs() * mask).max() < 1e-3

    def err(fn):
        return ((fn(curved, mask) - curved).abs() * mask).sum() / (3 * mask.sum())

    assert err(spline) < 0.6 * err(harmonic)


@pytest.mark.parametrize("shape", [(48, 48), (70, 133), (260, 300)])
def test_spline_on_the_hole_alone_is_the_dense_solve(shape):
    """The sparse solver (the hole's cells and their two rings) takes the dense solver's steps: the same fill to
    float rounding, holes at the image border included (its Neumann border), two images in a batch."""
    from gdn.baselines import spline
    from gdn.masks import irregular_mask

    rng = np.random.default_rng(1)
    image = torch.rand(2, 3, *shape)
    mask = torch.from_numpy(np.stack([irregular_mask(shape, rng), irregular_mask(shape, rng)])).float()[:, None]
    mask[0, 0, :5, :9] = 1  # a hole in the corner
    dense, sparse = spline(image, mask, solver="dense"), spline(image, mask, solver="sparse")
    assert (dense - sparse).abs().max() < 1e-5
    assert torch.equal(sparse * (1 - mask), image * (1 - mask))  # valid pixels untouched
    assert torch.equal(spline(image, torch.zeros_like(mask), solver="sparse"), image)  # no hole: nothing to solve


def test_spline_chooses_the_dense_form_where_a_graph_needs_it():
    from gdn.baselines import spline

    image = torch.rand(1, 3, 200, 200, requires_grad=True)
    mask = torch.zeros(1, 1, 200, 200)
    mask[..., 50:90, 60:120] = 1
    spline(image, mask).sum().backward()  # auto: the dense form, differentiable
    assert image.grad is not None and image.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="solver"):
        spline(image, mask, solver="fast")
