"""One verdict table per page and its single-seed rule (gdn.book.verdicts), and the findings a page glues for the
introduction (issue 39)."""
import dataclasses
import math

import numpy as np
import pytest

from gdn.book import verdicts
from gdn.book.records import CPU_SEEDS, STUDY_SEEDS, STUDY_VERDICTS
from gdn.book.report import Report
from gdn.config import resolve

RNG = np.random.default_rng(4)
PAIRS = RNG.normal(20, 1, size=60)
RECORD = dict(recipe="a test recipe", init="", when="today", commit="abc1234", seeds=3,
              spreads={"psnr": 0.05, "auroc": 0.04})


def _rows(det, weight, metric="psnr", record=RECORD, **kw):
    return verdicts.verdict_rows({"Det": {metric: det}, "Weight": {metric: weight}}, [("Det", "Weight")], metric,
                                 record=record, **kw)


def test_each_comparison_is_one_row_with_its_difference_interval_and_verdict():
    (row,) = _rows(PAIRS + 1.0, PAIRS)
    assert row["comparison"] == "Det - Weight" and row["metric"] == "PSNR, dB"
    assert row["difference"] == "+1.00" and row["95 % interval"] == "[+1.00, +1.00]"
    assert row["verdict"] == "holds" and row["claim"] == "the paper's (Det above Weight)"
    (rev,) = _rows(PAIRS - 1.0 + RNG.normal(0, 0.1, 60), PAIRS, source="")
    assert rev["verdict"] == "Weight higher" and rev["claim"] == ""  # no claim: which is higher
    (rev,) = _rows(PAIRS - 1.0 + RNG.normal(0, 0.1, 60), PAIRS)
    assert rev["verdict"] == "reverses"


def test_one_seed_a_difference_below_the_recipes_spread_is_not_decided():
    noise = RNG.normal(0, 0.01, 60)
    (small,) = _rows(PAIRS + 0.02 + noise, PAIRS)  # certain over the pairs, smaller than the 0.05 dB seed spread
    assert small["verdict"].startswith("not decided at one seed") and "0.05 dB" in small["verdict"]
    seeded = {"Det": {"psnr": np.stack([PAIRS + 0.02 + noise] * 3)}, "Weight": {"psnr": np.stack([PAIRS] * 3)}}
    (with_seeds,) = verdicts.verdict_rows(seeded, [("Det", "Weight")], record=RECORD)
    assert with_seeds["verdict"] == "holds" and "P(better)" in with_seeds  # the seeds are in the interval
    (ssim,) = _rows(PAIRS / 40 + 0.5, PAIRS / 40, "ssim")  # a large difference, but no spread measured for SSIM
    assert ssim["verdict"] == "not decided at one seed: no seed spread measured"
    zero_mean = np.random.default_rng(1).normal(0, 1, 60)
    (within,) = _rows(PAIRS + zero_mean - zero_mean.mean(), PAIRS, record=dict(RECORD, spreads={"psnr": 0.0}))
    assert within["verdict"].startswith("within noise: |difference| <")


def test_no_verdict_prints_a_difference_smaller_than_zero():
    (row,) = _rows(PAIRS / 40 + RNG.normal(0, 2e-4, 60), PAIRS / 40, "ssim", record=dict(RECORD, spreads={"ssim": 0}))
    assert "0.000 " not in row["verdict"] and not row["verdict"].endswith("0.000")
    assert len(row["difference"].split(".")[1]) > 3  # the decimals the interval needs


def test_the_page_states_the_rule_once_with_the_recipes_record():
    class Rep:
        def __init__(self):
            self.texts, self.tables = {}, {}

        def text(self, key, text, caption=""):
            self.texts[key] = text

        def table(self, rows, key, caption="", **kw):
            self.tables[key] = (rows, kw["columns"])

    rep = Rep()
    rows = _rows(PAIRS + 0.01, PAIRS) + _rows(PAIRS / 40, PAIRS / 40, "ssim")
    verdicts.report_verdicts(rep, rows, seeds=1, record=RECORD)
    assert list(rep.tables) == ["verdicts"] and rep.tables["verdicts"][1][:5] == [
        "comparison", "metric", "difference", "95 % interval", "verdict"]
    note = rep.texts["seed_note"]
    assert note.count("One seed per run") == 1 and "a test recipe" in note and "abc1234" in note
    assert "PSNR 0.05 dB" in note and "never decided at one seed" in note
    rep = Rep()
    verdicts.report_verdicts(rep, rows, seeds=3, record=RECORD)
    assert "One seed" not in rep.texts["seed_note"] and "3 seeds" in rep.texts["seed_note"]


def test_each_recipe_cites_its_own_seed_spread():
    assert verdicts.seed_record(resolve("cpu")) is CPU_SEEDS  # the default book fine-tunes the cpu warm start
    assert verdicts.seed_record(resolve("study")) is STUDY_SEEDS and verdicts.seed_record(resolve("paper")) is STUDY_SEEDS
    other = dataclasses.replace(resolve("cpu"), init="runs/mine/last.pt")
    assert verdicts.seed_record(other) is STUDY_SEEDS
    for record in (CPU_SEEDS, STUDY_SEEDS):
        assert record["spreads"] and all(math.isfinite(v) and v >= 0 for v in record["spreads"].values())
        assert set(record["spreads"]) <= set(verdicts.UNITS) and record["commit"] and record["when"]


def test_the_studys_findings_are_quoted_with_their_date_commit_and_verdict():
    items = verdicts.study_findings()
    assert len(items) == len(STUDY_VERDICTS["diffs"])
    det_weight = next(text for text, _, _ in items if "Det - Weight" in text)
    assert STUDY_VERDICTS["commit"] in det_weight and STUDY_VERDICTS["when"] in det_weight
    assert "-0.40 [-0.48, -0.33] dB PSNR" in det_weight and "reverses: Weight is higher" in det_weight
    assert all(href == f"records.html#{STUDY_VERDICTS['anchor']}" for _, _, href in items)


def test_findings_are_recorded_and_glued_as_a_linked_list(tmp_path):
    rep = Report("t", {"profile": "x"}, root=tmp_path, glue=False)
    rows = _rows(PAIRS + 1.0, PAIRS)
    text = verdicts.summary("The paper's ordering", rows)
    assert text == "The paper's ordering (PSNR): Det - Weight +1.00 [+1.00, +1.00] dB: holds."
    mixed = verdicts.summary("Both", rows + _rows(PAIRS, PAIRS + 1.0))
    assert mixed == "Both (PSNR): Det - Weight +1.00 [+1.00, +1.00] dB, holds; Det - Weight -1.00 [-1.00, -1.00] dB, reverses."
    assert verdicts.summary("nothing", []) == ""
    rep.findings("findings", [(text, "Fig. 6", "frameworks.html"), ("", "none", "x.html")])
    assert rep.numbers["findings"]["value"] == text  # the empty item is left out


@pytest.mark.parametrize("metric", ["psnr", "ssim", "l1", "auroc", "edge"])
def test_every_metric_the_book_judges_has_a_name_and_unit(metric):
    (row,) = _rows(PAIRS + 1, PAIRS, metric, record=dict(RECORD, spreads={metric: 0.0}))
    assert row["metric"].startswith(verdicts.UNITS[metric][0])
