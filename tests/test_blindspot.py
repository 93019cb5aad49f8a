"""Fig. 9 of the book (gdn.book.blindspot): the detector's AUROC against stroke width, and its generated reading."""
import numpy as np
import pytest
import torch

from gdn.book import blindspot
from gdn.book.seeds import Seeds


class Whiteness(torch.nn.Module):
    """A stand-in detector: V = the pixel's brightness (white holes score highest), times ``gain``."""

    def __init__(self, gain: float = 1.0):
        super().__init__()
        self.gain = torch.nn.Parameter(torch.tensor(gain), requires_grad=False)

    def forward(self, image):
        return (image.mean(1, keepdim=True) * self.gain).clamp(0, 1)


def _grey_fill(image, mask):  # a method: mid-grey in the holes
    return torch.full_like(image, 0.5)


def _images(n=5, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [0.2 + 0.6 * torch.rand(3, size, size, generator=g) for _ in range(n)]  # no pure white anywhere


def test_the_width_study_scores_every_input_on_one_stroke_mask_per_photo():
    images = _images()
    study = blindspot.width_study(Whiteness(), _grey_fill, images, 32, (1, 4), ratio=0.1, seed=0, examples=[0, 1])
    assert list(study) == [1, 4]
    for width, s in study.items():
        assert len(s["masks"]) == 5 and all(abs(m.mean() - 0.1) < 0.05 for m in s["masks"])
        for name in blindspot.INPUTS:
            assert s[name]["auroc"].shape == (5,)
        assert np.all(s["Masked input"]["auroc"] == 1.0)  # white holes, brightest pixels: found exactly
        assert len(s["Det"]["images"]) == len(s["Det"]["maps"]) == 2
    # the same masks for the same seed; each width and split its own
    again = blindspot.width_study(Whiteness(), _grey_fill, images, 32, (1, 4), ratio=0.1, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(study[4]["masks"], again[4]["masks"]))
    other = blindspot.width_study(Whiteness(), _grey_fill, images, 32, (1,), ratio=0.1, seed=0, split=1)
    assert not np.array_equal(study[1]["masks"][0], other[1]["masks"][0])
    # seeded runs: (seeds, photos) arrays
    seeded = blindspot.width_study(Seeds([Whiteness(), Whiteness(0.5)]), Seeds([_grey_fill, _grey_fill]), images,
                                   32, (2,), ratio=0.1)
    assert seeded[2]["Det"]["auroc"].shape == (2, 5)


def test_rows_figures_and_setup_text_come_from_the_study():
    import matplotlib
    matplotlib.use("Agg")

    images = _images(4)
    study = {split: blindspot.width_study(Whiteness(), _grey_fill, images, 32, (1, 2, 8), ratio=0.1, split=j,
                                          examples=[0] if split == "test" else ())
             for j, split in enumerate(["val", "test"])}
    rows = blindspot.width_rows(study)
    assert [(r["photos"], r["stroke width (px)"]) for r in rows] == [
        (p, w) for p in ("validation", "test") for w in (1, 2, 8)]
    assert rows[0]["AUROC, the masked input"] == "1.000" or rows[0]["AUROC, the masked input"].startswith("1.000 [")
    assert all(0.08 < r["hole ratio"] < 0.2 and r["n"] == 4 for r in rows)
    fig = blindspot.plot_widths(rows)
    assert len(fig.axes) == 2
    cols = blindspot.maps_columns(study["test"], 1, 8)
    assert list(cols) == ["Input, 1 px", "Det, 1 px", "M(Det), 1 px", "Input, 8 px", "Det, 8 px", "M(Det), 8 px"]
    assert cols["M(Det), 8 px"][0].shape == (32, 32)
    text = blindspot.setup_text(study, 32)
    assert text.startswith("strokes 1, 2 and 8 px wide at the model's 32 px")
    assert "4 validation photos and 4 test photos" in text


def _fake(values: dict, n=40, seed=0):
    """A study for one split from each input's mean AUROC per width: {width: {name: mean}} -> per-photo arrays."""
    rng = np.random.default_rng(seed)
    out = {}
    for width, means in values.items():
        noise = {name: rng.normal(0, 0.03, n) for name in means}  # centred: each mean exactly as given
        out[width] = {name: {"auroc": mean + noise[name] - noise[name].mean()} for name, mean in means.items()}
        out[width]["masks"] = [np.zeros((8, 8), np.uint8)] * n
    return out


def test_the_reading_is_generated_from_the_numbers():
    curve = {1: dict(Det=0.55, **{"Masked input": 0.70, "Ground truth": 0.5}),
             2: dict(Det=0.60, **{"Masked input": 0.80, "Ground truth": 0.5}),
             4: dict(Det=0.70, **{"Masked input": 0.90, "Ground truth": 0.5}),
             16: dict(Det=0.90, **{"Masked input": 0.99, "Ground truth": 0.5})}
    study = {"val": _fake(curve), "test": _fake(curve, seed=1)}
    text = blindspot.blindspot_text(study)
    band = blindspot.band(study["val"], "Det", 2, 4)[1]
    assert band.shape == (40,) and band.mean() == pytest.approx(0.65, abs=0.02)
    from gdn.stats import bootstrap_mean, format_ci
    pooled = format_ci(bootstrap_mean(band), "{:.3f}")
    assert f"at 2-4 px the detector finds the holes in Det's results with AUROC {pooled}" in text
    assert text.startswith("On the validation photos (40, one stroke mask each)") and "On the test photos" in text
    assert "16 px strokes - 1 px strokes: +0.3" in text
    assert "Fig. 9's ordering (16 px strokes above 1 px strokes) holds" in text
    assert text.count("gives 0.500 by width, 0.500 [") == 2 and text.count("over all of them: chance, as it should") == 2

    # a detector that finds thin strokes as well as heavy ones, and a ground truth off chance: said so
    flat = {w: dict(Det=0.8, **{"Masked input": 0.9, "Ground truth": 0.55 if w < 16 else 0.6}) for w in (1, 2, 4, 16)}
    text = blindspot.blindspot_text({"test": _fake(flat)})
    assert "Fig. 9's ordering (16 px strokes above 1 px strokes) is neither confirmed nor refuted" in text
    assert "gives 0.550 to 0.600 by width, 0.563 [" in text and "over all of them: off chance" in text


def test_the_ratio_curve_and_the_ablations_rows_score_every_width_and_ratio():
    import matplotlib
    matplotlib.use("Agg")

    images = _images(4)
    study = blindspot.ratio_study(Whiteness(), _grey_fill, images, 32, (1, 4), (0.05, 0.2), seed=0)
    assert list(study) == [1, 4] and list(study[4]) == [0.05, 0.2]
    rows = blindspot.ratio_rows(study)
    assert len(rows) == 4 and rows[0]["hole ratio"] < rows[1]["hole ratio"]  # the masks reach their ratios
    assert all(r["the masked input mean"] == 1.0 for r in rows)  # white holes: found exactly
    fig = blindspot.plot_ratios(rows)
    assert len(fig.axes) == 2
    both = blindspot.detector_rows({"A": (Whiteness(), _grey_fill), "B": (Whiteness(0.0), _grey_fill)}, images, 32,
                                   (1, 4), ratio=0.1)
    assert [r["run"] for r in both] == ["A", "B"] and both[0]["4 px"].endswith("/ 1.000")
    assert both[1]["4 px"].endswith("/ 0.500")  # a detector that says 0 everywhere: chance


class _Fake:
    """A stand-in Inpainter: fills holes grey, and its artifact map is the image's whiteness."""

    def inpaint(self, image, hole):
        return np.where(hole[..., None] > 0, 128, image).astype(np.uint8)

    def artifact_map(self, image):
        return np.asarray(image, dtype=np.float32).mean(-1) / 255


def test_the_sizes_people_use_scale_each_width_from_the_models_size():
    photos = {128: _images(3, 128)}
    rows = blindspot.side_rows(_Fake(), photos, (2, 8), model_size=32, ratio=0.1, seed=0)
    assert [r["stroke width (px)"] for r in rows] == [8, 32]  # 2 and 8 px at 32 px are 8 and 32 px at 128
    assert all(r["AUROC, the masked input"].startswith("1.000") for r in rows)
    text = blindspot.sides_text(rows, thin=(2, 4))
    assert text.startswith("Through gdn.Inpainter") and "at 128 px, strokes 8-8 px wide" in text
