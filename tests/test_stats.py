"""Bootstrap intervals and the generated sentences on orderings (gdn.stats)."""
import math

import numpy as np
import pytest

from gdn.stats import (bootstrap_mean, compare_sentence, detectable, format_ci, ordering_sentences,
                       paired_difference, probability_of_improvement, seed_spread, verdict)


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_more_pairs():
    rng = np.random.default_rng(0)
    small, large = rng.normal(20, 2, 24), rng.normal(20, 2, 2400)
    a, b = bootstrap_mean(small), bootstrap_mean(large)
    assert a["lo"] < a["mean"] < a["hi"] and b["lo"] < 20 < b["hi"]
    assert (b["hi"] - b["lo"]) < (a["hi"] - a["lo"]) / 5  # ~ 1/sqrt(100) of the width
    # the half-width is close to the normal theory's 1.96 sigma / sqrt(n)
    assert (b["hi"] - b["lo"]) / 2 == pytest.approx(1.96 * 2 / math.sqrt(2400), rel=0.15)


def test_non_finite_scores_are_left_out_and_tiny_samples_have_no_interval():
    s = bootstrap_mean([1.0, 2.0, math.inf, 3.0])
    assert s["n"] == 3 and s["mean"] == pytest.approx(2.0)
    one = bootstrap_mean([5.0])
    assert one["mean"] == 5.0 and math.isnan(one["lo"]) and format_ci(one) == "5.00"
    assert format_ci(bootstrap_mean([])) == "n/a"


def test_paired_difference_sees_a_small_shift_that_unpaired_noise_would_hide():
    rng = np.random.default_rng(1)
    base = rng.normal(20, 3, 96)  # large spread between images
    better = base + 0.2 + rng.normal(0, 0.1, 96)  # a small but consistent gain on every image
    d = paired_difference(better, base)
    assert d["lo"] > 0 and verdict(d) == "holds"
    unpaired_a, unpaired_b = bootstrap_mean(better), bootstrap_mean(base)
    assert unpaired_a["lo"] < unpaired_b["hi"]  # the unpaired intervals overlap
    assert verdict(paired_difference(base, better)) == "reverses"
    noise = rng.normal(0, 1, 96)
    assert verdict(paired_difference(base, base + noise - noise.mean())) == "within noise"  # zero mean shift
    with pytest.raises(ValueError, match="differ in length"):
        paired_difference([1, 2], [1, 2, 3])


def test_sentences_state_the_verdict_from_the_numbers():
    rng = np.random.default_rng(2)
    base = rng.normal(20, 1, 50)
    scores = {"Det": base + 1.0, "Weight": base, "Adv": base + rng.normal(0, 0.5, 50)}
    held, noisy = ordering_sentences(scores, [("Det", "Weight"), ("Adv", "Weight")])
    assert held.startswith("Det - Weight: +1.00 [+1.00, +1.00] dB PSNR") and "holds" in held
    assert "within noise" in noisy or "holds" in noisy or "reverses" in noisy
    rev = compare_sentence("CE", "Focal", {"mean": -0.3, "lo": -0.5, "hi": -0.1}, source="")
    assert "reverses: Focal is higher" in rev and rev.startswith("CE - Focal: -0.30 [-0.50, -0.10] dB PSNR")




def test_the_two_level_bootstrap_holds_the_seeds_variance_that_pooling_the_pairs_hides():
    rng = np.random.default_rng(1)
    pairs = rng.normal(0, 0.3, size=200)
    runs = np.stack([pairs + offset for offset in (-1.0, 0.0, 1.0)])  # (3 seeds, 200 pairs): seeds dominate
    two = bootstrap_mean(runs)
    pooled = bootstrap_mean(runs.ravel())
    assert two["mean"] == pytest.approx(runs.mean()) and two["seeds"] == 3 and two["n"] == 200
    assert (two["hi"] - two["lo"]) > 5 * (pooled["hi"] - pooled["lo"])
    same = bootstrap_mean(np.stack([pairs] * 3))  # identical seeds: only the pairs' variance is left
    alone = bootstrap_mean(pairs)
    assert (same["hi"] - same["lo"]) == pytest.approx(alone["hi"] - alone["lo"], rel=0.25)
    holed = runs.copy()
    holed[1, 5] = math.inf  # a perfect pair in one seed leaves that pair out in every seed
    assert bootstrap_mean(holed)["n"] == 199


