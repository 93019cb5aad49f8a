"""The book's pre-flight: everything ``gdn book`` will read or need, checked before its first training.

A paper book trains for hours before its first experiment notebook opens Liu et al.'s masks; a mistyped folder
found there costs those hours. :func:`preflight` checks, for the configs of the book's trainings and the
notebooks' device:

- the data: each of ``train_data``, ``val_data`` and ``test_data`` that is not the built-in photos exists and
  lists readable files; a list written by ``gdn data split`` matches its manifest (checksums and counts,
  :func:`gdn.splits.read_manifest`); every listed image exists; a sample of them decodes as training decodes it;
  there are at least a batch of training images;
- the test masks: Liu et al.'s set, with ``gdn data masks``' checks (:func:`gdn.mask_sets.liu_test_masks`:
  count, polarity, bins), and the training masks (QD-IMD's drawings: found, decoded, one processed into a mask);
- the ``init`` checkpoint: found, loadable and of the generator's shape (:func:`gdn.engine.train.init_generator`);
  a Det run's ``cooldown_init``: of the detector's (:func:`gdn.engine.train.cooldown_critic`);
- the device and precision: the device exists (:func:`gdn.device.resolve_device`), bf16 where it is supported;
- FID: without pytorch-fid's Inception weights the book reports FID as n/a (a note, said once, not a problem);
- the work directory: writable, with the free disk the runs to train will keep (``need_bytes``).

Each problem is one line naming the file or key and what is wrong; every check runs, so all problems are listed
together (:class:`PreflightError`). The checks only read: nothing is created, trained or written (the work
directory's writability is tested with a temporary file that deletes itself)."""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from gdn.book.plan import BookError

__all__ = ["PreflightError", "Preflight", "preflight", "check_data", "check_masks", "check_init", "check_device",
           "check_workdir", "fid_note", "fmt_bytes", "DATA_KEYS", "SAMPLE"]

DATA_KEYS = ("train_data", "val_data", "test_data")
SAMPLE = 8  # images (and drawings) of each source decoded: spread over the list, first and last included


class PreflightError(BookError):
    """Problems with the book's inputs, found before anything ran: ``problems`` holds one line per problem."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        n = len(self.problems)
        head = self.problems[0] if n == 1 else f"{n} problems with the book's inputs (nothing was run):"
        super().__init__("\n".join([head] + (self.problems if n > 1 else [])))


@dataclass
class Preflight:
    """What the checks found: ``problems`` stop the book; ``notes`` are said once and do not (FID n/a);
    ``passed`` says what was checked and found fine (``gdn book --plan`` prints it)."""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)

    def merge(self, other: "Preflight") -> "Preflight":
        for name in ("problems", "notes", "passed"):
            for line in getattr(other, name):
                if line not in getattr(self, name):  # the seven runs share their inputs: say each once
                    getattr(self, name).append(line)
        return self

    def raise_problems(self) -> None:
        if self.problems:
            raise PreflightError(self.problems)


def fmt_bytes(n: float) -> str:
    """``1.2 GB``, ``38 MB``, ``512 kB`` (powers of 1000, as disks are sold and ``df -H`` shows them)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}" if n < 10 * size else f"{n / size:.0f} {unit}"
    return f"{int(n)} B"


def _message(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def _spread(items: Sequence, k: int = SAMPLE) -> list:
    """Up to ``k`` items evenly spread over ``items``, the first and the last included."""
    if len(items) <= k:
        return list(items)
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)]


# ---------------------------------------------------------------------------------------------------- data

def _manifest_folders(cfg, data: str | os.PathLike | None) -> list[Path]:
    """The folders written by ``gdn data split`` that the config reads: ``--data``'s, and any list's folder
    that holds a ``manifest.json`` (lists given as ``train_data=.../train.txt`` are checked the same way)."""
    folders = [Path(data).resolve()] if data else []
    for key in DATA_KEYS:
        value = getattr(cfg, key)
        if value != "builtin" and value.endswith(".txt"):
            folder = Path(value).resolve().parent
            if (folder / "manifest.json").is_file() and folder not in folders:
                folders.append(folder)
    return folders


