"""What the book will cost before it runs: each training's steps and images, the time of every notebook and of the
book in all, and the disk its runs keep (``gdn book --plan``; the pre-flight's disk check).

Time. A training's is its steps at the rates of :mod:`gdn.book.rates` (on a CPU measured on this machine by a
short probe, with its start-up; on CUDA the ones recorded on an H200), plus the training notebook's own cost
around it (:data:`gdn.book.records.BOOK_NOTEBOOKS`).
The experiment notebooks' times are their run times in the work directory's last build where it ran them with
the same parameters, else the records of the same machine scaled by the probe's speed against the speed it had
then; the paper profile's are not measured (its evaluation of every test image in every bin).
The book's wall time follows the runner's schedule (:func:`wall_time`): trainings side by side in plan order,
every other notebook alone.

Disk. A checkpoint holds both networks' weights and Adam's two moments (3 x 4 bytes per parameter); a run keeps
``last.pt`` and one every ``keep_every`` steps."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from gdn.book.plan import Step
from gdn.book.rates import Rates, training_rates

__all__ = ["RunCost", "Estimate", "train_images", "run_total_steps", "checkpoint_bytes", "kept_checkpoints",
           "steps_done", "training_seconds", "wall_time", "last_build", "estimate", "plan_text", "fmt_duration",
           "CHECKPOINT_OVERHEAD", "TRAIN_NOTEBOOK_S"]

# a training notebook's own time around its training: the kernel's start and the figures it draws (about 16 s
# per training notebook beside another on 2 cores of an AMD EPYC on 7 December 2026, less the probe's 2.5 s of
# start-up it counts already, with the cores shared 1.6x)
TRAIN_NOTEBOOK_S = 8.0

# bytes of a checkpoint beyond its tensors' data: per weight about 1.2 kB (its name, and the pickled headers of it
# and its two Adam moments; measured on the smoke, cpu and paper checkpoints), and the config
CHECKPOINT_OVERHEAD = dict(per_weight=1_200, config=2_000)


@dataclass
class RunCost:
    """One training step of the plan: its run's config, its steps (``total``, of which ``done`` already in the run
    folder), the images it sees, the checkpoints it keeps and their bytes, and whether it will run."""
    step: str
    cfg: Any
    total: int
    done: int = 0
    checkpoint: int = 0  # bytes of one checkpoint
    kept: int = 0  # checkpoints the run keeps (last.pt included)
    will_run: bool = True
    folder: Path = Path()  # the run's folder, relative to the work directory: runs/<profile>/<run>

    @property
    def images(self) -> int:
        return self.total * self.cfg.batch_size

    @property
    def disk(self) -> int:
        return self.kept * self.checkpoint

    @property
    def new_disk(self) -> int:
        """Bytes this run will add: its checkpoints not yet written (a resumed run keeps what it has)."""
        if not self.will_run:
            return 0
        return (self.kept - (kept_checkpoints(self.cfg, self.done) if self.done else 0)) * self.checkpoint


def train_images(cfg) -> int | None:
    """Images in an epoch of the config's training set: the built-in photos' crops, or the files of its folder or
    list (None where they cannot be listed: the pre-flight says why)."""
    if cfg.train_data == "builtin":
        return int(cfg.builtin_train)
    from gdn.files import list_files
    from gdn.imageio import IMAGE_EXTS

    try:
        return len(list_files(cfg.train_data, IMAGE_EXTS))
    except (OSError, ValueError):
        return None


def run_total_steps(cfg, n_images: int | None = None) -> int | None:
    """Every step of a run (:func:`gdn.engine.schedule.total_steps`: its critic's head start and cool-down
    included), its epochs counted over ``n_images`` (default :func:`train_images`)."""
    from gdn.engine.schedule import total_steps

    n = train_images(cfg) if n_images is None else n_images
    if cfg.steps <= 0 and not n:
        return None
    return total_steps(cfg, max(1, (n or 0) // cfg.batch_size))


def checkpoint_bytes(cfg) -> int:
    """Bytes of one checkpoint of the config's run: both networks' weights and buffers, Adam's two moments of
    every weight (``gdn.engine.checkpoint.save_checkpoint``), and their names and headers (within 0.5 %)."""
    from gdn.frameworks import Framework

    fw = Framework(cfg)
    nets = [m for m in (fw.generator, fw.critic) if m is not None]
    weights = sum(p.numel() * p.element_size() for m in nets for p in m.parameters())
    buffers = sum(b.numel() * b.element_size() for m in nets for b in m.buffers())
    tensors = sum(1 for m in nets for _ in m.parameters())
    return 3 * weights + buffers + CHECKPOINT_OVERHEAD["per_weight"] * tensors + CHECKPOINT_OVERHEAD["config"]


def kept_checkpoints(cfg, total: int) -> int:
    """Checkpoints a run of ``total`` steps keeps: ``step_*.pt`` every ``keep_every`` steps, and ``last.pt``."""
    return total // cfg.keep_every + 1


def steps_done(run_dir: Path, cfg) -> int:
    """Steps a run folder already holds that ``gdn book`` will keep (the runner resumes a run made by the same
    config and code): all of them when it finished, else its last checkpoint's (a ``save_every`` multiple at or
    below its log's last step); 0 for a run that will start afresh."""
    from gdn.book.runs import FRESH, code_hash, read_log

    try:
        made_by = json.loads((run_dir / "book.json").read_text())
    except (OSError, ValueError):
        return 0
    same = made_by == json.loads(json.dumps({"config": cfg.to_dict(), "code": code_hash()}))  # as train_run compares
    if os.environ.get(FRESH) == "1" or not same:
        return 0
    try:
        if (run_dir / "summary.json").is_file():
            return int(json.loads((run_dir / "summary.json").read_text())["step"])
        if not (run_dir / "last.pt").is_file():
            return 0
        rows = read_log(run_dir)
    except (OSError, ValueError, KeyError):
        return 0
    last = int(rows[-1]["step"]) if rows else 0
    return last // cfg.save_every * cfg.save_every


