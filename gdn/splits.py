"""The paper's data protocol (Sec. 4.1) as file lists: from a user's download of CelebA-HQ, Places2 or Paris
StreetView, the training, validation and test lists and a manifest.

    make_splits("celebahq", "/data/CelebA-HQ-img", "splits/celebahq")   # gdn data split celebahq ROOT -o OUT

- CelebA-HQ: 30K images, 27K drawn at random for training, the other 3K the test set.
- Places2 (Places365-Standard): 30 categories; 2K images drawn at random per category from its training split
  (60K), and the category's images of the labelled validation split (100 each, 3K) as the test set: the paper
  calls it the "testing split", but Places365's test split has no labels, so its categories cannot be taken.
  The paper does not name its 30 categories: the default is 30 drawn with the seed from the 365, recorded in
  the manifest; ``categories=`` chooses them.
- Paris StreetView: its own split, 14,900 training and 100 test images.

The paper has no validation set. Ours (every recipe choice, the in-training checks) is held back from what
the paper trains on: CelebA-HQ's and Paris StreetView's from the training draw (which is then that much
smaller), Places2's from each category's images the training draw did not take (its 60K stay whole).

Every list is a text file of paths relative to the list's folder (``gdn.files.list_files`` reads it), in an
order fixed by the seed: the same download and seed give byte-identical lists. A download that does not match
the protocol's counts is one ``SplitError`` with the count found and expected, raised before anything is
written. ``counts=`` changes the protocol's numbers (a rehearsal on a small stand-in); the manifest then
records each change as a deviation.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from gdn.files import atomic_write, list_files, write_json
from gdn.imageio import IMAGE_EXTS

__all__ = ["DATASETS", "PROTOCOLS", "SplitError", "Splits", "make_splits", "read_manifest", "LISTS"]

DATASETS = ("celebahq", "places2", "paris")
LISTS = ("train", "val", "test")
# the paper's numbers (Sec. 4.1), then our validation slice (not in the paper)
PROTOCOLS: dict[str, dict[str, int]] = {
    "celebahq": {"total": 30000, "test": 3000, "val": 300},
    "places2": {"categories": 30, "train_per_category": 2000, "test_per_category": 100, "val_per_category": 10},
    "paris": {"train": 14900, "test": 100, "val": 100},
}
NAMES = {"celebahq": "CelebA-HQ", "places2": "Places2 (Places365-Standard)", "paris": "Paris StreetView"}
# where each download keeps its images (the first folder name found is used)
PLACES_TRAIN = ("data_256", "data_large", "train_256", "train_large")
PLACES_VAL = ("val_256", "val_large")
PARIS_TRAIN = ("paris_train_original", "train")
PARIS_TEST = ("paris_eval_gt", "eval", "test")


class SplitError(ValueError):
    """The download does not match the protocol (one line: where, what was found, what was expected)."""


@dataclass
class Splits:
    dataset: str
    root: Path
    seed: int
    counts: dict[str, int]  # the protocol's numbers this split used
    lists: dict[str, list[Path]]  # "train" | "val" | "test" -> absolute image paths, in the seed's order
    categories: list[str] = field(default_factory=list)  # Places2: the categories used
    deviations: list[str] = field(default_factory=list)


def _images(folder: Path, what: str) -> list[Path]:
    if not folder.is_dir():
        raise SplitError(f"{folder}: no such folder ({what})")
    try:
        return list_files(folder, IMAGE_EXTS)
    except ValueError:
        return []


def _check_count(where: Path, found: int, expected: int, what: str) -> None:
    if found != expected:
        hint = "an incomplete download?" if found < expected else "a different folder or a different version?"
        raise SplitError(f"{where}: found {found:,} {what}, expected {expected:,} ({hint})")


def _draw(files: Sequence[Path], rng: np.random.Generator) -> list[Path]:
    """``files`` in a random order that depends only on the rng and the files' sorted order."""
    return [files[i] for i in rng.permutation(len(files))]