def check_data(cfg, data: str | os.PathLike | None = None) -> Preflight:
    """The config's image lists and folders (see the module notes). ``data``: ``gdn book --data``'s folder."""
    from gdn.files import list_files
    from gdn.imageio import IMAGE_EXTS, load_rgb8
    from gdn.splits import LISTS, read_manifest

    out = Preflight()
    broken: set[Path] = set()  # manifest folders already reported: their lists are not reported again
    for folder in _manifest_folders(cfg, data):
        try:
            manifest = read_manifest(folder)
        except (OSError, ValueError, KeyError) as e:
            out.problems.append(_message(e) if not isinstance(e, KeyError) else
                                f"{folder / 'manifest.json'}: not a manifest of `gdn data split` (no {e})")
            broken.add(folder)
            continue
        wrong = 0
        for name in LISTS:
            try:
                n = len(list_files(folder / f"{name}.txt", IMAGE_EXTS))
            except (OSError, ValueError):
                n = 0
            want = manifest.get("counts", {}).get(name)
            if want is not None and n != want:
                out.problems.append(f"{folder / (name + '.txt')}: lists {n:,} images, its manifest says {want:,}")
                wrong += 1
        if not wrong:
            name = manifest.get("name", manifest.get("dataset"))
            out.passed.append(f"{folder}: the lists match their manifest ({name}: "
                              + ", ".join(f"{k} {v:,}" for k, v in manifest.get("counts", {}).items()) + ")")
    seen: dict[str, str] = {}
    for key in DATA_KEYS:
        value = getattr(cfg, key)
        if value == "builtin":
            continue
        if value in seen:  # one source read as two splits: checked once
            continue
        seen[value] = key
        source = Path(value)
        if source.resolve().parent in broken or source.resolve() in broken:
            continue
        if not source.exists():
            out.problems.append(f"{source}: no such file or folder ({key})")
            continue
        try:
            files = list_files(source, IMAGE_EXTS)
        except (OSError, ValueError) as e:
            out.problems.append(f"{_message(e)} ({key})")
            continue
        if source.is_file():  # a list: every image it names must be there (a folder lists only what it holds)
            missing = [f for f in files if not f.is_file()]
            if missing:
                first = os.path.normpath(missing[0])  # a list's paths are relative to it: ../../x.jpg
                out.problems.append(f"{source}: names {len(missing):,} missing image{'s' * (len(missing) > 1)} of "
                                    f"{len(files):,}, the first {first} ({key})")
                continue
        bad = []
        for f in _spread(files):
            try:
                load_rgb8(f)
            except (OSError, ValueError) as e:
                bad.append(f"{_message(e)}")
        if bad:
            out.problems.append(f"{bad[0]} ({key}: {len(bad)} of the {min(len(files), SAMPLE)} images sampled "
                                "do not decode)")
            continue
        if key == "train_data" and len(files) < cfg.batch_size:
            out.problems.append(f"{source}: {len(files)} training images, fewer than a batch ({cfg.batch_size}) "
                                f"({key})")
            continue
        out.passed.append(f"{key} {source}: {len(files):,} images, every one present, {min(len(files), SAMPLE)} "
                          "sampled decode")
    if all(getattr(cfg, key) == "builtin" for key in DATA_KEYS):
        out.passed.append("data: the built-in photos (shipped with the packages)")
    return out


# --------------------------------------------------------------------------------------------------- masks