def training_seconds(cfg, total: int, done: int, rates: Rates, notebook_s: float) -> float:
    """A training notebook's time: the steps from ``done`` to ``total`` at ``rates`` (the critic-only ones at the
    critic's rate), its validations, sample grids and checkpoint saves, plus the start-up and the notebook's own
    ``notebook_s`` (kernel, figures)."""
    import math

    if done >= total:  # finished: the notebook only reads it back
        return notebook_s

    def multiples(k: int) -> int:  # of k in (done, total]
        return total // k - done // k if k > 0 else 0

    if cfg.framework == "weight":
        critic_only = 0
    else:  # gdn.engine.schedule: the critic alone before step critic_warmup and from total - critic_cooldown
        critic_only = (max(0, min(cfg.critic_warmup, total) - done)
                       + max(0, total - max(done, total - cfg.critic_cooldown)))
    gen = total - done - critic_only
    every = math.lcm(cfg.eval_every, cfg.log_every) if cfg.eval_every else 0  # a log row that validates
    evals = multiples(every) + 1 + multiples(cfg.sample_every) // 2  # the last; a sample grid ~ half a validation
    saves = multiples(cfg.save_every) + (total % cfg.save_every != 0) + multiples(cfg.keep_every)
    return (gen * rates.gen_s + critic_only * rates.critic_s + evals * rates.eval_s + saves * rates.save_s
            + rates.setup_s + notebook_s)


