"""The book's pre-flight and plan (`gdn book --plan`): every input checked before the first training, each bad one
one clear error within a minute with nothing written; the plan's steps, time and disk."""
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import standins
from gdn.book import costs, preflight, runner
from gdn.book.plan import Step
from gdn.book.rates import Rates
from gdn.config import resolve

TINY = ["size=64", "steps=2", "width=8", "res_blocks=1", "batch_size=4", "num_workers=0"]
NO_CUDA = "cuda" if not torch.cuda.is_available() else f"cuda:{torch.cuda.device_count()}"  # a device not here


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """Stand-in downloads with the real layouts (tests/standins.py) and `gdn data split`'s lists of them: a good
    set, a set whose list names an image since deleted, and a mask folder holding 12 of Liu et al.'s 12,000."""
    from gdn.splits import make_splits

    root = tmp_path_factory.mktemp("downloads")
    counts = {"total": 40, "test": 4, "val": 4}
    celeba = standins.celebahq(root / "CelebA-HQ-img", n=40, side=48)
    make_splits("celebahq", celeba, root / "splits" / "celebahq", counts=counts)
    shutil.copytree(celeba, root / "copy")
    make_splits("celebahq", root / "copy", root / "splits" / "gone", counts=counts)
    gone = (root / "splits" / "gone" / "train.txt").read_text().split()[5]
    (root / "splits" / "gone" / gone).resolve().unlink()  # deleted after the split: the list names it
    liu = standins.liu_masks(root / "testing_mask_dataset", side=64)
    few = root / "twelve_masks"
    few.mkdir()
    for f in sorted(liu.iterdir())[:12]:
        shutil.copy(f, few / f.name)
    qd = standins.qdimd(root / "qd_imd" / "train", n=6)
    return {"root": root, "lists": root / "splits" / "celebahq", "gone": root / "splits" / "gone", "liu": liu,
            "few": few, "qd": qd, "gone_file": Path(gone).name}


def _book(tree, workdir, *, lists=None, masks=None, train_masks=None, device="cpu", extra=()):
    """`gdn book --profile paper` on the stand-ins as a user runs it: (exit code, stderr lines, seconds)."""
    args = [sys.executable, "-m", "gdn.cli", "book", "--profile", "paper", "--workdir", str(workdir), "--no-build",
            "--data", str(lists or tree["lists"]), "--test-masks", str(masks or tree["liu"]),
            "--train-masks", str(train_masks or tree["qd"]), *TINY, f"device={device}", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True)
    return proc.returncode, [line for line in proc.stderr.splitlines() if line.strip()], time.perf_counter() - t0


BAD = {  # case -> (the book's inputs, what its one error says)
    "a mistyped test-mask folder": (dict(masks="no_such_folder"), "no_such_folder: no such file or folder (test_masks"),
    "an incomplete mask set": (dict(masks="few"), "found 12 mask files, expected 12,000"),
    "a missing QD-IMD folder": (dict(train_masks="qd_imd/nope"), "nope: no such file or folder (train_masks: QD-IMD"),
    "a data list naming a missing image": (dict(lists="gone"), "names 1 missing image of 32, the first "),
    "device=cuda without CUDA": (dict(device=NO_CUDA), f"device '{NO_CUDA}': "),
    "an unwritable work directory": (dict(workdir=Path("/proc/gdn-book")), "gdn-book: cannot write in /proc"),
    "a work directory under a file": (dict(workdir="a_file/book"), "a_file is a file (--workdir)"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BAD))
def test_each_bad_input_ends_the_paper_book_with_one_clear_error_before_any_training(tree, tmp_path, case):
    given, says = BAD[case]
    root = tree["root"]
    inputs = {k: (tree[v] if v in tree else root / v) for k, v in given.items()
              if k in ("lists", "masks", "train_masks")}
    workdir = given.get("workdir", tmp_path / "book")
    if workdir == "a_file/book":
        (tmp_path / "a_file").write_text("not a folder")
        workdir = tmp_path / "a_file" / "book"
    code, err, seconds = _book(tree, workdir, device=given.get("device", "cpu"), **inputs)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("gdn book: error: ") and says in err[0], err[0]
    if case == "a data list naming a missing image":
        assert tree["gone_file"] in err[0] and "/../" not in err[0]  # the image, its path made plain
    assert seconds < 60
    assert not (tmp_path / "book").exists()  # nothing trained or written


@pytest.mark.slow
def test_every_problem_is_listed_together_and_nothing_is_written(tree, tmp_path):
    code, err, _ = _book(tree, tmp_path / "book", lists=tree["gone"], masks=tree["few"],
                         train_masks=tree["root"] / "nope", device=NO_CUDA)
    assert code == 2 and len(err) == 4, err
    for says in ("names 1 missing image", "found 12 mask files", "nope: no such file or folder", f"'{NO_CUDA}'"):
        assert sum(says in line for line in err) == 1, (says, err)
    assert not (tmp_path / "book").exists()


