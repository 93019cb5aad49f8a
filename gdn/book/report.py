"""The one way the book's notebooks write results: figures, tables and numbers, each saved with provenance and
glued for the book.

    rep = Report("table1", dict(profile=profile, per_bin=per_bin))
    rep.figure(fig, "examples", "Det on the largest holes")      # figures/<profile>/table1/examples.png
    rep.table(rows, "psnr", "PSNR by mask-ratio bin")              # .csv + .html
    rep.number("psnr_all", 24.3, "PSNR over every bin, dB")        # numbers.json
    rep.text("setup", "cpu profile, built-in photos")                # pasted with {glue:text}`...::setup:s`

Every item lands in ``figures/<profile>/<notebook>/`` (relative to the working directory, which ``gdn book``
sets to the book's root) with a JSON sidecar holding the notebook's parameters, the git commit, the device,
the date and the run time so far, and is ``glue``d under its key so that a Markdown page can paste it with
``{glue:}`` and ``:doc: /book/_generated/<notebook>.ipynb``. Tables are glued as ``IPython.display.HTML``
(a glued Markdown object renders as ``<IPython.core.display.Markdown object>`` on other pages, silently);
figures as PNG images. Outside a kernel (plain Python, tests) gluing is skipped and the files are still written.
"""
from __future__ import annotations

import csv
import datetime as _dt
import html
import io
import json
import math
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from gdn.book.runs import figures_dir

__all__ = ["Report", "git_commit", "device_description", "html_table", "format_value"]

_REPO = Path(__file__).resolve().parents[2]


def git_commit(path: str | os.PathLike | None = None) -> str:
    """``git rev-parse HEAD`` of the gdn checkout (or of ``path``), with ``-dirty`` when there are
    uncommitted changes to tracked files; ``"unknown"`` outside git."""
    where = str(path or _REPO)
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_description() -> str:
    """What ran the notebook: the GPU's name, or the CPU with its core and torch thread counts."""
    try:
        import torch

        if torch.cuda.is_available():
            return f"cuda: {torch.cuda.get_device_name(0)} (x{torch.cuda.device_count()})"
        threads = torch.get_num_threads()
    except ImportError:  # pragma: no cover - torch is a dependency
        threads = None
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu: {cpu}, {os.cpu_count()} cores" + (f", {threads} torch threads" if threads else "")


