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