def wall_time(steps: Sequence[Step], seconds: Mapping[str, float], jobs: int) -> float:
    """The book's wall time for step durations ``seconds`` (0 for a reused step), scheduled as
    :func:`gdn.book.execution.run_steps` does: up to ``jobs`` parallel steps at once in plan order (a step starts
    when a slot is free and its dependencies are done), every other step alone after all before it."""
    now, running, finished = 0.0, [], {}  # running: (end, name)
    for step in steps:
        duration = float(seconds.get(step.name, 0.0))
        if jobs > 1 and step.parallel:
            while len(running) >= jobs or any(d in {n for _, n in running} for d in step.deps):
                running.sort()
                end, name = running.pop(0)
                now, finished[name] = max(now, end), end
            start = max([now] + [finished[d] for d in step.deps if d in finished])
            running.append((start + duration, step.name))
        else:
            for end, name in running:
                finished[name] = end
                now = max(now, end)
            running = []
            start = max([now] + [finished[d] for d in step.deps if d in finished])
            now = finished[step.name] = start + duration
    return max([now] + [end for end, _ in running])


# ------------------------------------------------------------------------------------------------ estimate

@dataclass
class Estimate:
    """The book's time: each step's seconds (0 reused; None not estimated) and where it comes from, the trainings'
    wall time side by side, the other notebooks', the build's, and the total (None where a part is unknown)."""
    seconds: dict[str, float | None]
    sources: dict[str, str]
    rates: dict[str, Rates]
    trainings_s: float | None
    notebooks_s: float | None
    build_s: float | None
    total_s: float | None
    how: list[str]  # sentences: where the rates and records come from
    idle_s: float | None = None  # the total on cores of its own, when other work slowed the probe


def fmt_duration(seconds: float | None) -> str:
    """``m:ss`` below an hour, ``1.8 h`` above (the README's table); ``?`` when not estimated."""
    from gdn.book.build import fmt_time

    if seconds is None:
        return "?"
    return fmt_time(seconds) if seconds < 3600 else f"{seconds / 3600:.1f} h"


def last_build(prep, step: Step) -> float | None:
    """The run time of ``step`` in the work directory's last build (its ``run.json``) when that build ran it with
    the same parameters: this machine's own measurement of this notebook (the code may have changed since)."""
    from gdn.book.runs import FIGURES, figures_dir

    try:
        record = json.loads((figures_dir(prep.profile, step.name, prep.workdir / FIGURES) / "run.json").read_text())
    except (OSError, ValueError):
        return None
    same = record.get("params") == json.loads(json.dumps(step.params, default=str))
    return float(record["run_time_s"]) if same and "run_time_s" in record else None


def _layout(prep, rates: Mapping[str, Rates], record: Mapping[str, Any] | None):
    """For one set of training rates: each step's seconds and source (a notebook that is not a training: its last
    build here, else its share of the record's), and the record's scale (None: not scaled, the GPU or no record)."""
    around = TRAIN_NOTEBOOK_S  # a training notebook's kernel start and figures
    seconds: dict[str, float | None] = {}
    sources: dict[str, str] = {}
    trains = [s for s in prep.steps if s.parallel]
    scale = None
    if record and trains and all(rates.get(prep.runs[s.name].cfg.framework, None) is not None for s in trains) \
            and all(rates[prep.runs[s.name].cfg.framework].source == "probe" for s in trains):
        # this machine's speed now against the record's: the whole book's trainings, as estimated now, over the
        # record's measured trainings (the other notebooks ran on the same machine as those)
        full = {s.name: training_seconds(prep.runs[s.name].cfg, prep.runs[s.name].total, 0,
                                         rates[prep.runs[s.name].cfg.framework], around) for s in trains}
        scale = wall_time(trains, full, prep.jobs) / record["trainings_s"]
    others = [s for s in prep.steps if not s.parallel]
    for step in prep.steps:
        if prep.status[step.name] == "reuse":
            seconds[step.name], sources[step.name] = 0.0, "reused"
        elif step.name in prep.runs:
            run = prep.runs[step.name]
            rate = rates.get(run.cfg.framework)
            seconds[step.name] = training_seconds(run.cfg, run.total, run.done, rate, around) if rate else None
            sources[step.name] = rate.source if rate else "not estimated"
        elif last_build(prep, step) is not None:
            seconds[step.name], sources[step.name] = last_build(prep, step), "last build here"
        elif scale is not None:
            seconds[step.name], sources[step.name] = record["notebooks_s"] * scale / len(others), "record's share"
        else:
            seconds[step.name], sources[step.name] = None, "not measured"
    return seconds, sources, scale