def format_value(value: Any, fmt: str | None = None) -> str:
    """A table cell as text: floats with ``fmt`` (default 4 significant digits), NaN as ``n/a``, None as ``-``,
    anything else (ints, strings) with ``str``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if math.isinf(value):
            return "inf"
        return fmt.format(value) if fmt else f"{value:.4g}"
    return str(value)


TEXT_CELL = 40  # characters: a longer cell is prose (a reason, a description) and wraps in the page


def html_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, *,
               key: str = "", caption: str = "", formats: Mapping[str, str] | None = None,
               bold: Iterable[tuple[int, str]] = ()) -> str:
    """Rows of dicts -> a self-contained HTML ``<table class="gdn-table" data-key=KEY>``.

    ``formats``: column -> format string (``"{:.2f}"``); ``bold``: (row index, column) cells to emphasise.
    A row may carry ``"_fmt"``, the format of its numbers where ``formats`` names none. A row with a cell
    starting ``"Paper"`` gets the class ``paper`` (the paper's published numbers).
    """
    columns = list(columns or dict.fromkeys(k for r in rows for k in r if not k.startswith("_")))
    formats = dict(formats or {})
    bold = set(bold)
    out = [f'<table class="gdn-table" data-key="{html.escape(key)}">']
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in columns) + "</tr></thead>")
    out.append("<tbody>")
    for i, row in enumerate(rows):
        paper = any(isinstance(v, str) and v.startswith("Paper") for v in row.values())
        cls = ' class="paper"' if paper else ""
        cells = []
        for c in columns:
            text = html.escape(format_value(row.get(c), formats.get(c, row.get("_fmt"))))
            td = '<td class="text">' if len(text) > TEXT_CELL else "<td>"  # a sentence wraps; numbers never do
            cells.append(f"{td}<b>{text}</b></td>" if (i, c) in bold else f"{td}{text}</td>")
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item"):  # numpy / torch scalars
        try:
            return _jsonable(value.item())
        except (ValueError, RuntimeError):
            pass
    return str(value)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class Report:
    """Results of one notebook: ``figures/<profile>/<name>/<key>.png|.csv|.html`` + ``<key>.json`` sidecars.

    ``params``: the notebook's parameters (saved in every sidecar); ``profile`` defaults to
    ``params["profile"]``. ``root`` defaults to ``$GDN_FIGURES`` or ``figures`` in the working directory.
    """

    def __init__(self, name: str, params: Mapping[str, Any] | None = None, *, profile: str | None = None,
                 root: str | os.PathLike | None = None, glue: bool | None = None):
        self.name = name
        self.params = dict(params or {})
        self.profile = profile or str(self.params.get("profile", "default"))
        self.dir = figures_dir(self.profile, name, root)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.started = time.perf_counter()
        self.date = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        self.commit = git_commit()
        self.device = device_description()
        self.glue_enabled = _in_kernel() if glue is None else glue
        self.items: dict[str, dict[str, Any]] = {}
        self.numbers: dict[str, Any] = {}

    # -- provenance -------------------------------------------------------------------------------------
    def provenance(self) -> dict[str, Any]:
        return {"notebook": self.name, "profile": self.profile, "params": _jsonable(self.params),
                "git_commit": self.commit, "device": self.device, "date": self.date,
                "run_time_s": round(time.perf_counter() - self.started, 2)}

    def _sidecar(self, key: str, kind: str, caption: str, files: list[str], **extra) -> None:
        meta = {"key": key, "kind": kind, "caption": caption, "files": files, **self.provenance(),
                **_jsonable(extra)}
        (self.dir / f"{key}.json").write_text(json.dumps(meta, indent=2) + "\n")
        self.items[key] = meta

    def _glue(self, key: str, obj: Any, display: bool = True) -> None:
        if self.glue_enabled:
            from myst_nb import glue

            glue(key, obj, display=display)

    @staticmethod
    def _check_key(key: str) -> None:
        if not key or not all(c.isalnum() or c in "_-" for c in key):
            raise ValueError(f"report key {key!r} must be letters, digits, '_' or '-'")

    # -- items ------------------------------------------------------------------------------------------
    def figure(self, fig, key: str, caption: str = "", *, dpi: int = 110) -> None:
        """Save a matplotlib figure as ``<key>.png`` and glue it (as a PNG image); closes the figure."""
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        self._png(buf.getvalue(), key, caption)

    def image(self, array, key: str, caption: str = "") -> None:
        """Save an (H,W,3) uint8 array as ``<key>.png`` and glue it."""
        import numpy as np
        from PIL import Image as PILImage

        buf = io.BytesIO()
        PILImage.fromarray(np.asarray(array, dtype=np.uint8)).save(buf, format="PNG")
        self._png(buf.getvalue(), key, caption)

    def _png(self, png: bytes, key: str, caption: str) -> None:
        self._check_key(key)
        path = self.dir / f"{key}.png"
        path.write_bytes(png)
        self._sidecar(key, "figure", caption, [path.name])
        if self.glue_enabled:
            from IPython.display import Image

            self._glue(key, Image(data=png, format="png"))

    def table(self, rows: Sequence[Mapping[str, Any]], key: str, caption: str = "", *,
              columns: Sequence[str] | None = None, formats: Mapping[str, str] | None = None,
              bold: Iterable[tuple[int, str]] = (), note: str = "") -> None:
        """Save rows of dicts as ``<key>.csv`` (raw values) and ``<key>.html``, and glue the HTML table.
        ``note`` is shown under the table (its HTML caption)."""
        self._check_key(key)
        rows = [dict(r) for r in rows]
        columns = list(columns or dict.fromkeys(k for r in rows for k in r if not k.startswith("_")))
        with open(self.dir / f"{key}.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for r in rows:
                writer.writerow({c: ("" if r.get(c) is None else r.get(c)) for c in columns})
        text = html_table(rows, columns, key=key, caption=note, formats=formats, bold=bold)
        (self.dir / f"{key}.html").write_text(text + "\n")
        self._sidecar(key, "table", caption, [f"{key}.csv", f"{key}.html"], columns=columns, note=note)
        if self.glue_enabled:
            from IPython.display import HTML

            self._glue(key, HTML(text))

    def number(self, key: str, value: Any, caption: str = "") -> None:
        """Record a number (glued as is, so pages can format it with ``{glue:text}`` and a format spec)."""
        if hasattr(value, "item"):
            value = value.item()
        self._record(key, value, caption)
        self._glue(key, value)

    def text(self, key: str, text: str, caption: str = "") -> None:
        """A short text; pages paste it with ``{glue:text}`PATH::KEY:s``` (``:s`` strips the quotes)."""
        self._record(key, str(text), caption)
        self._glue(key, str(text))

    def line(self, key: str, text: str, caption: str = "") -> None:
        """A short text that stands as its own paragraph where a page has a ``{glue:}`` block for ``key`` (say
        a table that could not be made); recorded like :meth:`text`."""
        self._record(key, str(text), caption)
        if self.glue_enabled:
            from html import escape

            from IPython.display import HTML
            self._glue(key, HTML(f'<p class="gdn-line">{escape(str(text))}</p>'))

    def facts(self, key: str, facts: Sequence[tuple[str, str]], caption: str = "") -> None:
        """A short list of (label, fact) pairs, the build's commit and date added last; recorded as one text
        and glued as an HTML list (pages paste it with the ``{glue:}`` directive and ``:doc:``)."""
        items = [*facts, ("Built", f"commit {self.commit}, {self.date}, notebook {self.name}")]
        self._record(key, " ".join(f"{label}: {fact}." for label, fact in items), caption)
        if self.glue_enabled:
            from IPython.display import HTML

            rows = "".join(f"<li><span class=\"gdn-fact\">{html.escape(label)}</span>: {html.escape(fact)}</li>"
                           for label, fact in items)
            self._glue(key, HTML(f'<ul class="gdn-facts" data-key="{key}">{rows}</ul>'))

    def findings(self, key: str, items: Sequence[tuple[str, str, str]], caption: str = "") -> None:
        """A page's findings, each ``(sentence, link text, href)``; recorded as one text and glued as an HTML list
        for the chapter pages (``book/``) to paste, its hrefs relative to them. Not shown in the notebook's own
        page, one folder down, where the links would not resolve."""
        items = [i for i in items if i[0]]
        self._record(key, " ".join(text for text, _, _ in items), caption)
        if self.glue_enabled:
            from IPython.display import HTML

            li = "".join(f'<li>{html.escape(text)} <a href="{html.escape(href)}">({html.escape(where)})</a></li>'
                         for text, where, href in items)
            self._glue(key, HTML(f'<ul class="gdn-findings" data-key="{key}">{li}</ul>'), display=False)

    def _record(self, key: str, value: Any, caption: str) -> None:
        self._check_key(key)
        self.numbers[key] = {"value": _jsonable(value), "caption": caption}
        (self.dir / "numbers.json").write_text(
            json.dumps({"numbers": self.numbers, **self.provenance()}, indent=2) + "\n")

    def show_provenance(self) -> None:
        """Display (in the executed notebook) the parameters, commit, device and date of this run."""
        rows = [{"": k, "value": json.dumps(v) if isinstance(v, (dict, list)) else v}
                for k, v in [("notebook", self.name), *({"profile": self.profile} | self.params).items(),
                             ("git commit", self.commit), ("device", self.device), ("date", self.date)]]
        if self.glue_enabled:
            from IPython.display import HTML, display

            display(HTML(html_table(rows, ["", "value"], key="provenance")))

    def finish(self) -> dict[str, Any]:
        """Write ``report.json`` (every item and the total run time) and return it."""
        summary = {**self.provenance(), "items": sorted(self.items), "numbers": self.numbers}
        (self.dir / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary
