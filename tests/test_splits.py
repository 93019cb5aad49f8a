"""The paper's data protocol on stand-in downloads (tests/standins.py): the lists, their manifest, the same bytes
for the same seed, and one clear error with nothing written for a download that does not match."""
import json
import subprocess
import sys

import pytest

import standins
from gdn.files import list_files
from gdn.imageio import IMAGE_EXTS
from gdn.splits import SplitError, make_splits, read_manifest

SMALL = {"celebahq": {"total": 40, "test": 4, "val": 3},
         "places2": {"categories": 4, "train_per_category": 4, "test_per_category": 3, "val_per_category": 1},
         "paris": {"train": 12, "test": 3, "val": 2}}


def _download(tmp_path, dataset):
    return getattr(standins, dataset)(tmp_path / dataset)


def _gdn(*args):
    return subprocess.run([sys.executable, "-m", "gdn.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize("dataset", ["celebahq", "places2", "paris"])
def test_the_splits_are_disjoint_complete_and_the_same_bytes_for_the_same_seed(tmp_path, dataset):
    root = _download(tmp_path, dataset)
    counts = SMALL[dataset]
    a = make_splits(dataset, root, tmp_path / "a", seed=3, counts=counts)
    make_splits(dataset, root, tmp_path / "b", seed=3, counts=counts)
    c = make_splits(dataset, root, tmp_path / "c", seed=4, counts=counts)
    for name in ("train", "val", "test"):
        text = (tmp_path / "a" / f"{name}.txt").read_bytes()
        assert text == (tmp_path / "b" / f"{name}.txt").read_bytes()
        # the lists read back (paths relative to the list's folder) to the images drawn
        assert [p.resolve() for p in list_files(tmp_path / "a" / f"{name}.txt", IMAGE_EXTS)] == a.lists[name]
    sets = {name: set(a.lists[name]) for name in a.lists}
    assert not (sets["train"] & sets["test"]) and not (sets["val"] & sets["test"]) and not (sets["val"] & sets["train"])
    assert a.lists["train"] != c.lists["train"]  # another seed, another draw
    manifest = read_manifest(tmp_path / "a")
    n = {k: len(v) for k, v in a.lists.items()}
    assert manifest["counts"] == n and manifest["seed"] == 3 and manifest["deviations"]
    if dataset == "celebahq":
        assert n == {"train": 33, "val": 3, "test": 4}
    elif dataset == "places2":
        assert n == {"train": 16, "val": 4, "test": 12} and len(manifest["categories"]) == 4
        # the test set is each chosen category's whole validation-split share
        listed = dict(line.split() for line in (root / "places365_val.txt").read_text().splitlines())
        index = {c: str(i) for i, c in enumerate(standins.PLACES_CATEGORIES)}
        assert sorted(p.name for p in a.lists["test"]) == sorted(
            name for name, cat in listed.items() if cat in {index[c] for c in manifest["categories"]})
        assert {p.parent.name for p in a.lists["train"]} == {c.rsplit("/", 1)[1] for c in manifest["categories"]}
    else:
        assert n == {"train": 10, "val": 2, "test": 3}
        assert all(p.parent.name == "paris_eval_gt" for p in a.lists["test"])


def test_an_incomplete_download_is_one_clear_error_and_nothing_is_written(tmp_path):
    root = standins.celebahq(tmp_path / "celeba", n=40)
    (root / "7.jpg").unlink()
    proc = _gdn("data", "split", "celebahq", str(root), "-o", str(tmp_path / "out"), "--count", "total=40",
                "--count", "test=4")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"gdn data: error: {root}: found 39 CelebA-HQ images, expected 40 (an incomplete download?)"]
    assert not (tmp_path / "out").exists()
    # the paper's own numbers: 30,000 expected
    with pytest.raises(SplitError, match="found 39 CelebA-HQ images, expected 30,000"):
        make_splits("celebahq", root, tmp_path / "out")
    places = standins.places2(tmp_path / "places")
    (places / "val_256" / "Places365_val_00000002.jpg").unlink()
    with pytest.raises(SplitError, match="missing"):
        make_splits("places2", places, tmp_path / "out", counts=SMALL["places2"], categories=["a/airfield"])
    with pytest.raises(SplitError, match="expected at least 8"):
        make_splits("places2", places, tmp_path / "out", counts=SMALL["places2"] | {"train_per_category": 7},
                    categories=["b/beach"])
    with pytest.raises(SplitError, match="no category '/z/zoo'"):
        make_splits("places2", places, tmp_path / "out", counts=SMALL["places2"], categories=["z/zoo"])
    assert not (tmp_path / "out").exists()


def test_lists_already_written_are_kept_unless_forced_and_a_changed_list_is_caught(tmp_path):
    root = standins.paris(tmp_path / "paris")
    out = tmp_path / "lists"
    make_splits("paris", root, out, counts=SMALL["paris"])
    before = (out / "train.txt").read_bytes()
    proc = _gdn("data", "split", "paris", str(root), "-o", str(out), "--seed", "1", "--count", "train=12",
                "--count", "test=3", "--count", "val=2")
    assert proc.returncode == 2 and "already holds train.txt" in proc.stderr and "--force" in proc.stderr
    assert (out / "train.txt").read_bytes() == before
    proc = _gdn("data", "split", "paris", str(root), "-o", str(out), "--seed", "1", "--count", "train=12",
                "--count", "test=3", "--count", "val=2", "--force")
    assert proc.returncode == 0, proc.stderr
    assert "train 10, val 2, test 3" in proc.stdout and "train_data=" in proc.stdout
    assert json.loads((out / "manifest.json").read_text())["seed"] == 1
    (out / "val.txt").write_text("elsewhere.jpg\n")
    with pytest.raises(SplitError, match="changed"):
        read_manifest(out)
