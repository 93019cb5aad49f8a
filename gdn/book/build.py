"""Building the book: the work directory's sources, offline MathJax, the executed notebooks the pages paste
from (``book/_generated``) and ``jupyter-book build`` into ``_build/html``."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from gdn.book.plan import BookError, Step
from gdn.book.runs import FIGURES, figures_dir

__all__ = ["PACKAGE", "MATHJAX_VERSION", "fmt_time", "source_root", "prepare_workdir", "ensure_mathjax",
           "sync_generated", "build_book"]

PACKAGE = Path(__file__).resolve().parents[1]  # the installed gdn package
MATHJAX_VERSION = "3.2.2"
# Parts of MathJax's es5/ build the book needs: the combined TeX+MathML->CHTML component, the TeX extensions
# it autoloads, its fonts, and the menu / accessibility / speech modules it loads on demand (no CDN fallback).
MATHJAX_PARTS = ("tex-mml-chtml.js", "input/tex/extensions", "output/chtml/fonts/woff-v2", "ui", "a11y", "sre",
                 "adaptors")


# ------------------------------------------------------------------------------------------- the book

def fmt_time(seconds: float) -> str:
    """``m:ss`` of a duration in seconds (the progress lines of gdn book)."""
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


def source_root() -> Path:
    """The repository holding the book (``_toc.yml``, ``notebooks/``): the working directory if it holds
    them, else the checkout this package was imported from."""
    for candidate in (Path.cwd(), PACKAGE.parent):
        if (candidate / "_toc.yml").is_file() and (candidate / "notebooks").is_dir():
            return candidate
    raise BookError("no _toc.yml and notebooks/ here or beside the gdn package: run gdn book from the repository root")


def prepare_workdir(source: Path, workdir: Path) -> None:
    """Copy what the book is made of (``_config.yml``, ``_toc.yml``, ``book/``, ``notebooks/`` and the package,
    whose sources ``literalinclude`` shows and which the notebooks import there, bundled weights included) into
    ``workdir``; runs and figures there are kept, an older copy of the package is replaced."""
    if workdir.resolve() == source.resolve():
        return
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(source / name, workdir / name)
    ignore = shutil.ignore_patterns("_generated", "__pycache__", ".ipynb_checkpoints")
    for name in ("book", "notebooks"):
        shutil.copytree(source / name, workdir / name, dirs_exist_ok=True, ignore=ignore)
    shutil.rmtree(workdir / "gdn", ignore_errors=True)  # no module the package has since dropped may linger
    shutil.copytree(PACKAGE, workdir / "gdn", ignore=ignore)


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
        src = figures_dir(profile, step.name, workdir / FIGURES) / f"{step.name}.ipynb"
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
    print(f"book built in {fmt_time(time.perf_counter() - started)}: {workdir / '_build' / 'html' / 'index.html'}",
          file=out, flush=True)
