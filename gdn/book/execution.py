"""Running the book's steps: each notebook executed with papermill (its kernel over IPC sockets), reused when
nothing it depends on changed, with a heartbeat line while it runs, the trainings side by side.

Reuse: a step's key hashes its notebook file, its parameters, every ``.py`` file of the package and the keys of
the steps it depends on. A step whose key matches the one recorded beside its executed notebook, and whose
outputs exist, is reused; so touching one notebook re-runs it and its dependants only, and a change to the
package re-runs everything.

Each run writes ``figures/<profile>/<step>/`` (relative to the work directory): the executed notebook
``<step>.ipynb`` and ``run.json`` (parameters, key, git commit, device, date, run time) beside what the notebook
wrote there. :mod:`gdn.book.runner` decides what to run and where; this module runs it.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import queue
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

from gdn.book.build import fmt_time
from gdn.book.plan import BookError, Step
from gdn.book.runs import FIGURES, code_hash, figures_dir

__all__ = ["step_keys", "step_dir", "is_current", "Executor", "papermill_executor", "training_progress", "run_steps"]


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
        code = "from gdn.book.execution import _papermill_child; _papermill_child()"
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