def check_masks(cfg) -> Preflight:
    """Liu et al.'s test masks (``test_masks``) and the training masks (``train_masks``)."""
    import numpy as np

    from gdn.files import list_files
    from gdn.imageio import MASK_EXTS, read_mask
    from gdn.mask_sets import LIU_TOTAL, QD_PREFIX, QuickDrawMasks, liu_test_masks

    out = Preflight()
    if cfg.test_masks == "generated":
        out.passed.append("test masks: generated (gdn.masks.mask_bank), per_bin per ratio bin")
    elif not Path(cfg.test_masks).exists():
        out.problems.append(f"{cfg.test_masks}: no such file or folder (test_masks: Liu et al.'s {LIU_TOTAL:,} "
                            "test masks)")
    else:
        try:
            bins = liu_test_masks(cfg.test_masks)  # gdn data masks' checks: count, polarity, bins
            out.passed.append(f"test masks {cfg.test_masks}: Liu et al.'s {LIU_TOTAL:,}, holes "
                              f"{'black' if bins[0].invert else 'white'}, every bin's ratios in range")
        except (OSError, ValueError) as e:
            out.problems.append(f"{_message(e)} (test_masks)")
    spec = cfg.train_masks
    if spec == "random":
        out.passed.append("training masks: free-form masks drawn on the fly (gdn.masks)")
        return out
    qd = spec.startswith(QD_PREFIX)
    folder = spec[len(QD_PREFIX):] if qd else spec
    what = "train_masks: QD-IMD's drawings" if qd else "train_masks"
    if not Path(folder).exists():
        out.problems.append(f"{folder}: no such file or folder ({what})")
        return out
    try:
        files = list_files(folder, MASK_EXTS, what="mask")
        for f in _spread(files):
            read_mask(f)
        if qd:  # one drawing through the paper's processing: a folder of other images gives no hole
            QuickDrawMasks(folder).draw(np.random.default_rng(0), cfg.size)
    except (OSError, ValueError) as e:
        out.problems.append(f"{_message(e)} ({what})")
        return out
    out.passed.append(f"training masks {folder}: {len(files):,} {'drawings' if qd else 'masks'}, "
                      f"{min(len(files), SAMPLE)} sampled decode" + (", one processed into a mask" if qd else ""))
    return out


# ---------------------------------------------------------------------------------------------- init, device

def check_init(cfg) -> Preflight:
    """The warm start ``init``: found, loadable, and the generator's shape (loaded into a fresh generator)."""
    from types import SimpleNamespace

    out = Preflight()
    if not cfg.init:
        out.passed.append("init: random (the paper's)")
        return out
    from gdn.anchored import build_generator
    from gdn.engine.checkpoint import resolve_init
    from gdn.engine.train import init_generator

    try:
        path = resolve_init(cfg.init)
        init_generator(SimpleNamespace(generator=build_generator(cfg)), cfg)  # what training does first
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        out.problems.append(f"{_message(e)} (init)")
        return out
    out.passed.append(f"init {path}: loads into this config's generator")
    return out


def check_cooldown_init(cfg) -> Preflight:
    """The detector ``cooldown_init`` of a Det run's cool-down: found, loadable, a detector of ``critic_width``."""
    out = Preflight()
    if not cfg.cooldown_init or cfg.framework != "det":
        return out
    from gdn.engine.checkpoint import resolve_init
    from gdn.engine.train import cooldown_critic

    try:
        path = resolve_init(cfg.cooldown_init)
        cooldown_critic(cfg)  # what training does first
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        out.problems.append(f"{_message(e)} (cooldown_init)")
        return out
    out.passed.append(f"cooldown_init {path}: loads into this config's detector")
    return out


def check_device(device: str, precision: str = "fp32", what: str = "device") -> Preflight:
    """The device exists here, and bf16 runs on it (CUDA: compute capability 8.0 or later)."""
    import torch

    from gdn.device import resolve_device

    out = Preflight()
    try:
        dev = resolve_device(device)
    except ValueError as e:
        out.problems.append(_message(e) + (f" ({what})" if what != "device" else ""))
        return out
    label = str(dev) + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else "")
    if precision == "bf16":
        if dev.type == "cuda" and not torch.cuda.is_bf16_supported():
            out.problems.append(f"precision bf16: {label} does not support bfloat16; use precision=fp32")
            return out
        if dev.type == "mps":
            try:
                torch.ones(1, dtype=torch.bfloat16, device=dev)
            except (RuntimeError, TypeError) as e:
                out.problems.append(f"precision bf16: {label} does not support bfloat16 ({_message(e)}); use "
                                    "precision=fp32")
                return out
    out.passed.append(f"{what} {device}: {label}" + (f", precision {precision}" if what == "device" else ""))
    return out


