"""``gdn book``: run the book's notebooks with papermill, in dependency order, then build the HTML book.

    gdn book --profile cpu                       # what `make book` runs: 7 trainings, every experiment, the book
    gdn book --profile smoke --workdir /tmp/bk   # a throw-away copy (the tests do this)
    gdn book --profile cpu --param table1.per_bin=32     # a notebook parameter ([STEP.]NAME=VALUE)
    gdn book --profile paper device=cuda precision=bf16 train_data=/data/places2/train  # training config keys
    gdn book --profile cpu --jobs 1              # the trainings one after the other (default: one per core)

The plan (:func:`gdn.book.plan.plan`) lists every step: a notebook of ``notebooks/``, its parameters and the
steps it reads (trainings first, then the experiment notebooks that read their checkpoints). On a CPU the
trainings run side by side, one per core with one thread each (:func:`default_jobs`); the rest run alone.
Before anything runs, every parameter name is checked against the notebook's ``parameters`` cell (papermill's
``inspect_notebook``): a misspelt name is an error naming it and listing the allowed ones.

This module decides everything before a notebook runs (:func:`prepare_book`: the config, where the trainings
go, what each step will do, the pre-flight) and then runs the book (:func:`run_book`); running the steps
themselves, and reusing those whose notebook, parameters and code are unchanged, is
:func:`gdn.book.execution.run_steps`'s.

Where things land (relative to the work directory, by default the repository root):

- ``runs/<profile>/<run>/``: training runs (checkpoints, log.csv, samples/, summary.json);
- ``figures/<profile>/<step>/``: the executed notebook ``<step>.ipynb``, ``run.json`` (parameters, key, git
  commit, device, date, run time) and every figure and table the notebook wrote through
  :class:`gdn.book.report.Report` (PNG/CSV/HTML, each with a JSON sidecar);
- ``book/_generated/<step>.ipynb``: copies of the executed notebooks that the book's pages paste from;
- ``book/_vendor/mathjax/``: MathJax 3 for offline math (``npm install mathjax@3.2.2`` into a cache, once);
- ``_build/html``: the book, built with ``jupyter-book build --all -W -n --keep-going``.
"""
from __future__ import annotations

import functools
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from gdn.book.build import (build_book, ensure_mathjax, fmt_time, prepare_workdir, source_root,
                            sync_generated)
from gdn.book.execution import Executor, is_current, run_steps, step_keys, training_progress
from gdn.book.plan import BookError, Step, apply_params, check_parameters, plan
from gdn.book.runs import FRESH, code_hash

__all__ = ["default_jobs", "placement", "Prepared", "planned_status", "prepare_book", "run_book"]


def default_jobs(device: str = "cpu") -> int:
    """How many trainings ``gdn book`` runs side by side unless told (``--jobs``): one per usable CPU core
    when they train on the CPU, one kernel thread each; one on a GPU (they would share it).

    On 2 cores, two one-thread trainings finish in 0.71x the time of the same two run one after the other
    with two threads each: a step scales 1.7x from one thread to two, and each run's data loading, start-up
    and evaluation then overlap with the other's training (measured in the Training chapter)."""
    from gdn.device import resolve_device, usable_cpus

    return usable_cpus() if resolve_device(device).type == "cpu" else 1


def placement(device: str, gpus: Sequence[str] | None = None, ddp: int = 0) -> tuple[list[str], dict[str, str]]:
    """Where the trainings go: (GPUs to place them on one each, environment for every training's kernel).
    ``ddp`` > 1: none to place, each training runs N DDP processes. Else ``gpus`` if given, else every visible GPU
    when the trainings run on CUDA and there are several (one GPU, or a CPU: nothing to place)."""
    from gdn.book.runs import DDP
    from gdn.device import resolve_device, visible_gpus

    if ddp < 0 or ddp == 1:
        raise BookError(f"--ddp needs at least 2 processes, got {ddp}")
    if ddp > 1:
        if gpus:
            raise BookError("choose one: --gpus places trainings side by side, --ddp spreads each over the GPUs")
        return [], {DDP: str(int(ddp))}
    if gpus is not None:
        gpus = [str(g).strip() for g in gpus if str(g).strip()]
        if len(set(gpus)) != len(gpus):
            raise BookError(f"--gpus lists a GPU twice: {','.join(gpus)}")
        return gpus, {}
    if resolve_device(device).type != "cuda":
        return [], {}
    found = visible_gpus()
    return (found if len(found) > 1 else []), {}


