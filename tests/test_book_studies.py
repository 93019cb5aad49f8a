"""The measures the book's notebooks compute: AUROC from ranks, Canny edge ratios, tables, masks for Fig. 8."""
import math

import numpy as np
import pytest
import torch

from gdn.book import damage, studies, tables
from gdn.data import BuiltinPhotos
from gdn.masks import BIN_LABELS, mask_bank
from gdn.metrics import auroc


def _pairwise_auroc(scores, labels):
    pos, neg = scores[labels], scores[~labels]
    diff = pos[:, None] - neg[None, :]
    return ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size


def test_auroc_from_ranks_equals_the_pairwise_definition_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = rng.integers(0, 6, size=200).astype(float)  # many ties
        labels = rng.random(200) < 0.3
        assert auroc(scores, labels) == pytest.approx(_pairwise_auroc(scores, labels), abs=1e-12)
    assert auroc([0.1, 0.2, 0.9, 0.8], [0, 0, 1, 1]) == 1.0
    assert auroc([0.9, 0.8, 0.1, 0.2], [0, 0, 1, 1]) == 0.0
    assert auroc(np.full(10, 0.5), np.arange(10) < 3) == 0.5
    assert math.isnan(auroc([1, 2], [1, 1]))


def test_edge_ratio_counts_canny_pixels_in_percent():
    flat = np.full((32, 32, 3), 128, np.uint8)
    assert studies.edge_ratio(flat) == 0.0
    step = flat.copy()
    step[:, 16:] = 255
    whole = studies.edge_ratio(step)
    assert 0 < whole < 10
    region = np.zeros((32, 32), bool)
    region[:, 12:20] = True
    assert studies.edge_ratio(step, region=region) > whole


def test_metric_table_puts_the_papers_rows_after_ours():
    rows = [{"method": m, "bin": b, "count": 2, "l1": 1.0, "psnr": 20.0, "ssim": 0.5, "fid": None}
            for m in ("Det", "telea") for b in [*BIN_LABELS, "all"]]
    table = tables.metric_table(rows, ["psnr", "fid"], ["Det", "telea"], paper={"psnr": {"C": [1, 2, 3, 4, 5, 6]}})
    assert table[0]["method"] == "count" and table[0]["all"] == 2
    assert [r["method"] for r in table[1:4]] == ["Det", "telea", "Paper: Ours (C)"]
    assert table[3][BIN_LABELS[-1]] == 6 and math.isnan(table[4][BIN_LABELS[0]])  # FID not computed -> n/a
    parts = tables.metric_tables(rows, ["psnr", "fid"], ["Det", "telea"], paper={"psnr": {"C": [1, 2, 3, 4, 5, 6]}})
    assert list(parts) == ["psnr"]  # FID scored by nobody: no table of n/a, the chapter says it in one line
    assert [r["method"] for r in parts["psnr"]] == ["count", "Det", "telea", "Paper: Ours (C)"]
    assert all("metric" not in r for r in parts["psnr"]) and parts["psnr"][1]["all"] == 20.0



def test_table1s_reference_rows_are_the_papers_and_follow_its_ours_rows():
    from gdn.paper import TABLE1_OTHERS, TABLE1_OURS

    assert list(TABLE1_OTHERS) == ["PConv", "PEN", "GConv"]
    for by_metric in [TABLE1_OURS, *TABLE1_OTHERS.values()]:
        assert list(by_metric) == ["l1", "psnr", "ssim", "fid"]
        assert all(list(d) == ["CelebA-HQ", "Places2"] and len(v) == 6 for d in by_metric.values() for v in d.values())
    # spot checks against the paper's Table 1 (its C and P columns alternate per bin)
    assert TABLE1_OTHERS["PConv"]["l1"]["CelebA-HQ"][0] == 0.84 and TABLE1_OTHERS["PConv"]["l1"]["Places2"][0] == 1.27
    assert TABLE1_OTHERS["PEN"]["psnr"]["Places2"][5] == 19.84 and TABLE1_OTHERS["GConv"]["psnr"]["CelebA-HQ"][0] == 37.14
    assert TABLE1_OTHERS["GConv"]["ssim"]["CelebA-HQ"][5] == 0.750 and TABLE1_OTHERS["GConv"]["ssim"]["Places2"][4] == 0.73
    assert TABLE1_OTHERS["PEN"]["fid"]["Places2"][5] == 66.7 and TABLE1_OTHERS["PConv"]["fid"]["CelebA-HQ"][2] == 5.60
    rows = [{"method": "Det", "bin": b, "count": 2, "l1": 1.0, "psnr": 20.0, "ssim": 0.5, "fid": None}
            for b in [*BIN_LABELS, "all"]]
    table = tables.metric_table(rows, ["psnr"], ["Det"], paper=TABLE1_OURS, others=TABLE1_OTHERS)
    assert [r["method"] for r in table[1:]] == ["Det", "Paper: Ours (CelebA-HQ)", "Paper: Ours (Places2)",
                                                *(f"Paper: {m} ({d})" for m in ("PConv", "PEN", "GConv")
                                                  for d in ("CelebA-HQ", "Places2"))]
    pen = next(r for r in table if r["method"] == "Paper: PEN (Places2)")
    assert [pen[b] for b in BIN_LABELS] == TABLE1_OTHERS["PEN"]["psnr"]["Places2"] and pen["all"] is None
    parts = tables.metric_tables(rows, ["psnr", "fid"], ["Det"], paper=TABLE1_OURS, others=TABLE1_OTHERS)
    assert list(parts) == ["psnr"] and parts["psnr"][-1]["method"] == "Paper: GConv (Places2)"
    assert len(tables.metric_table(rows, ["psnr"], ["Det"], paper=TABLE1_OURS)) == 4  # without others: as before