def _sums(prep, seconds: Mapping[str, float | None], build_s: float | None):
    """(trainings side by side, the other notebooks, the total), None where a part is not estimated."""
    trains = [s for s in prep.steps if s.parallel]
    trainings = (wall_time(trains, seconds, prep.jobs) if all(seconds[s.name] is not None for s in trains)
                 else None)
    others = [seconds[s.name] for s in prep.steps if not s.parallel]
    notebooks = sum(others) if all(v is not None for v in others) else None
    parts = (trainings, notebooks, build_s)
    return trainings, notebooks, (sum(parts) if all(v is not None for v in parts) else None)


def estimate(prep, *, build: bool = True, budget: float = 3.0, say=None) -> Estimate:
    """The time of the book ``prep`` (:func:`gdn.book.runner.prepare_book`) describes, laid out as the runner runs
    it (:func:`wall_time`): its trainings' from a probe on this machine (or the recorded GPU rates on CUDA); its
    other notebooks' from the work directory's last build where it ran them with the same parameters, else from
    the record of a whole build on this machine (:data:`gdn.book.records.BOOK_NOTEBOOKS`), scaled by the probe's
    estimate of the same trainings against the record's (none for the paper profile).

    The probe's wall clock gives the estimate: a book started now, sharing the machine with whatever else runs
    now. When other work slowed the probe (its wall time over 1.15x its CPU time), ``idle_s`` is the estimate
    from its CPU time instead: about what the book takes if that work stops (a bound: this machine's CPU time
    grows too when its cores are shared)."""
    from gdn.book.records import BOOK_NOTEBOOKS

    record = BOOK_NOTEBOOKS.get(prep.profile)
    # the frameworks to probe: those of the runs to train; all of them when only other notebooks will run and
    # the record's times, scaled by the trainings' estimate, are what tells theirs
    scaled = record is not None and any(prep.status[s.name] == "run" and last_build(prep, s) is None
                                        for s in prep.steps if not s.parallel)
    by_framework: dict[str, Any] = {}
    for run in prep.runs.values():
        if run.will_run or scaled:
            by_framework.setdefault(run.cfg.framework, run.cfg)
    rates, how = training_rates(prep, by_framework, budget, say)
    seconds, sources, scale = _layout(prep, rates["wall"], record)
    if "last build here" in sources.values():
        how.append("other notebooks: their run times in this work directory's last build (same parameters)")
    if "record's share" in sources.values():
        how.append(f"other notebooks and the build: {record['what']} ({record['when']}, {record['machine']}: "
                   f"trainings {fmt_duration(record['trainings_s'])}, the other notebooks "
                   f"{fmt_duration(record['notebooks_s'])}, the build {fmt_duration(record['build_s'])}) times "
                   f"{scale:.2f}, this estimate of the same trainings over the record's")
    build_s = (record["build_s"] * scale if scale is not None else None) if build else 0.0
    trainings, notebooks, total = _sums(prep, seconds, build_s)
    idle = None
    if "cpu" in rates and rates["wall"] and prep.threads == 1:
        load = (sum(r.gen_s + r.critic_s for r in rates["wall"].values())
                / max(1e-9, sum(r.gen_s + r.critic_s for r in rates["cpu"].values())))
        if load > 1.15:
            idle_seconds, _, idle_scale = _layout(prep, rates["cpu"], record)
            idle_build = (record["build_s"] * idle_scale if idle_scale is not None else None) if build else 0.0
            idle = _sums(prep, idle_seconds, idle_build)[2]
            how.append(f"other work shared the cores during the probe (its wall time {load:.1f}x its CPU time): "
                       "the estimate assumes it goes on; with the cores to itself the book would take about "
                       f"{fmt_duration(idle)} (from the probe's CPU time, which such sharing lengthens too)")
    return Estimate(seconds, sources, rates["wall"], trainings, notebooks, build_s, total, how, idle)


