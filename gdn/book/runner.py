"""``gdn book``: run the book's notebooks with papermill, in dependency order, then build the HTML book.

    gdn book --profile cpu                       # what `make book` runs: 7 trainings, every experiment, the book
    gdn book --profile smoke --workdir /tmp/bk   # a throw-away copy (the tests do this)
    gdn book --profile cpu --param table1.per_bin=32     # a notebook parameter ([STEP.]NAME=VALUE)
    gdn book --profile paper device=cuda precision=bf16 train_data=/data/places2/train  # training config keys

The plan (:func:`plan`) lists every step: a notebook of ``notebooks/``, its parameters and the steps it reads
(trainings first, then the experiment notebooks that read their checkpoints). Before anything runs, every
parameter name is checked against the notebook's ``parameters`` cell (papermill's ``inspect_notebook``): a
misspelt name is an error naming it and listing the allowed ones.

Reuse: a step's key hashes its notebook file, its parameters, every ``gdn/*.py`` file and the keys of the
steps it depends on. A step whose key matches the one recorded beside its executed notebook, and whose
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

import argparse
import ast
import datetime as _dt
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

__all__ = ["Step", "plan", "TRAININGS", "EVAL_SIZES", "check_parameters", "step_keys", "run_steps",
           "prepare_workdir", "ensure_mathjax", "sync_generated", "build_book", "main_book", "BookError",
           "MATHJAX_VERSION"]

PACKAGE = Path(__file__).resolve().parents[1]  # the installed gdn package
MATHJAX_VERSION = "3.2.2"
# Parts of MathJax's es5/ build the book needs: the combined TeX+MathML->CHTML component, the TeX extensions
# it autoloads, its fonts, and the menu / accessibility / speech modules it loads on demand (no CDN fallback).
MATHJAX_PARTS = ("tex-mml-chtml.js", "input/tex/extensions", "output/chtml/fonts/woff-v2", "ui", "a11y", "sre",
                 "adaptors")


class BookError(RuntimeError):
    """A problem with the book's plan, a notebook or the build, with a one-line explanation."""


# ---------------------------------------------------------------------------------------------------- plan

# The cpu profile's seven training runs (issue 4); shared where the paper's experiments overlap: Table 2's
# focal row, Fig. 3's exp(10) and Fig. 6's Det are all the `det` run.
TRAININGS: dict[str, dict[str, Any]] = {
    "det": dict(framework="det", detector_loss="focal", weight_mapping="exp", exp_base=10.0),
    "det_ce": dict(framework="det", detector_loss="ce", weight_mapping="exp", exp_base=10.0),
    "det_bce": dict(framework="det", detector_loss="bce", weight_mapping="exp", exp_base=10.0),
    "weight": dict(framework="weight"),
    "adv": dict(framework="adv"),
    "det_linear": dict(framework="det", detector_loss="focal", weight_mapping="linear"),
    "det_exp_e": dict(framework="det", detector_loss="focal", weight_mapping="exp", exp_base=math.e),
}
TRAINING_TITLES = {
    "det": "Det: focal loss, exp(10) weights (the paper's method)",
    "det_ce": "Det with the cross-entropy detector loss (Eq. 4)",
    "det_bce": "Det with the balanced cross-entropy loss (Eq. 5)",
    "weight": "Weight: hole-weighted L1 (6 / 1)",
    "adv": "Adv: L1 + scalar adversarial loss",
    "det_linear": "Det with the linear weight mapping 1 + V",
    "det_exp_e": "Det with the exponential mapping e^V",
}

# Evaluation sizes of the experiment notebooks per profile: masks per ratio bin, test images, examples shown,
# and what the timing notebook measures (the paper's networks at 256 px, except in the smoke book).
EVAL_SIZES: dict[str, dict[str, Any]] = {
    "smoke": dict(per_bin=1, n_images=4, app_size=64, bench=dict(quick=True, repeats=1)),
    "cpu": dict(per_bin=16, n_images=48, app_size=128, bench=dict(quick=False, repeats=3)),
    "paper": dict(per_bin=100, n_images=0, app_size=256, bench=dict(quick=False, repeats=20)),
}