def test_a_good_paper_book_passes_every_check_and_says_what_it_checked(tree, tmp_path):
    from gdn.book.studies import fid_status

    lists = {f"{n}_data": str(tree["lists"] / f"{n}.txt") for n in ("train", "val", "test")}  # what --data sets
    prep = runner.prepare_book("paper", workdir=tmp_path / "book", data=tree["lists"],
                               overrides={**dict(t.split("=") for t in TINY), "device": "cpu", **lists,
                                          "test_masks": str(tree["liu"]), "train_masks": f"qdimd:{tree['qd']}"})
    checks = prep.checks
    assert checks.problems == []
    text = "\n".join(checks.passed)
    assert "the lists match their manifest (CelebA-HQ: train 32, val 4, test 4)" in text
    assert "train_data" in text and "32 images, every one present, 8 sampled decode" in text
    assert "Liu et al.'s 12,000, holes white" in text and "6 drawings, 6 sampled decode, one processed" in text
    assert ("FID will be n/a" in " ".join(checks.notes)) == (fid_status() is not None)
    assert not (tmp_path / "book").exists()
    # the trainings: 2 steps each (the overrides), each run's last.pt kept
    assert {r.total for r in prep.runs.values()} == {2} and all(r.kept == 1 for r in prep.runs.values())


def test_a_changed_list_is_one_error_against_its_manifest(tree, tmp_path):
    lists = tmp_path / "lists"
    shutil.copytree(tree["lists"], lists)
    with open(lists / "test.txt", "a") as f:
        f.write("../../downloads0/CelebA-HQ-img/0.jpg\n")
    found = preflight.check_data(resolve("paper", {"test_data": str(lists / "test.txt")}), lists)
    assert found.problems == [f"{lists / 'test.txt'}: missing or changed since `gdn data split` wrote it"]


def test_an_unreadable_image_and_too_few_training_images_are_problems(tmp_path):
    folder = standins.celebahq(tmp_path / "photos", n=3, side=16)
    (folder / "1.jpg").write_bytes(b"not a jpeg")
    found = preflight.check_data(resolve("paper", {"train_data": str(folder)}))
    assert len(found.problems) == 1 and "1.jpg" in found.problems[0] and "(train_data: 1 of the 3" in found.problems[0]
    (folder / "1.jpg").unlink()
    found = preflight.check_data(resolve("paper", {"train_data": str(folder)}))
    assert found.problems == [f"{folder}: 2 training images, fewer than a batch (8) (train_data)"]


def test_an_init_checkpoint_of_another_shape_is_a_problem(tmp_path):
    found = preflight.check_init(resolve("cpu"))  # the bundled warm start
    assert found.problems == [] and "cpu-warmstart.pt: loads into this config's generator" in found.passed[0]
    found = preflight.check_init(resolve("cpu", {"width": "8"}))
    assert len(found.problems) == 1 and "init generator has width=16" in found.problems[0]
    found = preflight.check_init(resolve("paper", {"init": str(tmp_path / "nope.pt")}))
    assert found.problems == [f"{tmp_path / 'nope.pt'}: init checkpoint not found (init)"]


def test_a_cool_down_detector_of_another_width_is_a_problem(tmp_path):
    found = preflight.check_cooldown_init(resolve("cpu"))  # the bundled detector of the cool-down
    assert found.problems == [] and "cpu-warmstart.pt: loads into this config's detector" in found.passed[0]
    found = preflight.check_cooldown_init(resolve("cpu", {"critic_width": "8"}))
    assert len(found.problems) == 1 and "its detector has critic_width=16" in found.problems[0]
    assert preflight.check_cooldown_init(resolve("cpu", {"framework": "weight"})).problems == []  # no detector to start
    found = preflight.check_cooldown_init(resolve("paper", {"cooldown_init": "gdn:nope", "critic_cooldown": "1"}))
    assert len(found.problems) == 1 and "no bundled checkpoint 'gdn:nope'" in found.problems[0]


