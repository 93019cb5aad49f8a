"""gdn.metrics against scikit-image, closed forms and hand examples; evaluate() on a hand-built mask bank."""
import csv
import json
import math
import warnings

import numpy as np
import pytest
import torch
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from gdn.evaluation import protocol as E
from gdn.evaluation import frechet as FID
from gdn import metrics as M
from gdn.masks import BIN_LABELS


@pytest.fixture(scope="module")
def natural_pair():
    """A natural uint8 crop (H,W,3) and a noisy, slightly shifted copy; non-square on purpose."""
    a = data.astronaut()[100:196, 150:230].copy()  # (96,80,3)
    rng = np.random.default_rng(0)
    b = np.clip(np.roll(a, 1, axis=1).astype(float) + rng.normal(0, 12, a.shape), 0, 255).astype(np.uint8)
    return a, b


def _sk_ssim(a, b, data_range, **kw):
    kw = kw or dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    return structural_similarity(a, b, channel_axis=-1, data_range=data_range, **kw)


SSIM_VARIANTS = [
    ({}, {}),  # Wang et al. 2004: Gaussian 11x11, sigma 1.5, population covariance
    (dict(win_size=7, gaussian=False), dict(win_size=7)),  # scikit-image defaults
    (dict(win_size=51, gaussian=False), dict(win_size=51)),  # official GDN test.py
]


@pytest.mark.parametrize("ours,theirs", SSIM_VARIANTS)
def test_ssim_matches_skimage_uint8_natural(natural_pair, ours, theirs):
    a, b = natural_pair
    assert M.ssim(a, b, **ours) == pytest.approx(_sk_ssim(a, b, 255, **theirs), abs=1e-9)


@pytest.mark.parametrize("ours,theirs", SSIM_VARIANTS[:2])
def test_ssim_matches_skimage_float_random(ours, theirs):
    rng = np.random.default_rng(1)
    a = rng.random((40, 56, 3))
    b = np.clip(a + rng.normal(0, 0.2, a.shape), 0, 1)
    ta, tb = (torch.from_numpy(x).permute(2, 0, 1) for x in (a, b))  # (3,H,W) float64 tensors
    assert M.ssim(ta, tb, **ours) == pytest.approx(_sk_ssim(a, b, 1, **theirs), abs=1e-9)
    assert M.ssim(a, b, **ours) == pytest.approx(_sk_ssim(a, b, 1, **theirs), abs=1e-9)  # float HWC arrays


def test_psnr_matches_skimage(natural_pair):
    a, b = natural_pair
    assert M.psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b), abs=1e-9)
    fa, fb = a / 255.0, b / 255.0
    tf = lambda x: torch.from_numpy(x).permute(2, 0, 1).float()  # noqa: E731  (3,H,W) float32
    assert M.psnr(tf(fa), tf(fb)) == pytest.approx(peak_signal_noise_ratio(fa, fb, data_range=1), abs=1e-4)


def test_psnr_inf_for_equal_images(natural_pair):
    a, _ = natural_pair
    assert M.psnr(a, a) == math.inf
    assert M.ssim(a, a) == pytest.approx(1.0)
    assert M.l1(a, a) == 0.0


def test_batch_gives_per_image_values(natural_pair):
    a, b = natural_pair
    batch_a = np.stack([a, a, b])  # (3,H,W,3) uint8
    batch_b = np.stack([b, a, a])
    for fn in (M.l1, M.l1_255, M.l1_relative, M.psnr, M.ssim):
        out = fn(batch_a, batch_b)
        assert isinstance(out, np.ndarray) and out.shape == (3,)
        assert out[0] == pytest.approx(fn(a, b)) and out[2] == pytest.approx(fn(b, a))
    # the same batch as a (B,3,H,W) tensor gives the same values
    tb = lambda x: torch.from_numpy(x).permute(0, 3, 1, 2)  # noqa: E731
    np.testing.assert_allclose(M.ssim(tb(batch_a), tb(batch_b)), M.ssim(batch_a, batch_b), atol=1e-12)
    assert isinstance(M.psnr(a, b), float)