def _first_dir(root: Path, names: Sequence[str], what: str) -> Path:
    for name in names:
        if (root / name).is_dir():
            return root / name
    raise SplitError(f"{root}: no {what} folder (looked for {', '.join(names)})")


def _celebahq(root: Path, n: Mapping[str, int], rng: np.random.Generator) -> Splits:
    files = _images(root, "CelebA-HQ images")
    _check_count(root, len(files), n["total"], "CelebA-HQ images")
    order = _draw(files, rng)
    test, rest = order[:n["test"]], order[n["test"]:]
    return Splits("celebahq", root, 0, dict(n), {"train": rest[n["val"]:], "val": rest[:n["val"]], "test": test})


def _read_pairs(path: Path, what: str) -> list[tuple[str, int]]:
    if not path.is_file():
        raise SplitError(f"{path}: missing ({what}; it comes with Places365's file lists)")
    pairs = []
    for k, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[1].isdigit():
            raise SplitError(f"{path}, line {k}: expected 'NAME INDEX', got {line!r}")
        pairs.append((parts[0], int(parts[1])))
    return pairs


def _places2(root: Path, n: Mapping[str, int], rng: np.random.Generator, categories: Sequence[str]) -> Splits:
    names = [name for name, _ in _read_pairs(root / "categories_places365.txt", "the category names")]
    index = {name: i for i, name in enumerate(names)}
    if categories:
        wanted = [c if c.startswith("/") else "/" + c for c in categories]
        unknown = [c for c in wanted if c not in index]
        if unknown:
            raise SplitError(f"{root / 'categories_places365.txt'}: no category {unknown[0]!r}")
    else:
        if len(names) < n["categories"]:
            _check_count(root / "categories_places365.txt", len(names), 365, "categories")
        wanted = sorted(names[i] for i in rng.choice(len(names), n["categories"], replace=False))
    train_root, val_root = _first_dir(root, PLACES_TRAIN, "training images"), _first_dir(root, PLACES_VAL,
                                                                                          "validation images")
    val_by_cat: dict[int, list[Path]] = {}
    for name, cat in _read_pairs(root / "places365_val.txt", "the validation split's labels"):
        val_by_cat.setdefault(cat, []).append(val_root / name)
    lists: dict[str, list[Path]] = {"train": [], "val": [], "test": []}
    need = n["train_per_category"] + n["val_per_category"]
    for cat in wanted:
        folder = train_root / cat.lstrip("/")
        files = _images(folder, f"training images of {cat}")
        if len(files) < need:
            raise SplitError(f"{folder}: found {len(files):,} training images of {cat}, expected at least {need:,} "
                             f"({n['train_per_category']:,} to train on and {n['val_per_category']:,} to validate; "
                             "an incomplete download?)")
        order = _draw(files, rng)
        lists["train"] += order[:n["train_per_category"]]
        lists["val"] += order[n["train_per_category"]:need]
        test = sorted(val_by_cat.get(index[cat], []))
        _check_count(val_root, len(test), n["test_per_category"], f"validation-split images of {cat} listed")
        missing = [p for p in test if not p.is_file()]
        if missing:
            raise SplitError(f"{missing[0]}: listed in places365_val.txt but missing ({len(missing)} of "
                             f"{len(test)} images of {cat} missing; an incomplete download?)")
        lists["test"] += test
    # the training list in one order over all categories (a loader reading it in turn sees them mixed)
    lists["train"] = _draw(lists["train"], rng)
    return Splits("places2", root, 0, dict(n), lists, categories=list(wanted))


def _paris(root: Path, n: Mapping[str, int], rng: np.random.Generator) -> Splits:
    train_dir, test_dir = _first_dir(root, PARIS_TRAIN, "training images"), _first_dir(root, PARIS_TEST,
                                                                                       "test images")
    train, test = _images(train_dir, "training images"), _images(test_dir, "test images")
    _check_count(train_dir, len(train), n["train"], "training images")
    _check_count(test_dir, len(test), n["test"], "test images")
    order = _draw(train, rng)
    return Splits("paris", root, 0, dict(n), {"train": order[n["val"]:], "val": order[:n["val"]], "test": test})