@dataclass
class Prepared:
    """The book as it would run, before anything runs: its steps and where trainings go, what each step will do
    (``status``: "run" or "reuse"), each training's run (``runs``: step name -> :class:`~gdn.book.costs.RunCost`)
    and what the pre-flight found (``checks``)."""
    profile: str
    source: Path
    workdir: Path
    cfg: Any  # the profile with the overrides: the trainings' shared settings
    steps: list[Step]
    jobs: int
    devices: list[str]
    train_env: dict[str, str]
    ddp: int
    status: dict[str, str]
    runs: dict[str, Any]
    checks: Any

    @property
    def threads(self) -> int | None:
        """Threads each training's kernel gets (None: torch's default, every core)."""
        from gdn.device import usable_cpus

        return max(1, usable_cpus() // self.jobs) if self.jobs > 1 and not self.devices else None


def planned_status(steps: Sequence[Step], workdir: Path, profile: str, keys: Mapping[str, str],
                   force: bool = False) -> dict[str, str]:
    """What :func:`run_steps` will do with each step: "run" (forced, its key changed, its outputs are missing, or a
    step it reads will run) or "reuse"."""
    status: dict[str, str] = {}
    for step in steps:
        stale = force or any(status.get(d) == "run" for d in step.deps)
        status[step.name] = "run" if stale or not is_current(workdir, profile, step, keys[step.name]) else "reuse"
    return status


def prepare_book(profile: str, *, workdir: str | Path | None = None, params: Sequence[str] = (),
                 overrides: Mapping[str, str] | None = None, force: bool = False, jobs: int | None = None,
                 seeds: int | None = None, gpus: Sequence[str] | None = None, ddp: int = 0,
                 data: str | Path | None = None) -> Prepared:
    """Everything ``gdn book`` decides before it runs a notebook, writing nothing: the config, the placement, the
    plan with its parameters checked, what each step will do, each training's steps and disk, and the pre-flight
    of every input (:func:`gdn.book.preflight.preflight`; ``data``: ``--data``'s folder, checked against its
    manifest). Raises at once for a bad option, config key or notebook parameter; the inputs' problems are in
    ``checks`` (all of them)."""
    from gdn.book.costs import RunCost, checkpoint_bytes, kept_checkpoints, run_total_steps, steps_done, train_images
    from gdn.book.preflight import preflight
    from gdn.config import resolve
    from gdn.device import DeviceError, resolve_device

    source = source_root()
    workdir = Path(workdir).resolve() if workdir else source
    overrides = dict(overrides or {})
    cfg = resolve(profile, overrides)  # fail early on unknown config keys or values
    if jobs is not None and jobs < 1:
        raise BookError(f"jobs must be at least 1, got {jobs}")
    try:
        resolve_device(cfg.device)
        usable = True
    except DeviceError:  # the pre-flight says so, beside every other problem; place nothing meanwhile
        usable = False
    devices, train_env = placement(cfg.device if usable else "cpu", gpus, ddp)
    if ddp > 1 or devices:
        if jobs not in (None, len(devices) or 1):
            raise BookError(f"--jobs {jobs} contradicts the GPU placement ({len(devices)} GPUs side by side"
                            f"{', or DDP: one training at a time' if ddp > 1 else ''}); leave --jobs out")
        jobs = len(devices) or 1
    elif jobs is None:
        jobs = default_jobs(cfg.device) if usable else 1
    notebooks = source / "notebooks"  # what prepare_workdir copies into the work directory
    steps = plan(profile, overrides, seeds=seeds)
    apply_params(steps, params, notebooks)
    check_parameters(steps, notebooks)
    jobs = max(1, min(int(jobs), sum(s.parallel for s in steps)))
    status = planned_status(steps, workdir, profile, step_keys(steps, notebooks, code_hash()), force)
    runs, cfgs, sizes, images = {}, [], {}, {}
    for step in (s for s in steps if s.parallel):
        run_cfg = resolve(profile, {**step.params["config"], **step.params.get("overrides", {})})  # as train_run
        cfgs.append(run_cfg)
        if run_cfg.train_data not in images:
            images[run_cfg.train_data] = train_images(run_cfg)
        total = run_total_steps(run_cfg, images[run_cfg.train_data]) or 0
        shape = tuple(getattr(run_cfg, k) for k in ("framework", "width", "res_blocks", "norm", "colour_anchor",
                                                     "critic_width"))
        if shape not in sizes:
            sizes[shape] = checkpoint_bytes(run_cfg)
        folder = Path(step.params.get("runs_root", "runs")) / profile / step.params["run"]
        done = 0 if force else min(steps_done(workdir / folder, run_cfg), total)
        runs[step.name] = RunCost(step.name, run_cfg, total, done, sizes[shape], kept_checkpoints(run_cfg, total),
                                  status[step.name] == "run", folder)
    table1 = next((s for s in steps if s.name == "table1"), None)
    fid = table1 is not None and bool(table1.params.get("fid", True))  # its notebook scores FID unless told not
    notebook_devices = sorted({str(s.params["device"]) for s in steps if "device" in s.params and not s.parallel})
    checks = preflight(cfgs, workdir=workdir, data=data, devices=[(d, "fp32") for d in notebook_devices], fid=fid,
                       need_bytes=sum(r.new_disk for r in runs.values()))
    return Prepared(profile, source, workdir, cfg, steps, jobs, devices, train_env, ddp, status, runs, checks)


def run_book(profile: str, *, workdir: str | Path | None = None, params: Sequence[str] = (),
             overrides: Mapping[str, str] | None = None, force: bool = False, build: bool = True,
             execute: Executor | None = None, out=None, jobs: int | None = None,
             seeds: int | None = None, gpus: Sequence[str] | None = None, ddp: int = 0,
             data: str | Path | None = None) -> dict[str, str]:
    """Everything ``gdn book`` does; returns step name -> "ran" / "reused". ``jobs``: trainings run side by
    side (default :func:`default_jobs` for the trainings' device); ``seeds``: every training's seeds (default: the
    profile's, :func:`gdn.book.plan.run_seeds`); ``data``: the folder of ``gdn data split``'s lists (checked
    against its manifest).

    Before anything is written, :func:`prepare_book` checks every input the book will read (the pre-flight):
    any problem raises :class:`~gdn.book.preflight.PreflightError` listing all of them, with nothing trained or
    written. Notes (FID n/a) are said once, up front.

    Several GPUs: ``gpus`` (``CUDA_VISIBLE_DEVICES`` entries; default: every visible one when the trainings run on
    CUDA) places the trainings one per GPU side by side; ``ddp`` = N > 1 instead trains each run in turn with N
    DDP processes (one per GPU, ``torchrun``). Resume and reuse work either way."""
    out = out or sys.stdout
    prep = prepare_book(profile, workdir=workdir, params=params, overrides=overrides, force=force, jobs=jobs,
                        seeds=seeds, gpus=gpus, ddp=ddp, data=data)
    prep.checks.raise_problems()
    source, workdir, steps, jobs, devices = prep.source, prep.workdir, prep.steps, prep.jobs, prep.devices
    for note in prep.checks.notes:
        print(f"note: {note}", file=out, flush=True)
    prepare_workdir(source, workdir)
    if build:
        ensure_mathjax(workdir, out)
    t0 = time.perf_counter()
    side = f", trainings {jobs} at a time" if jobs > 1 else ""
    side += (f", one per GPU ({', '.join(devices)})" if devices else
             f", each on {ddp} DDP processes" if ddp > 1 else "")
    print(f"gdn book: profile {profile}, {len(steps)} notebooks{side}, work directory {workdir}", file=out,
          flush=True)
    progress = {name: functools.partial(training_progress, workdir / run.folder, run.total, run.cfg.batch_size)
                for name, run in prep.runs.items()}
    fresh = os.environ.get(FRESH)
    if force:  # the training notebooks start their runs afresh too, rather than reuse or resume them
        os.environ[FRESH] = "1"
    try:
        status = run_steps(steps, workdir, profile, execute=execute, force=force, out=out, jobs=jobs,
                           devices=devices, train_env=prep.train_env, progress=progress)
    finally:
        if force and fresh is None:
            os.environ.pop(FRESH, None)
        elif force:
            os.environ[FRESH] = fresh
    ran = sum(v == "ran" for v in status.values())
    print(f"notebooks: {ran} ran, {len(status) - ran} reused, {fmt_time(time.perf_counter() - t0)}",
          file=out, flush=True)
    sync_generated(steps, workdir, profile)
    if build:
        build_book(workdir, out)
    print(f"total {fmt_time(time.perf_counter() - t0)}", file=out, flush=True)
    return status
