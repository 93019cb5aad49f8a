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

Reuse: a step's key hashes its notebook file, its parameters, every ``.py`` file of the package and the keys of
the steps it depends on. A step whose key matches the one recorded beside its executed notebook, and whose
outputs exist, is reused; so touching one notebook re-runs it and its dependants only, and a change to the
package re-runs everything.

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

import datetime as _dt
import functools
import hashlib
import json
import os
import queue
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from gdn.book.build import (build_book, ensure_mathjax, fmt_time, prepare_workdir, source_root,
                            sync_generated)
from gdn.book.plan import BookError, Step, apply_params, check_parameters, plan
from gdn.book.runs import FIGURES, FRESH, code_hash, figures_dir

__all__ = ["code_hash", "step_keys", "step_dir", "is_current", "papermill_executor", "training_progress",
           "default_jobs", "placement", "run_steps", "Prepared", "planned_status", "prepare_book", "run_book"]


# ------------------------------------------------------------------------------------------------- reuse

def step_keys(steps: Sequence[Step], notebooks: str | Path, code: str) -> dict[str, str]:
    """Each step's key: hash of its notebook file, its parameters, the code hash and its dependencies' keys."""
    keys: dict[str, str] = {}
    for step in steps:
        h = hashlib.sha256()
        h.update((Path(notebooks) / step.notebook).read_bytes())
        h.update(json.dumps(step.params, sort_keys=True, default=str).encode())
        h.update(code.encode())
        for dep in step.deps:
            h.update(keys[dep].encode())
        keys[step.name] = h.hexdigest()
    return keys


def step_dir(workdir: Path, profile: str, step: Step) -> Path:
    return figures_dir(profile, step.name, workdir / FIGURES)


def is_current(workdir: Path, profile: str, step: Step, key: str) -> bool:
    folder = step_dir(workdir, profile, step)
    try:
        record = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError):
        return False
    return (record.get("key") == key and (folder / f"{step.name}.ipynb").is_file()
            and all((workdir / p).exists() for p in step.outputs))


Executor = Callable[..., None]  # (notebook, output, params, cwd, *, threads=None)


def papermill_executor(notebook: Path, output: Path, params: dict, cwd: Path, *, threads: int | None = None,
                       env: Mapping[str, str] | None = None) -> None:
    """Execute ``notebook`` into ``output`` with papermill (kernel python3, working directory ``cwd``).

    With ``threads``, papermill runs in a child process whose kernel starts with that many OpenMP threads
    (``OMP_NUM_THREADS``, what torch reads at start), so notebooks running side by side share the cores instead
    of fighting over them; Ctrl-C reaches the child, which shuts its kernel down as in the sequential case.
    ``env`` adds environment variables for that child (say ``CUDA_VISIBLE_DEVICES``: the GPU a training gets)."""
    if threads is not None or env:
        import os
        import subprocess

        env = {**os.environ, **(env or {})}
        if threads is not None:
            env["OMP_NUM_THREADS"] = str(int(threads))
        code = "from gdn.book.runner import _papermill_child; _papermill_child()"
        done = subprocess.run([sys.executable, "-c", code, str(notebook), str(output),
                               json.dumps(params, default=str), str(cwd)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        if done.returncode:
            lines = [line for line in done.stderr.splitlines() if line.strip()] or ["(no message)"]
            last = lines[-1].removeprefix("BookError: ")
            raise BookError(last if lines[-1].startswith("BookError: ") else
                            f"{notebook.name}: papermill exited with code {done.returncode}: {last}")
        return
    import papermill as pm

    try:
        pm.execute_notebook(str(notebook), str(output), parameters=params, cwd=str(cwd), kernel_name="python3",
                            progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                            kernel_manager_class=_kernel_manager())
    except pm.PapermillExecutionError as e:
        raise BookError(f"{notebook.name} failed in cell {e.exec_count}: {e.ename}: {e.evalue} "
                        f"(the executed notebook with the traceback: {output})") from None


def _kernel_manager():
    """The kernel manager papermill starts each notebook's kernel with: jupyter_client's, talking to the kernel over
    Unix sockets (transport "ipc") in the Jupyter runtime folder rather than TCP on localhost.

    Why: ipykernel 7.4 warns on every start over TCP without encryption ("Kernel is running over TCP without
    encryption ...") on the user's terminal, a warning the user cannot act on; over IPC the kernel is reached only
    through this user's files, which is what the warning asks for. Each kernel's sockets get a name of their own
    (jupyter_client's default, ``kernel-ipc-N`` in the working directory, is numbered by a check-then-bind race:
    two notebooks started side by side took the same sockets). A socket path must fit in 107 bytes: with a
    runtime folder too deep for that, the kernel keeps TCP (and its warning)."""
    import uuid

    from jupyter_client import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import default

    runtime = jupyter_runtime_dir()
    if len(os.path.join(runtime, f"kernel-{uuid.uuid4()}-ipc-5")) > 107:
        return AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self):
            return "ipc"

        @default("ip")
        def _ip_default(self):
            os.makedirs(runtime, mode=0o700, exist_ok=True)
            return os.path.join(runtime, f"kernel-{uuid.uuid4()}-ipc")  # sockets <this>-1 .. -5

    return IpcKernelManager


def _papermill_child() -> None:
    """The child process of ``papermill_executor(threads=...)``: argv is notebook, output, params (JSON), cwd;
    a ``BookError`` becomes its last stderr line, which the parent raises again."""
    try:
        papermill_executor(Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3]), Path(sys.argv[4]))
    except BookError as e:
        sys.exit(f"BookError: {e}")