def test_l1_variants_by_hand():
    a = torch.full((3, 4, 4), 0.2, dtype=torch.float64)
    b = torch.full((3, 4, 4), 0.3, dtype=torch.float64)
    assert M.l1(a, b) == pytest.approx(10.0)  # 0.1 on [0,1] = 10 %
    assert M.l1_255(a, b) == pytest.approx(25.5)
    assert M.l1_relative(a, b) == pytest.approx(0.1 / 0.5)
    b[0, 0, 0] = 0.2 + 0.48  # one of 48 values off by 0.48 instead of 0.1
    assert M.l1(a, b) == pytest.approx((47 * 0.1 + 0.48) / 48 * 100)


def test_to_uint8_rounds_and_composite_keeps_known_pixels():
    x = torch.tensor([0.0, 100.6 / 255, 100.4 / 255, 1.2, -0.1])
    assert M.to_uint8(x).tolist() == [0, 101, 100, 255, 0]  # astype would give 100 for 100.6
    assert M.to_uint8(np.array([100.6 / 255])).tolist() == [101]
    rng = torch.Generator().manual_seed(0)
    image, pred = torch.rand(2, 3, 8, 8, generator=rng), torch.rand(2, 3, 8, 8, generator=rng)
    mask = (torch.rand(2, 1, 8, 8, generator=rng) > 0.5).float()
    comp = M.composite(pred, image, mask)
    hole = mask.expand_as(image).bool()
    assert torch.equal(comp[~hole], image[~hole]) and torch.equal(comp[hole], pred[hole])


# ------------------------------------------------------------------------------------------- Frechet / FID
def test_frechet_distance_closed_form_diagonal():
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    d1, d2 = rng.uniform(0.1, 3, 5), rng.uniform(0.1, 3, 5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(d1 + d2 - 2 * np.sqrt(d1 * d2))
    assert FID.frechet_distance(mu1, np.diag(d1), mu2, np.diag(d2)) == pytest.approx(expected, rel=1e-9)
    # 1-D with scalars (pytorch-fid 0.3.0 + SciPy 1.17 fails on this case)
    assert FID.frechet_distance(0.0, 2.0, 1.0, 3.0) == pytest.approx(1 + 2 + 3 - 2 * math.sqrt(6))


def test_frechet_distance_matches_pytorch_fid():
    from pytorch_fid.fid_score import calculate_frechet_distance

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(200, 16)), rng.normal(size=(200, 16)) * 1.3 + 0.2
    stats = (a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ref = calculate_frechet_distance(*stats)
    except TypeError:  # SciPy >= 1.18 removed sqrtm(disp=...), which pytorch-fid 0.3.0 passes
        pytest.skip("pytorch-fid's calculate_frechet_distance does not run with this SciPy")
    assert FID.frechet_distance(*stats) == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("n1,n2,d", [(20, 25, 32), (60, 50, 8)])  # rank-deficient (SVD route) and full rank
def test_fid_from_features_matches_frechet_distance(n1, n2, d):
    rng = np.random.default_rng(5)
    f1, f2 = np.abs(rng.normal(size=(n1, d))), np.abs(rng.normal(size=(n2, d))) * 1.2 + 0.1
    stats = (f1.mean(0), np.cov(f1, rowvar=False), f2.mean(0), np.cov(f2, rowvar=False))
    assert FID.fid_from_features(f1, f2) == pytest.approx(FID.frechet_distance(*stats), rel=1e-6)
    assert FID.fid_from_features(f1, f1) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="at least 2"):
        FID.fid_from_features(f1[:1], f2)


class StandIn(torch.nn.Module):
    """Tiny random conv net with pytorch-fid's output convention: ``[features (N,d,1,1)]``."""

    def __init__(self, d=8):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, stride=2), torch.nn.ReLU(),
            torch.nn.Conv2d(16, d, 3, stride=2), torch.nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return [self.net(x)]


