"""Bootstrap intervals and the generated sentences on orderings (gdn.stats)."""
import math

import numpy as np
import pytest

from gdn.stats import (bootstrap_mean, compare_sentence, format_ci, ordering_sentences, paired_difference,
                       verdict)


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