# Experiment notebooks: (step = notebook stem, title, training runs it reads, extra parameters).
EXPERIMENTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("table1", "Table 1: Det, Weight, Adv and classical inpainting by mask ratio", ("det", "weight", "adv")),
    ("table2", "Table 2: detector-loss ablation", ("det_ce", "det_bce", "det")),
    ("frameworks", "Fig. 6: Weight vs Adv vs Det", ("weight", "adv", "det")),
    ("weight_mapping", "Fig. 3: weight mapping and edge ratios", ("det_linear", "det_exp_e", "det")),
    ("detector", "Fig. 7: the detector's maps", ("det", "weight", "adv")),
    ("examples", "Figs. 1, 4, 5: examples", ("det", "weight", "adv")),
    ("applications", "Fig. 8: applications", ("det",)),
    ("metrics", "Metric definitions on the same outputs", ("det",)),
    ("timing", "Inference time", ()),
]


@dataclass
class Step:
    """One notebook execution: ``notebooks/<notebook>`` with ``params``, after the steps named in ``deps``.

    ``outputs`` are paths (relative to the work directory) that must exist for the step to be reused, on top
    of its executed notebook."""
    name: str
    notebook: str
    params: dict[str, Any]
    deps: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    title: str = ""


def plan(profile: str, overrides: Mapping[str, Any] | None = None) -> list[Step]:
    """The book's steps for ``profile`` in execution order: the seven trainings, then the experiments.
    ``overrides`` are training config keys for every training run (e.g. ``device``, ``train_data``)."""
    from gdn.config import PROFILES

    if profile not in PROFILES:
        raise BookError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    sizes = EVAL_SIZES.get(profile, EVAL_SIZES["cpu"])
    overrides = dict(overrides or {})
    device = str(overrides.get("device", "cpu"))
    steps: list[Step] = []
    for run, spec in TRAININGS.items():
        params = {"profile": profile, "run": run, **spec}
        if overrides:
            params["overrides"] = dict(overrides)
        steps.append(Step(f"train_{run}", "train.ipynb", params,
                          outputs=(f"runs/{profile}/{run}/last.pt", f"runs/{profile}/{run}/summary.json"),
                          title=f"Training run {run}: {TRAINING_TITLES[run]}"))
    for name, title, needs in EXPERIMENTS:
        if name == "timing":
            params = {"profile": profile, **sizes["bench"], "device": device}
        elif name == "applications":
            params = {"profile": profile, "app_size": sizes["app_size"], "device": device}
        else:
            params = {"profile": profile, "per_bin": sizes["per_bin"], "n_images": sizes["n_images"],
                      "device": device}
        steps.append(Step(name, f"{name}.ipynb", params, deps=tuple(f"train_{r}" for r in needs), title=title))
    return steps


def apply_params(steps: list[Step], assignments: Sequence[str], notebooks: str | Path = "notebooks") -> None:
    """``[STEP.]NAME=VALUE`` assignments (VALUE a Python literal, else a string) onto the steps' parameters.
    ``NAME=VALUE`` without a step applies to every step whose notebook has that parameter."""
    by_name = {s.name: s for s in steps}
    for item in assignments:
        target, sep, text = item.partition("=")
        if not sep or not target:
            raise BookError(f"--param expects [STEP.]NAME=VALUE, got {item!r}")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        step_name, dot, name = target.rpartition(".")
        if dot:
            if step_name not in by_name:
                raise BookError(f"--param {item!r}: no step {step_name!r}; steps: {', '.join(by_name)}")
            by_name[step_name].params[name] = value
        else:
            hits = [s for s in steps if name in notebook_parameters(Path(notebooks) / s.notebook)]
            if not hits:
                allowed = sorted({p for s in steps for p in notebook_parameters(Path(notebooks) / s.notebook)})
                raise BookError(f"--param {item!r}: no notebook has a parameter {name!r}; "
                                f"allowed parameters: {', '.join(allowed)}")
            for s in hits:
                s.params[name] = value


# ------------------------------------------------------------------------------------- parameter checking

_INSPECT_CACHE: dict[tuple[str, float], dict[str, Any]] = {}


def notebook_parameters(path: str | Path) -> dict[str, Any]:
    """The parameters cell of a notebook: name -> papermill's inferred info (default, type, help)."""
    from papermill import inspect_notebook

    path = Path(path)
    if not path.is_file():
        raise BookError(f"{path}: notebook not found")
    key = (str(path.resolve()), path.stat().st_mtime)
    if key not in _INSPECT_CACHE:
        params = inspect_notebook(str(path))
        if not params:
            raise BookError(f"{path}: no cell tagged 'parameters' (papermill needs one to inject parameters)")
        _INSPECT_CACHE[key] = params
    return _INSPECT_CACHE[key]