def test_the_disk_check_refuses_runs_that_do_not_fit(tmp_path):
    free = shutil.disk_usage(tmp_path).free
    assert preflight.check_workdir(tmp_path / "book", free // 2).problems == []
    found = preflight.check_workdir(tmp_path / "book", 2 * free)
    assert len(found.problems) == 1 and "free on its disk, the runs to train keep about" in found.problems[0]
    # through the book: a checkpoint every step of a very long smoke book does not fit on any disk
    prep = runner.prepare_book("smoke", workdir=tmp_path / "book", overrides={"steps": "100000000",
                                                                             "keep_every": "1", "device": "cpu"})
    assert [p for p in prep.checks.problems if "free on its disk" in p]


def test_a_checkpoint_is_as_large_as_its_estimate(tmp_path, batch):
    from gdn.engine.checkpoint import save_checkpoint
    from gdn.frameworks import Framework

    for framework in ("det", "weight", "adv"):
        cfg = resolve("smoke", {"framework": framework, "size": "32"})
        fw = Framework(cfg)
        fw.step(batch)  # Adam's moments exist from the first step on
        save_checkpoint(tmp_path / "c.pt", fw.state(), cfg, 1, framework=framework)
        assert costs.checkpoint_bytes(cfg) == pytest.approx((tmp_path / "c.pt").stat().st_size, rel=0.005)


def test_a_trainings_time_counts_each_kind_of_step():
    cfg = resolve("cpu")  # 300 generator steps, then 700 critic-only; validates every 100, saves every 400
    rates = Rates(gen_s=1.0, critic_s=0.5, eval_s=10.0, save_s=2.0, setup_s=3.0, source="test")
    total = costs.run_total_steps(cfg)
    assert total == 1000
    # 300 + 700 x 0.5; 10 validations, the last, 2 sample grids as one; saves at 400, 800, 1000 and kept at 800
    assert costs.training_seconds(cfg, total, 0, rates, 5.0) == 300 + 350 + 12 * 10 + 4 * 2 + 3 + 5
    # resumed at step 800: 200 critic-only steps, validations at 900 and 1000 and the last, saves at 1000
    assert costs.training_seconds(cfg, total, 800, rates, 5.0) == 100 + 3 * 10 + 2 + 3 + 5
    assert costs.training_seconds(cfg, total, total, rates, 5.0) == 5.0  # finished: the notebook alone
    weight = resolve("cpu", {"framework": "weight"})
    assert costs.run_total_steps(weight) == 300 and costs.run_total_steps(resolve("paper"), 26_700) == 333_700


def test_the_wall_time_follows_the_runners_schedule():
    steps = [Step("a", "t", {}, parallel=True), Step("b", "t", {}, parallel=True), Step("c", "t", {}, parallel=True),
             Step("x", "x", {}, deps=("a", "b")), Step("y", "y", {})]
    seconds = {"a": 10, "b": 4, "c": 5, "x": 1, "y": 2}
    assert costs.wall_time(steps, seconds, 1) == 22  # one after the other
    assert costs.wall_time(steps, seconds, 2) == 10 + 1 + 2  # c starts when b ends (4), ends at 9, before a
    assert costs.wall_time(steps, seconds, 3) == 13
    assert costs.wall_time(steps, {**seconds, "a": 0}, 2) == 5 + 1 + 2  # a reused: c starts at once


@pytest.mark.slow
def test_the_plan_prints_the_checks_every_step_its_time_and_the_disk_and_runs_nothing(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "gdn.cli", "book", "--profile", "smoke", "--plan", "--workdir",
                           str(tmp_path / "book")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "checks (every input, before the first training):" in out and "ok       device auto" in out
    for name in ("train_adv", "train_det_exp_e", "train_weight", "table1", "timing", "book build"):
        assert re.search(rf"^  {name} +run ", out, re.M), name
    row = next(line for line in out.splitlines() if line.strip().startswith("train_det "))
    assert row.split()[1:4] == ["run", "20", "80"]  # smoke: 20 steps of batch 4
    assert "trainings: rates measured on this machine by a" in out and "probe" in out
    assert "about " in out.split("time: ")[1].splitlines()[0]  # every part estimated: a total
    assert "disk: the runs keep" in out
    assert not (tmp_path / "book").exists()


def test_the_paper_plan_gives_the_readmes_time_and_disk_from_the_recorded_gpu_rates(tmp_path):
    # CelebA-HQ's 26,700 training images an epoch (the built-in photos' count set to it), compiled bf16 on CUDA
    prep = runner.prepare_book("paper", workdir=tmp_path, overrides={
        "builtin_train": "26700", "device": "cuda", "precision": "bf16", "compile": "true"})
    est = costs.estimate(prep, build=False)
    det = prep.runs["train_det"]
    assert det.total == 333_700 and det.images == 2_669_600 and det.kept == 45
    assert est.seconds["train_det"] / 3600 == pytest.approx(1.8, abs=0.05)  # README: one Det run 1.8 h
    assert est.trainings_s / 3600 == pytest.approx(12.2, rel=0.03)  # README: the book's 7 runs, one GPU, 12 h
    assert det.disk / 1e9 == pytest.approx(7.0, abs=0.1)  # README: about 45 per CelebA-HQ run, 7 GB
    assert "recorded on one NVIDIA H200" in " ".join(est.how) and est.notebooks_s is None  # not measured
    text = costs.plan_text(prep, est, build=False)
    assert "1.8 h" in text and "not measured here: table1" in text