def fid_note() -> str | None:
    """Why FID will be n/a, or None when its Inception weights are in place."""
    from gdn.book.studies import fid_status
    from gdn.evaluation.frechet import FID_WEIGHTS_NAME, fid_weights_path

    if fid_status() is None:
        return None
    return (f"FID will be n/a: pytorch-fid's Inception weights {FID_WEIGHTS_NAME} are not in "
            f"{fid_weights_path().parent} (nothing is downloaded; put the file there to score FID)")


# ------------------------------------------------------------------------------------------------ work dir

def _existing(path: Path) -> Path:
    """``path`` or its nearest existing ancestor (what the book will create its folders in)."""
    path = path.absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def check_workdir(workdir: Path, need_bytes: int = 0, what: str = "the runs to train keep") -> Preflight:
    """The work directory (or the folder it will be made in) takes a file, and its disk has ``need_bytes``
    free. The file is a temporary one that deletes itself; a regular file where a folder must be is a problem."""
    out = Preflight()
    workdir = Path(workdir)
    base = _existing(workdir)
    if not base.is_dir():
        out.problems.append(f"{workdir}: cannot be a folder, {base} is a file (--workdir)")
        return out
    folders = [base] + [workdir / name for name in ("runs", "figures", "book") if (workdir / name).is_dir()]
    for folder in folders:
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as e:
            out.problems.append(f"{workdir}: cannot write in {folder} ({e.strerror or _message(e)}) (--workdir)")
            return out
    free = shutil.disk_usage(base).free
    if need_bytes > free:
        out.problems.append(f"{workdir}: {fmt_bytes(free)} free on its disk, {what} about {fmt_bytes(need_bytes)} "
                            "(free some, or keep fewer checkpoints: keep_every=N)")
        return out
    out.passed.append(f"work directory {workdir}: writable, {fmt_bytes(free)} free"
                      + (f" ({what} about {fmt_bytes(need_bytes)})" if need_bytes else ""))
    return out


# --------------------------------------------------------------------------------------------------- all

def preflight(cfgs: Iterable, *, workdir: str | os.PathLike, data: str | os.PathLike | None = None,
              devices: Sequence[tuple[str, str]] = (), fid: bool = False, need_bytes: int = 0) -> Preflight:
    """Every check, for the configs of the book's trainings (their data, masks, init, device and precision,
    each distinct input checked once), the notebooks' ``devices`` ((device, precision) pairs), FID when ``fid``
    (the book scores it), and the work directory with ``need_bytes`` free. Never raises for a user's input:
    the problems are in the result (:meth:`Preflight.raise_problems`)."""
    out = Preflight()
    checked: set = set()

    def once(key, check, *args) -> None:
        if key not in checked:
            checked.add(key)
            out.merge(check(*args))

    trained_on = set()
    for cfg in cfgs:
        trained_on.add(cfg.device)
        once(("device", cfg.device, cfg.precision), check_device, cfg.device, cfg.precision, "device")
        once(("data", tuple(getattr(cfg, k) for k in DATA_KEYS), cfg.batch_size, str(data)), check_data, cfg, data)
        once(("masks", cfg.test_masks, cfg.train_masks, cfg.size), check_masks, cfg)
        once(("init", cfg.init, cfg.width, cfg.res_blocks, cfg.norm, cfg.colour_anchor), check_init, cfg)
        once(("cooldown_init", cfg.cooldown_init, cfg.critic_width, cfg.framework == "det"), check_cooldown_init, cfg)
    for device, precision in devices:
        if device not in trained_on:  # a device the trainings use is checked (and reported) once, above
            once(("device", device, precision), check_device, device, precision, "the notebooks' device")
    if fid:
        note = fid_note()
        if note:
            out.notes.append(note)
    out.merge(check_workdir(Path(workdir), need_bytes))
    return out