def test_application_masks_come_from_the_rendering():
    photo = np.zeros((64, 64, 3), np.uint8)
    texted, hole = damage.text_overlay(photo, ["GDN"], grow=0)
    assert hole.any() and (texted[hole].sum(axis=1) > 0).all() and not texted[~hole].any()
    scratched, hole = damage.scratches(photo, np.random.default_rng(1), n=3)
    assert hole.any() and (scratched[hole] > 0).all() and not scratched[~hole].any()
    drawn = damage.polygon_mask(64, [(0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75)], grow=0)
    assert 0.2 < drawn.mean() < 0.3


def test_colour_cast_finds_a_pink_fill_and_clears_an_exact_one():
    images, masks = BuiltinPhotos("test", size=32, n=6, seed=0), mask_bank(2, 32, seed=0)
    pink = torch.tensor([0.1, -0.1, 0.1])[:, None, None]  # +R -G +B
    casts = studies.colour_cast({"exact": lambda i, m: i, "pink": lambda i, m: (i + pink).clamp(0, 1)}, images, masks)
    assert casts["exact"].shape == (len(masks), 3) and np.abs(casts["exact"]).max() == 0
    assert (casts["pink"][:, [0, 2]].mean(0) > 15).all() and casts["pink"][:, 1].mean() < -15
    text = tables.colour_cast_text(casts)
    assert "exact: R +0.0" in text and "(no channel biased)" in text and "biased: R high, G low, B high" in text


def test_over_seeds_stacks_what_every_seed_measured_and_measures_a_fixed_method_once():
    from gdn.book.seeds import Seeds, over_seeds

    calls = []

    def measure(methods, critic=None):
        calls.append((sorted(methods), critic))
        return {name: {"score": np.full(4, float(f())) + (critic or 0), "shown": [f()]} for name, f in methods.items()}

    methods = {"run": Seeds([lambda: 1, lambda: 2, lambda: 3]), "fill": lambda: 10}
    out = over_seeds(measure, methods)
    assert calls == [(["fill", "run"], None), (["run"], None), (["run"], None)]
    assert out["run"]["score"].shape == (3, 4) and out["run"]["score"][:, 0].tolist() == [1, 2, 3]
    assert out["fill"]["score"].shape == (4,) and out["run"]["shown"] == [1]  # non-arrays: the first seed's
    calls.clear()
    out = over_seeds(measure, methods, critic=Seeds([0, 100, 200]))  # a seeded critic changes every result
    assert [c for c in calls] == [(["fill", "run"], 0), (["fill", "run"], 100), (["fill", "run"], 200)]
    assert out["fill"]["score"][:, 0].tolist() == [10, 110, 210]
    assert methods["run"]() == 1  # calling a Seeds calls its first member


def test_evaluate_runs_scores_every_seed_and_combines_them_with_the_two_level_bootstrap():
    from gdn.book.seeds import Seeds

    images = [torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(k)) for k in range(4)]
    masks = mask_bank(1, 32, seed=0)

    def grey(level):
        return lambda image, mask: torch.full_like(image, level)

    per = {}
    rows = studies.evaluate_runs({"run": Seeds([grey(0.3), grey(0.5), grey(0.7)]), "fill": grey(0.5)}, images, masks,
                                 per_image=per)
    assert per["run"]["psnr"].shape == (3, len(masks)) and per["fill"]["psnr"].shape == (len(masks),)
    assert np.allclose(per["run"]["psnr"][1], per["fill"]["psnr"])  # seed 1 is the fill itself
    run_all = next(r for r in rows if r["method"] == "run" and r["bin"] == "all")
    fill_all = next(r for r in rows if r["method"] == "fill" and r["bin"] == "all")
    assert run_all["psnr"] == pytest.approx(per["run"]["psnr"].mean()) and run_all["seeds"] == 3
    assert "seeds" not in fill_all
    from gdn.stats import bootstrap_mean

    both = bootstrap_mean(per["run"]["psnr"])
    assert (run_all["psnr_lo"], run_all["psnr_hi"]) == pytest.approx((both["lo"], both["hi"]))
