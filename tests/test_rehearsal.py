"""The paper's experiment, rehearsed on stand-in downloads (tests/standins.py) with the README's commands:
`gdn data split`, `gdn data masks`, then the paper profile's book on the lists, Liu et al.'s test masks and QD-IMD
drawings, with tiny networks and steps. Table 1 must score every test image in every bin."""
import csv
import json
import subprocess
import sys

import pytest

import standins

N_TEST = 4
TINY = ["size=64", "steps=2", "width=8", "res_blocks=1", "batch_size=4", "num_workers=0", "device=cpu"]


def _gdn(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "gdn.cli", *args], capture_output=True, text=True, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_the_paper_profile_scores_every_test_image_in_every_bin_with_the_given_masks(tmp_path):
    celeba = standins.celebahq(tmp_path / "CelebA-HQ-img", n=40, side=48)
    liu = standins.liu_masks(tmp_path / "testing_mask_dataset", side=64)
    qd = standins.qdimd(tmp_path / "qd_imd" / "train", n=6)
    lists = tmp_path / "splits" / "celebahq"
    out = _gdn("data", "split", "celebahq", str(celeba), "-o", str(lists), "--count", "total=40",
               "--count", f"test={N_TEST}", "--count", "val=4")
    assert f"train 32, val 4, test {N_TEST}" in out
    out = _gdn("data", "masks", str(liu))
    assert "12,000 masks, holes white" in out and "(0.5,0.6]" in out
    work = tmp_path / "book"
    log = _gdn("book", "--profile", "paper", "--workdir", str(work), "--no-build", "--data", str(lists),
               "--test-masks", str(liu), "--train-masks", str(qd), *TINY,
               "-p", "timing.quick=True", "-p", "timing.repeats=1", "-p", "applications.app_size=64",
               "-p", "validation.per_bin=1", "-p", "validation.adapt_steps=2", "-p", "perphoto.adapt_steps=2")
    assert "notebooks: 18 ran, 0 reused" in log
    figures = work / "figures" / "paper"
    rows = {r["method"]: r for r in csv.DictReader(open(figures / "table1" / "table1.csv")) if r["metric"] == "masks"}
    assert [rows["count"][b] for b in ("(0.01,0.1]", "(0.1,0.2]", "(0.2,0.3]", "(0.3,0.4]", "(0.4,0.5]",
                                       "(0.5,0.6]", "all")] == [str(N_TEST)] * 6 + [str(6 * N_TEST)]
    for chapter in ("table1", "table2", "frameworks", "detector"):
        setup = json.loads((figures / chapter / "numbers.json").read_text())["numbers"]["setup"]["value"]
        assert "Liu et al.'s test masks" in setup and f"every one of the {N_TEST} test images in every bin: " \
                                                       f"{6 * N_TEST} pairs" in setup, chapter
    config = json.loads((work / "runs" / "paper" / "det" / "config.json").read_text())
    assert config["train_masks"] == f"qdimd:{qd}" and config["test_masks"] == str(liu)
    assert config["train_data"] == str(lists / "train.txt")
