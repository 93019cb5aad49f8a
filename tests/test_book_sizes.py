"""gdn.book.sizes: the Generalisation chapter's size study scores real fills per pair and says what it found."""
import numpy as np
import pytest
import torch

from gdn.baselines import harmonic
from gdn.book import sizes
from gdn.engine.inference import Inpainter


def _pairs(n, h, w, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    out = []
    for _ in range(n):
        a = rng.uniform(0.2, 0.8, 3)
        img = np.stack([a[0] + 0.2 * np.sin(6 * xx), a[1] + 0.2 * np.cos(5 * yy), a[2] + 0.1 * xx], 0)
        hole = np.zeros((h, w), bool)
        y0, x0 = rng.integers(0, h // 2), rng.integers(0, w // 2)
        hole[y0:y0 + h // 4, x0:x0 + w // 4] = True
        out.append((torch.from_numpy(img).float().clamp(0, 1)[None], hole))
    return out


def test_size_study_scores_every_fill_against_the_training_free_fills_at_full_resolution(ckpts):
    inp = Inpainter.from_checkpoint(ckpts["det"], device="cpu", adapt=0)
    inp.working_side = 48
    adapted = Inpainter.from_checkpoint(ckpts["det"], device="cpu", adapt=2)
    adapted.working_side = 48
    sets = {"model": _pairs(3, 48, 48, 0), "256": _pairs(3, 96, 144, 1)}
    study = sizes.size_study(inp, sets, adapted, adapt_every=2)
    assert set(study) == {"model", "256"}
    r = study["256"]
    assert set(r["psnr"]) == {"Det", "Det adapted", "spline", "harmonic", "biharmonic"}
    assert all(v.shape == (3,) for v in r["psnr"].values())
    assert np.isfinite(r["psnr"]["Det adapted"]).tolist() == [True, False, True]  # every second pair
    assert r["cast"].shape == (3, 3) and r["auroc"].shape == (3,) and "down" in r["scale"]
    assert study["model"]["scale"] == "at native scale"
    # on smooth shading the training-free fills at full resolution are far above what a flat fill would score
    assert (r["psnr"]["spline"] > 45).all() and (r["psnr"]["harmonic"] > 45).all()
    rows = sizes.size_table(study)
    assert [row["pairs"] for row in rows] == [3, 3] and [row["adapted pairs"] for row in rows] == [2, 2]
    assert rows[1]["set"].startswith("256 px crops (144x96; the generator at 72x48")
    assert rows[0]["best free fill"] in sizes.FREE and "[" in rows[0]["Det - best free"]
    assert 0 <= rows[0]["AUROC"] <= 1 and 0 <= rows[0]["AUROC adapted"] <= 1
    text = sizes.size_text(study)
    assert text.count("the best training-free fill at full resolution") == 2 and "adapted to each photo" in text


def test_anchor_net_stands_in_for_a_generator():
    net = sizes.AnchorNet(harmonic)
    x, m = torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32)
    m[..., 8:20, 8:20] = 1
    assert torch.equal(net(x, m), harmonic(x, m))
    rows = sizes.time_sizes(Inpainter(net, working_side=48), sides=(64, 96))
    assert [r["side (px)"] for r in rows] == [64, 96] and all(r["seconds"] > 0 for r in rows)
    assert 0.05 < rows[0]["hole share"] < 0.3 and rows[1]["generator"].startswith("at 48x48")


def test_time_sizes_times_the_adapted_fill_beside(ckpts):
    inp = Inpainter.from_checkpoint(ckpts["det"], device="cpu", adapt=0)
    adapted = Inpainter.from_checkpoint(ckpts["det"], device="cpu", adapt=1)
    rows = sizes.time_sizes(inp, sides=(64, 96), adapted=adapted)
    assert rows[0]["seconds adapted"] > 0 and np.isnan(rows[1]["seconds adapted"])  # 96: not in BOOK_ADAPT_SIDES


@pytest.mark.parametrize("per_bin", [1])
def test_size_pairs_are_native_crops_and_whole_photos(per_bin):
    from gdn.data import BuiltinPhotos

    model = BuiltinPhotos("val", 64, n=2)
    sets = sizes.size_pairs(model, [np.zeros((64, 64), np.uint8)] * 6, per_bin, 0)
    assert len(sets["model"]) == 6 and len(sets["256"]) == 6 and len(sets["whole"]) == 6
    assert sets["256"][0][0].shape == (1, 3, 256, 256) and sets["whole"][0][0].shape == (1, 3, 427, 640)
    assert all(h.shape == x.shape[-2:] and h.any() for x, h in sets["whole"])