def _parse_counts(dataset: str, counts: Mapping[str, int] | None) -> tuple[dict[str, int], list[str]]:
    n = dict(PROTOCOLS[dataset])
    deviations = []
    for key, value in (counts or {}).items():
        if key not in n:
            raise SplitError(f"unknown count {key!r} for {dataset}; choose from {', '.join(n)}")
        value = int(value)
        if value < 0 or (value == 0 and key not in ("val", "val_per_category")):
            raise SplitError(f"count {key}={value} must be positive")
        if value != n[key]:
            deviations.append(f"{key} = {value:,} instead of the protocol's {n[key]:,}")
        n[key] = value
    return n, deviations


def make_splits(dataset: str, root: str | os.PathLike, out: str | os.PathLike | None = None, *, seed: int = 0,
                counts: Mapping[str, int] | None = None, categories: Sequence[str] = (),
                force: bool = False) -> Splits:
    """Draw ``dataset``'s splits from the download at ``root`` with ``seed``; with ``out``, write
    ``train.txt``, ``val.txt``, ``test.txt`` and ``manifest.json`` there (each atomically, and only once every
    check has passed). An ``out`` that already holds lists is an error unless ``force``."""
    if dataset not in DATASETS:
        raise SplitError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise SplitError(f"{root}: no such folder")
    n, deviations = _parse_counts(dataset, counts)
    rng = np.random.default_rng(seed)
    if dataset == "celebahq":
        splits = _celebahq(root, n, rng)
    elif dataset == "places2":
        splits = _places2(root, n, rng, categories)
        if categories:
            deviations.append("categories chosen by the user")
    else:
        splits = _paris(root, n, rng)
    splits.seed, splits.deviations = int(seed), deviations
    if out is not None:
        _write(splits, Path(out), force)
    return splits


def _write(splits: Splits, out: Path, force: bool) -> None:
    present = [f"{name}.txt" for name in LISTS if (out / f"{name}.txt").exists()]
    if (out / "manifest.json").exists():
        present.append("manifest.json")
    if present and not force:
        raise FileExistsError(f"{out}: already holds {', '.join(present)}; choose another folder or pass --force")
    out.mkdir(parents=True, exist_ok=True)
    texts = {name: "".join(os.path.relpath(p, out.resolve()).replace(os.sep, "/") + "\n"
                           for p in splits.lists[name]) for name in LISTS}
    manifest = {
        "dataset": splits.dataset, "name": NAMES[splits.dataset], "root": str(splits.root), "seed": splits.seed,
        "protocol": dict(PROTOCOLS[splits.dataset]), "used": splits.counts,
        "counts": {name: len(splits.lists[name]) for name in LISTS},
        "categories": splits.categories,
        "sha256": {f"{name}.txt": hashlib.sha256(texts[name].encode()).hexdigest() for name in LISTS},
        "deviations": splits.deviations,
        "validation": "held back from the training images (the paper has no validation set)",
    }
    for name in LISTS:
        atomic_write(out / f"{name}.txt", lambda f, t=texts[name]: f.write(t.encode()))
    write_json(out / "manifest.json", manifest)


def read_manifest(folder: str | os.PathLike) -> dict:
    """The manifest of a folder written by :func:`make_splits`, its lists checked against their checksums."""
    import json

    folder = Path(folder)
    path = folder / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no manifest (write the lists with `gdn data split`)")
    manifest = json.loads(path.read_text())
    for name, digest in manifest["sha256"].items():
        data = (folder / name).read_bytes() if (folder / name).is_file() else b""
        if hashlib.sha256(data).hexdigest() != digest:
            raise SplitError(f"{folder / name}: missing or changed since `gdn data split` wrote it")
    return manifest