def check_parameters(steps: Sequence[Step], notebooks: str | Path = "notebooks") -> None:
    """Every parameter of every step must be a name of its notebook's parameters cell; raises ``BookError``
    naming the step, the notebook, the misspelt names and the allowed ones. Also checks the dependencies."""
    notebooks = Path(notebooks)
    seen: set[str] = set()
    for step in steps:
        missing = [d for d in step.deps if d not in seen]
        if missing:
            raise BookError(f"step {step.name!r} depends on {missing}, which do not run before it")
        seen.add(step.name)
        allowed = notebook_parameters(notebooks / step.notebook)
        unknown = [k for k in step.params if k not in allowed]
        if unknown:
            names = ", ".join(repr(k) for k in unknown)
            raise BookError(f"{notebooks / step.notebook}: unknown parameter{'s' if len(unknown) > 1 else ''} "
                            f"{names} (step {step.name}); allowed parameters: {', '.join(allowed)}")


# ------------------------------------------------------------------------------------------------- reuse

def code_hash(package_dir: str | Path | None = None) -> str:
    """sha256 over every ``.py`` file of the package (subpackages included) and the bundled checkpoints
    ``gdn/weights/*`` (paths and contents): a new warm start re-runs the trainings that start from it."""
    folder = Path(package_dir or PACKAGE)
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*.py")) + sorted(folder.glob("weights/*")):
        h.update(f.relative_to(folder).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


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
    return workdir / "figures" / profile / step.name


def is_current(workdir: Path, profile: str, step: Step, key: str) -> bool:
    folder = step_dir(workdir, profile, step)
    try:
        record = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError):
        return False
    return (record.get("key") == key and (folder / f"{step.name}.ipynb").is_file()
            and all((workdir / p).exists() for p in step.outputs))


Executor = Callable[[Path, Path, dict, Path], None]


def papermill_executor(notebook: Path, output: Path, params: dict, cwd: Path) -> None:
    """Execute ``notebook`` into ``output`` with papermill (kernel python3, working directory ``cwd``)."""
    import papermill as pm

    try:
        pm.execute_notebook(str(notebook), str(output), parameters=params, cwd=str(cwd), kernel_name="python3",
                            progress_bar=False, log_output=False, request_save_on_cell_execute=False)
    except pm.PapermillExecutionError as e:
        raise BookError(f"{notebook.name} failed in cell {e.exec_count}: {e.ename}: {e.evalue} "
                        f"(the executed notebook with the traceback: {output})") from None


def _fmt_time(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


class _Heartbeat:
    """Prints a line every ``every`` seconds while a step runs (long trainings show they are alive)."""

    def __init__(self, label: str, started: float, t0: float, every: float = 60.0, out=None):
        self.label, self.started, self.t0, self.every = label, started, t0, every
        self.out = out or sys.stdout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.every):
            now = time.perf_counter()
            print(f"        ... {self.label} running {_fmt_time(now - self.started)} "
                  f"(elapsed {_fmt_time(now - self.t0)})", file=self.out, flush=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_steps(steps: Sequence[Step], workdir: str | Path, profile: str, *, execute: Executor | None = None,
              force: bool = False, out=None, heartbeat: float = 60.0) -> dict[str, str]:
    """Run (or reuse) every step in order; returns step name -> ``"ran"`` or ``"reused"``.

    ``execute(notebook, output, params, cwd)`` runs one notebook (default: papermill). A step runs when
    ``force``, when its key changed, or when its executed notebook or outputs are missing; before it runs its
    folder ``figures/<profile>/<step>/`` is emptied, and ``run.json`` is written only after it succeeded.
    """
    from gdn.book.report import device_description, git_commit

    workdir = Path(workdir)
    out = out or sys.stdout
    execute = execute or papermill_executor
    notebooks = workdir / "notebooks"
    keys = step_keys(steps, notebooks, code_hash())
    status: dict[str, str] = {}
    t0 = time.perf_counter()
    commit, device = git_commit(), device_description()
    n = len(steps)
    for i, step in enumerate(steps, 1):
        label = f"[{i:>2}/{n}] {step.name}"
        stale_deps = [d for d in step.deps if status.get(d) == "ran"]
        if not force and not stale_deps and is_current(workdir, profile, step, keys[step.name]):
            status[step.name] = "reused"
            print(f"{label}: reused (notebook, parameters and code unchanged)  "
                  f"[elapsed {_fmt_time(time.perf_counter() - t0)}]", file=out, flush=True)
            continue
        folder = step_dir(workdir, profile, step)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        executed = folder / f"{step.name}.ipynb"
        print(f"{label}: running notebooks/{step.notebook} ...  [elapsed {_fmt_time(time.perf_counter() - t0)}]",
              file=out, flush=True)
        started = time.perf_counter()
        date = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        with _Heartbeat(step.name, started, t0, heartbeat, out):
            execute(notebooks / step.notebook, executed, dict(step.params), workdir)
        seconds = time.perf_counter() - started
        record = {"step": step.name, "notebook": f"notebooks/{step.notebook}", "params": step.params,
                  "deps": list(step.deps), "key": keys[step.name], "git_commit": commit, "device": device,
                  "date": date, "run_time_s": round(seconds, 2), "executed_notebook": executed.name}
        (folder / "run.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
        status[step.name] = "ran"
        print(f"{label}: done in {_fmt_time(seconds)}  [elapsed {_fmt_time(time.perf_counter() - t0)}]",
              file=out, flush=True)
    return status


# ------------------------------------------------------------------------------------------- the book

def source_root() -> Path:
    """The repository holding the book (``_toc.yml``, ``notebooks/``): the working directory if it holds
    them, else the checkout this package was imported from."""
    for candidate in (Path.cwd(), PACKAGE.parent):
        if (candidate / "_toc.yml").is_file() and (candidate / "notebooks").is_dir():
            return candidate
    raise BookError("no _toc.yml and notebooks/ here or beside the gdn package: run gdn book from the repository root")


def prepare_workdir(source: Path, workdir: Path) -> None:
    """Copy what the book is made of (``_config.yml``, ``_toc.yml``, ``book/``, ``notebooks/`` and the
    package's sources shown by ``literalinclude``) into ``workdir``; runs and figures there are kept."""
    if workdir.resolve() == source.resolve():
        return
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(source / name, workdir / name)
    ignore = shutil.ignore_patterns("_generated", "__pycache__", ".ipynb_checkpoints")
    for name in ("book", "notebooks"):
        shutil.copytree(source / name, workdir / name, dirs_exist_ok=True, ignore=ignore)
    for f in PACKAGE.rglob("*.py"):
        dest = workdir / "gdn" / f.relative_to(PACKAGE)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)


def _cache_dir() -> Path:
    base = os.environ.get("GDN_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                       os.path.expanduser("~/.cache"), "gdn")
    return Path(base)


def ensure_mathjax(workdir: Path, out=None) -> Path:
    """``book/_vendor/mathjax/`` with MathJax's ``tex-mml-chtml.js`` and what it loads, so math renders
    offline. Taken from ``npm install mathjax@3.2.2`` in a cache folder ($GDN_CACHE, default ~/.cache/gdn),
    once; a copy in the source checkout is reused."""
    out = out or sys.stdout
    target = workdir / "book" / "_vendor" / "mathjax"
    if (target / "tex-mml-chtml.js").is_file():
        return target
    cache = _cache_dir() / "npm"
    es5 = cache / "node_modules" / "mathjax" / "es5"
    if not (es5 / "tex-mml-chtml.js").is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise BookError("MathJax is not in book/_vendor/mathjax and npm is not installed to fetch it "
                            f"(npm install mathjax@{MATHJAX_VERSION}); install Node.js/npm and run again")
        cache.mkdir(parents=True, exist_ok=True)
        print(f"fetching MathJax {MATHJAX_VERSION} with npm into {cache} (once)", file=out, flush=True)
        proc = subprocess.run([npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund",
                               f"mathjax@{MATHJAX_VERSION}"], capture_output=True, text=True)
        if proc.returncode != 0 or not (es5 / "tex-mml-chtml.js").is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise BookError(f"npm install mathjax@{MATHJAX_VERSION} failed: {tail[0]}")
    tmp = target.with_name("mathjax.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for part in MATHJAX_PARTS:
        src = es5 / part
        if src.is_dir():
            shutil.copytree(src, tmp / part)
        elif src.is_file():
            (tmp / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tmp / part)
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target


def _retitle(nb_path: Path, title: str) -> None:
    """Give a copied notebook its step's title (the first Markdown heading), e.g. for the seven trainings."""
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            lines = cell.source.lstrip().split("\n")
            lines[0] = f"# {title}"
            cell.source = "\n".join(lines)
            break
    nbformat.write(nb, str(nb_path))


def sync_generated(steps: Sequence[Step], workdir: Path, profile: str) -> Path:
    """Copy the executed notebooks of this profile into ``book/_generated/``, the pages' glue source."""
    gen = workdir / "book" / "_generated"
    if gen.exists():
        shutil.rmtree(gen)
    gen.mkdir(parents=True)
    for step in steps:
        src = step_dir(workdir, profile, step) / f"{step.name}.ipynb"
        shutil.copy2(src, gen / src.name)
        if step.title:
            _retitle(gen / src.name, step.title)
    (gen / "profile.json").write_text(json.dumps({"profile": profile, "steps": [s.name for s in steps]}) + "\n")
    return gen


def build_book(workdir: Path, out=None) -> None:
    """``jupyter-book build WORKDIR --all -W -n --keep-going``; any warning fails it. ``--all`` re-writes
    every page: a chapter pastes numbers from notebooks that may have changed while its own source did not."""
    out = out or sys.stdout
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(workdir), "--all", "-W", "-n", "--keep-going"]
    print("building the book: " + " ".join(cmd[1:]), file=out, flush=True)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = workdir / "_build" / "build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout)
    warnings = [line for line in proc.stdout.splitlines() if "WARNING" in line or "ERROR" in line]
    for line in warnings[:40]:
        print("  " + line, file=out)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
        print(tail, file=out)
        raise BookError(f"jupyter-book build failed (exit {proc.returncode}, {len(warnings)} warnings); "
                        f"full log: {log}")
    print(f"book built in {_fmt_time(time.perf_counter() - started)}: {workdir / '_build' / 'html' / 'index.html'}",
          file=out, flush=True)


def run_book(profile: str, *, workdir: str | Path | None = None, params: Sequence[str] = (),
             overrides: Mapping[str, str] | None = None, force: bool = False, build: bool = True,
             execute: Executor | None = None, out=None) -> dict[str, str]:
    """Everything ``gdn book`` does; returns step name -> "ran" / "reused"."""
    from gdn.config import resolve

    out = out or sys.stdout
    source = source_root()
    workdir = Path(workdir).resolve() if workdir else source
    overrides = dict(overrides or {})
    resolve(profile, overrides)  # fail early on unknown config keys or values
    prepare_workdir(source, workdir)
    steps = plan(profile, overrides)
    apply_params(steps, params, workdir / "notebooks")
    check_parameters(steps, workdir / "notebooks")
    if build:
        ensure_mathjax(workdir, out)
    t0 = time.perf_counter()
    print(f"gdn book: profile {profile}, {len(steps)} notebooks, work directory {workdir}", file=out, flush=True)
    status = run_steps(steps, workdir, profile, execute=execute, force=force, out=out)
    ran = sum(v == "ran" for v in status.values())
    print(f"notebooks: {ran} ran, {len(status) - ran} reused, {_fmt_time(time.perf_counter() - t0)}",
          file=out, flush=True)
    sync_generated(steps, workdir, profile)
    if build:
        build_book(workdir, out)
    print(f"total {_fmt_time(time.perf_counter() - t0)}", file=out, flush=True)
    return status


def main_book(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="gdn book", description="Run the book's notebooks (papermill, reusing "
                                "unchanged runs) and build it with jupyter-book into WORKDIR/_build/html.")
    p.add_argument("--profile", default="cpu", help="smoke | cpu | paper (default: cpu)")
    p.add_argument("--workdir", help="build in this folder (copies _config.yml, _toc.yml, book/, notebooks/ "
                                     "there; runs/ and figures/ land there); default: the repository root")
    p.add_argument("--param", "-p", action="append", default=[], metavar="[STEP.]NAME=VALUE",
                   help="set a notebook parameter (checked against its parameters cell), e.g. table1.per_bin=32")
    p.add_argument("--force", action="store_true", help="re-run every notebook")
    p.add_argument("--no-build", action="store_true", help="run the notebooks but do not build the HTML")
    p.add_argument("--list", action="store_true", help="print the plan (steps, parameters) and exit")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="training config keys for every training run, e.g. device=cuda train_data=/data")
    args = p.parse_args(list(argv) if argv is not None else None)
    from gdn.config import parse_overrides

    overrides = parse_overrides(args.overrides)
    if args.list:
        notebooks = source_root() / "notebooks"
        steps = plan(args.profile, overrides)
        apply_params(steps, args.param, notebooks)
        check_parameters(steps, notebooks)
        for s in steps:
            deps = f"  after {', '.join(s.deps)}" if s.deps else ""
            print(f"{s.name:16s} notebooks/{s.notebook:22s} {json.dumps(s.params, default=str)}{deps}")
        return 0
    run_book(args.profile, workdir=args.workdir, params=args.param, overrides=overrides, force=args.force,
             build=not args.no_build)
    return 0