def _smooth_images(n, size=32, seed=0):
    """(n,3,size,size) float32 images of random smooth gradients + low-frequency sinusoids."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    p = torch.rand(n, 3, 4, 1, 1, generator=g)
    img = 0.2 + 0.3 * p[:, :, 0] * xx + 0.3 * p[:, :, 1] * yy + 0.15 * torch.sin(6 * p[:, :, 2] * xx + 5 * p[:, :, 3])
    return img.clamp(0, 1)


def test_fid_end_to_end_with_stand_in_network():
    model = StandIn(d=8)
    x = _smooth_images(40)
    noisy = (x + 0.3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    same = M.fid(x, x, model=model, batch_size=16)
    far = M.fid(x, noisy, model=model, batch_size=16)
    assert abs(same) < 1e-6 < far
    # uint8 channels-last arrays and a list of single images give the same features
    x8 = M.to_uint8(x)
    arr = x8.permute(0, 2, 3, 1).numpy()  # (N,H,W,3) uint8
    f1 = FID.activations(arr, model, batch_size=7)
    f2 = FID.activations(list(x8.float() / 255), model, batch_size=50)
    assert f1.shape == (40, 8)
    np.testing.assert_allclose(f1, f2, rtol=1e-5, atol=1e-6)


def test_missing_inception_weights_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(FID, "_INCEPTION_CACHE", {})
    assert FID.fid_weights_path() == tmp_path / "hub" / "checkpoints" / FID.FID_WEIGHTS_NAME
    with pytest.raises(FileNotFoundError, match=FID.FID_WEIGHTS_NAME) as err:
        M.fid(_smooth_images(3), _smooth_images(3))
    msg = str(err.value)
    assert str(tmp_path / "hub" / "checkpoints") in msg and FID.FID_WEIGHTS_URL in msg and "\n" not in msg
    from pytorch_fid.inception import FID_WEIGHTS_URL
    assert FID.FID_WEIGHTS_URL == FID_WEIGHTS_URL


# ------------------------------------------------------------------------------------------------ evaluate
SIZE = 40  # 1600 pixels, so hole counts give exact ratios (160 px = 0.1 exactly, a right-closed bin edge)
HOLES = [64, 160, 240, 560, 700, 900, 960, 0, 1200]  # px; bins 0, 0, 1, 3, 4, 5, 5, none, none
EXPECTED_COUNTS = {BIN_LABELS[0]: 2, BIN_LABELS[1]: 1, BIN_LABELS[2]: 0, BIN_LABELS[3]: 1,
                   BIN_LABELS[4]: 1, BIN_LABELS[5]: 2, "all": 9}


def _mask_bank():
    rng = np.random.default_rng(4)
    masks = []
    for n in HOLES:
        m = np.zeros(SIZE * SIZE, np.uint8)
        m[rng.permutation(SIZE * SIZE)[:n]] = 1
        masks.append(m.reshape(SIZE, SIZE))
    return masks


def _methods(seen):
    def oracle(image, mask):
        seen.append(image.clone())
        return image

    def noisy_outside(image, mask):  # exact in the holes, garbage elsewhere: the composite must discard it
        return mask * image + (1 - mask) * torch.rand_like(image)

    return {"oracle": oracle, "gray": lambda image, mask: torch.full_like(image, 0.5),
            "noisy_outside": noisy_outside}


def test_evaluate_rows_counts_and_values():
    images = [{"image": im} for im in _smooth_images(3, SIZE)]  # dataset-style items
    masks = _mask_bank()
    seen = []
    rows = M.evaluate(_methods(seen), images, masks, batch_size=4, fid_model=StandIn(d=4), progress=False)
    assert len(rows) == 3 * (len(BIN_LABELS) + 1)
    cis = {f"{m}_{end}" for m in ("l1", "psnr", "ssim") for end in ("lo", "hi")}
    assert all(set(r) == {"method", "bin", "count", "l1", "psnr", "ssim", "fid"} | cis for r in rows)
    finite = [r for r in rows if r["count"] > 1 and math.isfinite(r["psnr"])]
    assert finite and all(r["psnr_lo"] <= r["psnr"] <= r["psnr_hi"] for r in finite)
    per_image = {}
    M.evaluate(_methods([]), images, masks, batch_size=4, fid=False, progress=False, per_image=per_image)
    assert set(per_image) == {"oracle", "gray", "noisy_outside"}
    assert len(per_image["gray"]["psnr"]) == len(masks)
    by_all = {r["method"]: r for r in rows if r["bin"] == "all"}
    assert per_image["gray"]["psnr"].mean() == pytest.approx(by_all["gray"]["psnr"])
    by = {(r["method"], r["bin"]): r for r in rows}
    for method in ("oracle", "gray", "noisy_outside"):
        assert [r["bin"] for r in rows if r["method"] == method] == list(BIN_LABELS) + ["all"]
        for label, count in EXPECTED_COUNTS.items():
            assert by[method, label]["count"] == count
        assert math.isnan(by[method, BIN_LABELS[2]]["psnr"])  # empty bin
        assert math.isnan(by[method, BIN_LABELS[3]]["fid"])  # one image: FID undefined
    for method in ("oracle", "noisy_outside"):
        row = by[method, "all"]
        assert row["l1"] == 0 and row["psnr"] == math.inf and row["ssim"] == pytest.approx(1.0)
        assert abs(row["fid"]) < 1e-4
    gray = by["gray", "all"]
    assert 0 < gray["l1"] and gray["ssim"] < 1 and gray["fid"] > 0
    # the hole-free mask (outside every bin) scores inf dB, so the mean over "all" is inf too
    assert gray["psnr"] == math.inf
    assert all(math.isfinite(by["gray", b]["psnr"]) for b in BIN_LABELS if b != BIN_LABELS[2])
    assert by["gray", BIN_LABELS[0]]["l1"] < by["gray", BIN_LABELS[5]]["l1"]
    # fixed pairing: mask k goes with image k % 3
    got = torch.cat(seen)
    expected = torch.stack([images[k % 3]["image"] for k in range(len(masks))])
    assert torch.equal(got, expected)


def test_evaluate_fid_switches(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(FID, "_INCEPTION_CACHE", {})
    images, masks = list(_smooth_images(2, SIZE)), _mask_bank()[:3]
    calls = []
    method = {"id": lambda image, mask: calls.append(1) or image}
    with pytest.warns(UserWarning, match=FID.FID_WEIGHTS_NAME) as record:
        rows = M.evaluate(method, images, masks, progress=False)
    assert len([w for w in record if issubclass(w.category, UserWarning)]) == 1
    assert all(r["fid"] is None for r in rows)
    calls.clear()
    with pytest.raises(FileNotFoundError, match=FID.FID_WEIGHTS_NAME):
        M.evaluate(method, images, masks, fid=True, progress=False)
    assert not calls  # raised before any method ran
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = M.evaluate(method, images, masks, fid=False, progress=False)
    assert all(r["fid"] is None for r in rows)


def test_tables_csv_json(tmp_path):
    rows = M.evaluate({"gray": lambda image, mask: torch.full_like(image, 0.5),
                       "oracle": lambda image, mask: image},
                      list(_smooth_images(2, SIZE)), _mask_bank(), fid=False, progress=False)
    with E.rows_to_csv(rows, tmp_path / "t.csv").open() as fh:
        back = list(csv.DictReader(fh))
    assert len(back) == len(rows) and back[0]["method"] == "gray" and back[0]["count"] == "2"
    assert json.loads(E.rows_to_json(rows, tmp_path / "t.json").read_text())[0]["bin"] == BIN_LABELS[0]
    text = E.format_table(rows, "psnr")
    lines = text.splitlines()
    assert len(lines) == 3 and lines[0].split()[1:] == list(BIN_LABELS) + ["all"]
    assert lines[2].startswith("oracle") and "inf" in lines[2] and "nan" in lines[1]
    assert "-" in E.format_table(rows, "fid").splitlines()[1]