class _Heartbeat:
    """Prints a line every ``every`` seconds while a step runs (long trainings show they are alive), with what
    ``progress()`` says (a training: its step, total and time left)."""

    def __init__(self, label: str, started: float, t0: float, every: float = 60.0, say=None,
                 progress: Callable[[], str] | None = None):
        self.label, self.started, self.t0, self.every = label, started, t0, every
        self.say = say or (lambda text: print(text, flush=True))
        self.progress = progress
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.every):
            now = time.perf_counter()
            where = f": {self.progress()}" if self.progress else ""
            self.say(f"        ... {self.label} running {fmt_time(now - self.started)}{where} "
                     f"(elapsed {fmt_time(now - self.t0)})")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def training_progress(run: str | Path, total: int | None, batch_size: int) -> str:
    """A running training's place from its run folder's ``log.csv``: "step 350/1,000, 2:10 left" (the time left
    at the rate of this call so far, the log's ``images_per_s``); "starting" before its first row."""
    from gdn.book.runs import read_log

    try:
        rows = read_log(run)
    except (OSError, ValueError):  # not written yet, or being replaced
        rows = []
    if not rows or "step" not in rows[-1]:
        return "starting"
    step = int(rows[-1]["step"])
    if not total:
        return f"step {step:,}"
    text = f"step {step:,}/{total:,}"
    rate = rows[-1].get("images_per_s", 0.0) / batch_size  # steps per second
    if rate > 0 and step < total:
        text += f", {fmt_time((total - step) / rate)} left"
    return text


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