def test_paired_differences_pair_seeds_and_compare_a_fixed_method_with_every_seed():
    rng = np.random.default_rng(2)
    base = rng.normal(20, 2, size=100)
    seeds = np.stack([base + 0.5 + rng.normal(0, 0.05, 100) for _ in range(3)])
    d = paired_difference(seeds, base)  # (3,100) against a training-free method's (100,)
    assert d["seeds"] == 3 and d["lo"] > 0.4 and d["hi"] < 0.6 and verdict(d) == "holds"
    assert paired_difference(seeds, seeds - 0.2)["mean"] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="seeds"):
        paired_difference(seeds, seeds[:2])
    assert seed_spread(np.stack([base, base + 0.3])) == pytest.approx(0.3) and math.isnan(seed_spread(base))


def test_within_noise_names_the_largest_difference_the_interval_leaves_possible():
    diff = {"mean": 0.02, "lo": -0.11, "hi": 0.15}
    assert detectable(diff) == pytest.approx(0.15)
    text = compare_sentence("Det", "Weight", diff)
    assert "within noise: any difference is smaller than 0.15 dB" in text
    assert "smaller than" not in compare_sentence("Det", "Weight", {"mean": 0.3, "lo": 0.1, "hi": 0.5})


def test_a_difference_below_the_seed_spread_names_no_ordering():
    small = {"mean": -0.02, "lo": -0.03, "hi": -0.005}  # certain over the pairs, far below a 0.51 dB seed spread
    text = compare_sentence("Det", "Weight", small, seed_spread=0.51)
    assert "not decided at one seed" in text and "0.51 dB" in text and "reverses" not in text
    assert "reverses" in compare_sentence("Det", "Weight", small)  # no spread given: the pairs' verdict
    large = {"mean": 0.8, "lo": 0.6, "hi": 1.0}
    assert "holds" in compare_sentence("Det", "Weight", large, seed_spread=0.51)


def test_probability_of_improvement_over_seeds():
    rng = np.random.default_rng(3)
    pairs = rng.normal(20, 2, size=80)
    better = np.stack([pairs + 1 + 0.01 * k for k in range(3)])
    worse = np.stack([pairs + 0.01 * k for k in range(3)])
    p = probability_of_improvement(better, worse)
    assert p["mean"] == 1.0 and p["lo"] == 1.0 and p["seeds"] == 3
    assert probability_of_improvement(worse, better)["mean"] == 0.0
    mixed = probability_of_improvement(np.stack([pairs + 0.1, pairs - 0.1, pairs]), np.stack([pairs] * 3))
    assert mixed["mean"] == pytest.approx(0.5) and mixed["lo"] < 0.5 < mixed["hi"]
    one = probability_of_improvement(pairs + 1, pairs)  # one run each: no probability over runs
    assert one["mean"] == 1.0 and math.isnan(one["lo"])
    text = ordering_sentences({"A": better, "B": worse}, [("A", "B")])[0]
    assert "holds" in text and "P(A above B), over the seeds: 1.00" in text
    assert "P(" not in ordering_sentences({"A": pairs + 1, "B": pairs}, [("A", "B")])[0]


def test_a_tiny_difference_is_printed_with_the_digits_its_interval_needs():
    from gdn.stats import compare_sentence, precise

    diff = {"mean": 0.0001, "lo": -0.0003, "hi": 0.0004, "n": 96}
    text = compare_sentence("Focal", "BCE", diff, metric="SSIM", unit="", fmt="{:.3f}")
    assert "smaller than 0.000 " not in text + " " and "smaller than 0.0004" in text
    assert "+0.0001 [-0.0003, +0.0004]" in text
    assert precise("{:.2f}", {"mean": 0.3, "lo": -0.2, "hi": 0.97}) == "{:.2f}"  # never fewer, never needless
    assert precise("{:.2f}", {"mean": 0.0, "lo": 0.0, "hi": 0.0}) == "{:.2f}"