def plan_text(prep, est: Estimate, *, build: bool = True) -> str:
    """What ``gdn book --plan`` prints: the checks, every step (run or reused, a training's steps, images and
    kept checkpoints, its time), the time in all and where it comes from, and the disk."""
    from gdn.book.preflight import fmt_bytes

    threads = prep.threads
    side = (f", trainings {prep.jobs} at a time" + (f" ({threads} thread{'s' * (threads > 1)} each)" if threads else "")
            if prep.jobs > 1 else "")
    side += (f", one per GPU ({', '.join(prep.devices)})" if prep.devices else
             f", each on {prep.ddp} DDP processes" if prep.ddp > 1 else "")
    device = prep.cfg.device
    if device == "auto":  # say which
        import torch

        device += f" ({'cuda' if torch.cuda.is_available() else 'cpu'})"
    lines = [f"gdn book --plan: profile {prep.profile}, {len(prep.steps)} notebooks{side}, device {device}, "
             f"work directory {prep.workdir}", "",
             "checks (every input, before the first training):"]
    lines += [f"  ok       {text}" for text in prep.checks.passed]
    lines += [f"  note     {text}" for text in prep.checks.notes]
    lines += [f"  PROBLEM  {text}" for text in prep.checks.problems]
    lines += ["", f"  {'step':22s} {'will':6s} {'steps':>10s} {'images':>13s} {'checkpoints kept':>24s} {'time':>8s}"]
    for step in prep.steps:
        will = prep.status[step.name]
        run = prep.runs.get(step.name)
        if run is not None:
            steps = f"{run.total:,}" if not run.done else f"{run.total - run.done:,} more"
            kept = f"{run.kept} x {fmt_bytes(run.checkpoint)} = {fmt_bytes(run.disk)}"
            lines.append(f"  {step.name:22s} {will:6s} {steps:>10s} {run.images:>13,} {kept:>24s} "
                         f"{fmt_duration(est.seconds[step.name]):>8s}")
        else:  # a share of the record's notebooks is not this notebook's time: those are summed below
            shown = "" if est.sources[step.name] == "record's share" else fmt_duration(est.seconds[step.name])
            lines.append(f"  {step.name:22s} {will:6s} {'':>10s} {'':>13s} {'':>24s} {shown:>8s}")
    shares = [s.name for s in prep.steps if est.sources[s.name] == "record's share"]
    if shares:
        label = f"the {len(shares)} above"
        lines.append(f"  {label:22s} {'run':6s} {'':>10s} {'':>13s} {'':>24s} "
                     f"{fmt_duration(sum(est.seconds[n] for n in shares)):>8s}")
    if build:
        lines.append(f"  {'book build':22s} {'run':6s} {'':>10s} {'':>13s} {'':>24s} {fmt_duration(est.build_s):>8s}")
    at_once = f" ({prep.jobs} at a time)" if prep.jobs > 1 else " (one after the other)"
    lines += ["", f"time: trainings {fmt_duration(est.trainings_s)}{at_once}, the other notebooks "
                  f"{fmt_duration(est.notebooks_s)}" + (f", the build {fmt_duration(est.build_s)}" if build else "")
              + f": {'about ' + fmt_duration(est.total_s) if est.total_s is not None else 'not estimated'} in all"]
    lines += [f"  {text}" for text in est.how]
    missing = [s.name for s in prep.steps if est.seconds[s.name] is None]
    if missing:
        lines.append(f"  not measured here: {', '.join(missing)}")
    total = sum(r.disk for r in prep.runs.values())
    new = sum(r.new_disk for r in prep.runs.values())
    lines += ["", f"disk: the runs keep {fmt_bytes(total)} of checkpoints ({fmt_bytes(new)} more than now; "
                  "keep_every=N keeps fewer)"]
    return "\n".join(lines)