def run_steps(steps: Sequence[Step], workdir: str | Path, profile: str, *, execute: Executor | None = None,
              force: bool = False, out=None, heartbeat: float = 60.0, jobs: int = 1,
              devices: Sequence[str] = (), train_env: Mapping[str, str] | None = None,
              progress: Mapping[str, Callable[[], str]] | None = None) -> dict[str, str]:
    """Run (or reuse) every step in order; returns step name -> ``"ran"`` or ``"reused"``.

    ``execute(notebook, output, params, cwd, threads=None)`` runs one notebook (default: papermill). A step runs
    when ``force``, when its key changed, or when its executed notebook or outputs are missing; before it runs
    its folder ``figures/<profile>/<step>/`` is emptied, and ``run.json`` is written only after it succeeded.

    With ``jobs`` > 1, up to that many ``parallel`` steps (the trainings) run at once, each given
    ``threads`` = usable cores // jobs (at least 1); every other step runs alone once everything before it has
    finished. After a failure no new step starts; the running ones finish and are recorded, then the first
    error is raised.

    ``devices`` (GPU indices, e.g. ``["0", "1", "2"]``) places the trainings one per GPU side by side: ``jobs``
    becomes their number, and each training's kernel sees only the GPU it took (``CUDA_VISIBLE_DEVICES``) until
    it finishes; the other steps run alone and see them all. ``train_env`` goes to every training's kernel
    (``gdn book --ddp N`` sets :data:`gdn.book.runs.DDP`). Neither changes a step's key: a run trained on
    GPU 1 is reused on GPU 0. ``progress``: step name -> what its heartbeat line adds (:func:`training_progress`).
    """
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    from gdn.book.report import device_description, git_commit
    from gdn.device import usable_cpus

    workdir = Path(workdir)
    out = out or sys.stdout
    execute = execute or papermill_executor
    notebooks = workdir / "notebooks"
    keys = step_keys(steps, notebooks, code_hash())
    status: dict[str, str] = {}
    t0 = time.perf_counter()
    commit, device = git_commit(), device_description()
    n = len(steps)
    devices = [str(d) for d in devices]
    if devices:
        jobs = len(devices)
    jobs = max(1, min(int(jobs), sum(s.parallel for s in steps)))
    threads = max(1, usable_cpus() // jobs) if jobs > 1 else None
    lock = threading.Lock()
    free: queue.SimpleQueue = queue.SimpleQueue()  # the GPUs no training holds
    for d in devices:
        free.put(d)

    def say(text: str) -> None:
        with lock:
            print(text, file=out, flush=True)

    def elapsed() -> str:
        return fmt_time(time.perf_counter() - t0)

    def run_one(i: int, step: Step, threads: int | None) -> str:
        label = f"[{i:>2}/{n}] {step.name}"
        stale_deps = [d for d in step.deps if status.get(d) == "ran"]
        if not force and not stale_deps and is_current(workdir, profile, step, keys[step.name]):
            say(f"{label}: reused (notebook, parameters and code unchanged)  [elapsed {elapsed()}]")
            return "reused"
        folder = step_dir(workdir, profile, step)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        executed = folder / f"{step.name}.ipynb"
        env = dict(train_env or {}) if step.parallel else {}
        gpu = free.get() if devices and step.parallel else None
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpu
        alongside = f" with {threads} thread{'s' * (threads > 1)}" if threads else ""
        alongside += f" on GPU {gpu}" if gpu is not None else ""
        say(f"{label}: running notebooks/{step.notebook}{alongside} ...  [elapsed {elapsed()}]")
        started = time.perf_counter()
        date = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        kwargs = {**({"threads": threads} if threads else {}), **({"env": env} if env else {})}
        try:
            with _Heartbeat(step.name, started, t0, heartbeat, say, (progress or {}).get(step.name)):
                execute(notebooks / step.notebook, executed, dict(step.params), workdir, **kwargs)
        finally:
            if gpu is not None:
                free.put(gpu)
        seconds = time.perf_counter() - started
        record = {"step": step.name, "notebook": f"notebooks/{step.notebook}", "params": step.params,
                  "deps": list(step.deps), "key": keys[step.name], "git_commit": commit, "device": device,
                  "threads": threads, "gpu": gpu, "date": date, "run_time_s": round(seconds, 2),
                  "executed_notebook": executed.name}
        (folder / "run.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
        say(f"{label}: done in {fmt_time(seconds)}  [elapsed {elapsed()}]")
        return "ran"

    running: dict = {}  # future -> step name
    errors: list[BaseException] = []

    def collect(until_idle: bool = False) -> None:
        while running:
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                try:
                    status[name] = future.result()
                except Exception as e:
                    errors.append(e)
            if not until_idle:
                return

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="gdn-book") as pool:
        for i, step in enumerate(steps, 1):
            side_by_side = jobs > 1 and step.parallel
            while running and not errors and (not side_by_side or len(running) >= jobs
                                              or any(d in running.values() for d in step.deps)):
                collect()
            if errors:
                break
            if side_by_side:
                running[pool.submit(run_one, i, step, threads)] = step.name
            else:
                status[step.name] = run_one(i, step, None)
        collect(until_idle=True)
    if errors:
        raise errors[0]
    return status


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
