"""The book runner (`gdn book`): parameter checks, reuse of unchanged runs, and the smoke book end to end."""
import csv
import json
import os
import re
import time
from pathlib import Path

import nbformat
import pytest

from gdn.book import execution
from gdn.book import plan as book_plan
from gdn.book import runner as book
from gdn.cli import book as book_cli
from gdn.book.report import Report, html_table

ROOT = Path(__file__).resolve().parent.parent


def _notebook(path: Path, params: str, body: str = "y = 1") -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Test"), cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


# --------------------------------------------------------------------------------------- parameter check

def test_a_misspelt_parameter_is_an_error_naming_it_and_the_allowed_ones(tmp_path):
    _notebook(tmp_path / "a.ipynb", "alpha = 1\nbeta = 'x'\n")
    good = [book_plan.Step("a", "a.ipynb", {"alpha": 2, "beta": "y"})]
    book_plan.check_parameters(good, tmp_path)
    bad = [book_plan.Step("a", "a.ipynb", {"alpha": 2, "betta": "y"})]
    with pytest.raises(book_plan.BookError) as err:
        book_plan.check_parameters(bad, tmp_path)
    message = str(err.value)
    assert "'betta'" in message and "allowed parameters: alpha, beta" in message and "a.ipynb" in message


def test_every_step_of_every_profile_matches_its_notebook():
    for profile in ("smoke", "cpu", "study", "paper"):
        steps = book_plan.plan(profile, {"device": "cpu"})
        book_plan.check_parameters(steps, ROOT / "notebooks")
        names = [s.name for s in steps]
        seeds = sum(book_plan.run_seeds(profile).values())
        assert names.index("train_det") < names.index("table1") and len(names) == seeds + 11  # + 11 notebooks


def test_the_study_trains_every_run_with_several_seeds_and_every_comparison_reads_them():
    from gdn.config import resolve

    steps = {s.name: s for s in book_plan.plan("study")}
    base = resolve("study").seed
    for run, spec in book_plan.TRAININGS.items():
        n = 5 if run in ("det", "weight", "adv") else 3  # Fig. 6's frameworks 5, the ablations 3
        names = [f"train_{run}"] + [f"train_{run}_seed{k}" for k in range(1, n)]
        configs = [steps[name].params["config"] for name in names]
        assert [c.get("seed", base) for c in configs] == [base + k for k in range(n)]
        assert all({k: v for k, v in c.items() if k != "seed"} == spec for c in configs)
        assert [steps[name].params["run"] for name in names] == [run] + [f"{run}_seed{k}" for k in range(1, n)]
        assert f"train_{run}_seed{n}" not in steps
    assert {"train_det_seed4", "train_weight_seed3", "train_adv"} <= set(steps["table1"].deps)
    assert {"train_det_ce_seed2", "train_det_bce_seed1", "train_det_seed2"} <= set(steps["table2"].deps)
    assert "train_det_seed3" not in steps["table2"].deps  # an ablation reads the seeds all its runs have
    assert steps["table1"].params["seeds"] == steps["frameworks"].params["seeds"] == 5
    assert steps["table2"].params["seeds"] == steps["weight_mapping"].params["seeds"] == 3
    assert "seeds" not in steps["examples"].params
    assert "train_det_seed1" not in steps["examples"].deps  # the examples show the first seed
    assert set(book_plan.run_seeds("study", 2).values()) == {2}  # --seeds N: every run N
    # a seed given on the command line is the first seed's; the others follow it
    moved = {s.name: s for s in book_plan.plan("study", {"seed": "7"})}
    assert moved["train_det"].params["config"]["seed"] == 7 and moved["train_det_seed2"].params["config"]["seed"] == 9
    assert "seed" not in moved["train_det"].params.get("overrides", {})
    assert len(book_plan.plan("cpu", seeds=2)) == 7 * 2 + 11


def test_param_assignments_are_checked_too(capsys):
    steps = book_plan.plan("smoke")
    book_plan.apply_params(steps, ["table1.per_bin=3", "n_images=2"], ROOT / "notebooks")
    by_name = {s.name: s for s in steps}
    assert by_name["table1"].params["per_bin"] == 3 and by_name["metrics"].params["n_images"] == 2
    book_plan.apply_params(steps, ["table1.per_bn=3"], ROOT / "notebooks")
    with pytest.raises(book_plan.BookError, match=r"unknown parameter 'per_bn' \(step table1\); allowed parameters: "
                                             r"profile, per_bin,"):
        book_plan.check_parameters(steps, ROOT / "notebooks")
    with pytest.raises(book_plan.BookError, match="no notebook has a parameter 'per_bn'"):
        book_cli.main(["--profile", "smoke", "--list", "--param", "per_bn=3"])
    assert book_cli.main(["--profile", "smoke", "--list"]) == 0
    assert "train_det_exp_e" in capsys.readouterr().out
    # make book ARGS="..." mixes config overrides and options in any order
    assert book_cli.main(["--profile", "smoke", "--list", "steps=3", "--jobs", "1", "size=32"]) == 0
    assert '"overrides": {"steps": "3", "size": "32"}' in capsys.readouterr().out


def test_the_cli_reports_a_misspelt_parameter_in_one_line(capsys):
    from gdn.cli import main

    assert main(["book", "--profile", "smoke", "--list", "--param", "table1.per_bn=3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'per_bn'" in err[0] and "allowed parameters: profile, per_bin" in err[0]


# ------------------------------------------------------------------------------------------------ reuse

class FakeExecutor:
    """Stands in for papermill: records which notebooks ran and writes an executed copy."""

    def __init__(self):
        self.calls: list[str] = []

    def __call__(self, notebook: Path, output: Path, params: dict, cwd: Path, threads=None) -> None:
        self.calls.append(output.stem)
        output.write_text(notebook.read_text())
        if output.stem == "train":
            run = cwd / "runs" / "p" / "r"
            run.mkdir(parents=True, exist_ok=True)
            (run / "last.pt").write_text("weights")


def _reuse_setup(tmp_path):
    work = tmp_path / "work"
    for name in ("train", "b", "c", "d"):
        _notebook(work / "notebooks" / f"{name}.ipynb", "profile = 'p'\nn = 1\n")
    steps = [book_plan.Step("train", "train.ipynb", {"profile": "p"}, outputs=("runs/p/r/last.pt",)),
             book_plan.Step("b", "b.ipynb", {"n": 1}, deps=("train",)),
             book_plan.Step("c", "c.ipynb", {"n": 1}, deps=("train",)),
             book_plan.Step("d", "d.ipynb", {"n": 1})]
    return work, steps


def test_a_second_run_reuses_and_a_touched_notebook_reruns_only_it_and_its_dependants(tmp_path):
    work, steps = _reuse_setup(tmp_path)
    fake = FakeExecutor()
    run = lambda: execution.run_steps(steps, work, "p", execute=fake, out=open(tmp_path / "log", "a"))  # noqa: E731
    assert set(run().values()) == {"ran"} and fake.calls == ["train", "b", "c", "d"]
    record = json.loads((work / "figures" / "p" / "b" / "run.json").read_text())
    assert {"params", "key", "git_commit", "device", "date", "run_time_s"} <= set(record)

    fake.calls.clear()
    assert set(run().values()) == {"reused"} and fake.calls == []

    _notebook(work / "notebooks" / "train.ipynb", "profile = 'p'\nn = 1\n", body="y = 2")  # edit the training
    assert run() == {"train": "ran", "b": "ran", "c": "ran", "d": "reused"}

    _notebook(work / "notebooks" / "c.ipynb", "profile = 'p'\nn = 1\n", body="z = 3")  # edit one experiment
    assert run() == {"train": "reused", "b": "reused", "c": "ran", "d": "reused"}

    steps[3].params["n"] = 2  # new parameters
    assert run()["d"] == "ran"
    (work / "runs" / "p" / "r" / "last.pt").unlink()  # a missing output reruns the step and its dependants
    assert run() == {"train": "ran", "b": "ran", "c": "ran", "d": "reused"}
    forced = execution.run_steps(steps, work, "p", execute=fake, force=True, out=open(tmp_path / "log", "a"))
    assert set(forced.values()) == {"ran"}


def test_a_failed_notebook_is_not_recorded_and_reruns(tmp_path):
    work, steps = _reuse_setup(tmp_path)

    def failing(notebook, output, params, cwd):
        output.write_text("{}")
        raise book_plan.BookError(f"{notebook.name} failed")

    with pytest.raises(book_plan.BookError, match="train.ipynb failed"):
        execution.run_steps(steps, work, "p", execute=failing, out=open(tmp_path / "log", "w"))
    assert not (work / "figures" / "p" / "train" / "run.json").exists()
    fake = FakeExecutor()
    execution.run_steps(steps, work, "p", execute=fake, out=open(tmp_path / "log", "w"))
    assert fake.calls[0] == "train"


def _parallel_setup(tmp_path, n=4):
    work = tmp_path / "work"
    names = [f"t{k}" for k in range(n)]
    for name in names + ["e"]:
        _notebook(work / "notebooks" / f"{name}.ipynb", "n = 1\n")
    steps = [book_plan.Step(name, f"{name}.ipynb", {}, parallel=True) for name in names]
    steps.append(book_plan.Step("e", "e.ipynb", {}, deps=tuple(names)))
    return work, steps


def test_jobs_run_parallel_steps_side_by_side_and_the_rest_alone(tmp_path):
    import threading

    work, steps = _parallel_setup(tmp_path)
    pairs = threading.Barrier(2, timeout=20)  # passes only when two trainings run at the same time
    lock, active, seen = threading.Lock(), [0], []

    def execute(notebook, output, params, cwd, threads=None):
        with lock:
            active[0] += 1
            seen.append((output.stem, active[0], threads))
        if output.stem != "e":
            pairs.wait()
        output.write_text(notebook.read_text())
        with lock:
            active[0] -= 1

    status = execution.run_steps(steps, work, "p", execute=execute, jobs=2, out=open(tmp_path / "log", "w"))
    assert set(status.values()) == {"ran"}
    by_step = {name: (count, threads) for name, count, threads in seen}
    from gdn.device import usable_cpus
    assert {by_step[f"t{k}"][1] for k in range(4)} == {max(1, usable_cpus() // 2)}
    assert by_step["e"] == (1, None)  # alone, after every training, with the kernel's own thread count
    record = json.loads((work / "figures" / "p" / "t0" / "run.json").read_text())
    assert record["threads"] == max(1, usable_cpus() // 2)
    assert f"t0.ipynb with {record['threads']} thread" in (tmp_path / "log").read_text()


def test_trainings_placed_one_per_gpu_never_share_one_and_placement_does_not_change_reuse(tmp_path):
    # CPU stand-ins for three GPUs: the runner's plan is what is tested, the kernels never touch CUDA
    import threading
    import time

    work, steps = _parallel_setup(tmp_path, n=7)
    lock, held, seen = threading.Lock(), {}, []

    def execute(notebook, output, params, cwd, threads=None, env=None):
        gpu = (env or {}).get("CUDA_VISIBLE_DEVICES")
        with lock:
            seen.append((output.stem, gpu, dict(env or {})))
            if gpu is not None:
                assert gpu not in held.values(), f"{output.stem} got GPU {gpu}, which {held} holds"
                held[output.stem] = gpu
        time.sleep(0.05)
        output.write_text(notebook.read_text())
        with lock:
            held.pop(output.stem, None)

    log = tmp_path / "log"
    status = execution.run_steps(steps, work, "p", execute=execute, devices=["0", "1", "2"],
                                 train_env={"EXTRA": "x"}, out=open(log, "w"))
    assert set(status.values()) == {"ran"}
    got = {name: gpu for name, gpu, _ in seen}
    assert {got[f"t{k}"] for k in range(7)} == {"0", "1", "2"} and got["e"] is None
    assert all(env["EXTRA"] == "x" for name, _, env in seen if name != "e")
    assert [env for name, _, env in seen if name == "e"] == [{}]  # the evaluation sees every GPU
    record = json.loads((work / "figures" / "p" / "t0" / "run.json").read_text())
    assert record["gpu"] == got["t0"] and " on GPU " in log.read_text()
    # the same book on one GPU, or on none: nothing to run again
    again = execution.run_steps(steps, work, "p", execute=execute, out=open(log, "w"))
    assert set(again.values()) == {"reused"}


def test_the_placement_follows_the_flags_and_refuses_contradictions():
    from gdn.book.runs import DDP

    assert book.placement("cpu") == ([], {})
    assert book.placement("cpu", ["0", "1"]) == (["0", "1"], {})
    assert book.placement("cuda", None, 4) == ([], {DDP: "4"})
    with pytest.raises(book_plan.BookError, match="choose one"):
        book.placement("cuda", ["0", "1"], 2)
    with pytest.raises(book_plan.BookError, match="twice"):
        book.placement("cuda", ["0", "0"])
    with pytest.raises(book_plan.BookError, match="at least 2"):
        book.placement("cuda", None, 1)


def test_a_failed_parallel_step_lets_the_others_finish_and_starts_nothing_new(tmp_path):
    work, steps = _parallel_setup(tmp_path, n=3)
    fake = FakeExecutor()

    def execute(notebook, output, params, cwd, threads=None):
        if output.stem == "t0":
            raise book_plan.BookError("t0.ipynb failed in cell 2: ValueError: bad")
        fake(notebook, output, params, cwd)

    with pytest.raises(book_plan.BookError, match="t0.ipynb failed"):
        execution.run_steps(steps, work, "p", execute=execute, jobs=2, out=open(tmp_path / "log", "w"))
    assert "e" not in fake.calls and "t1" in fake.calls
    assert not (work / "figures" / "p" / "t0" / "run.json").exists()
    assert (work / "figures" / "p" / "t1" / "run.json").exists()  # finished beside the failure: kept


def test_papermill_with_threads_runs_the_kernel_with_that_many_threads(tmp_path):
    nb = _notebook(tmp_path / "a.ipynb", "out = ''\n", body="import os, torch\n"
                   "open(out, 'w').write(os.environ['OMP_NUM_THREADS'] + ' ' + str(torch.get_num_threads()))")
    execution.papermill_executor(nb, tmp_path / "a_out.ipynb", {"out": str(tmp_path / "t.txt")}, tmp_path, threads=1)
    assert (tmp_path / "t.txt").read_text() == "1 1"
    bad = _notebook(tmp_path / "b.ipynb", "n = 1\n", body="raise ValueError('no such photo')")
    with pytest.raises(book_plan.BookError, match=r"b.ipynb failed in cell \d+: ValueError: no such photo"):
        execution.papermill_executor(bad, tmp_path / "b_out.ipynb", {}, tmp_path, threads=1)


def test_notebooks_kernels_print_no_transport_warning_alone_or_side_by_side(tmp_path, capfd):
    import threading

    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("n = 1")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("import time\ntime.sleep(1)\nprint(n * 2)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(tmp_path / "a.ipynb"))
    execution.papermill_executor(tmp_path / "a.ipynb", tmp_path / "b.ipynb", {"n": 21}, tmp_path)
    assert '"42\\n"' in (tmp_path / "b.ipynb").read_text()
    captured = capfd.readouterr()
    assert "without encryption" not in captured.err + captured.out and "WARNING" not in captured.err
    # three kernels started at once (the book's trainings side by side) each keep their own sockets
    errors = []

    def run(k):
        try:
            execution.papermill_executor(tmp_path / "a.ipynb", tmp_path / f"side{k}.ipynb", {"n": k}, tmp_path,
                                         threads=1)
        except Exception as e:  # noqa: BLE001 - collected, asserted below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [f'"{2 * k}\\n"' in (tmp_path / f"side{k}.ipynb").read_text() for k in range(3)] == [True] * 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ipynb", "b.ipynb", "side0.ipynb", "side1.ipynb",
                                                        "side2.ipynb"]  # no socket files left behind


def test_a_trainings_heartbeat_says_its_step_total_and_time_left(tmp_path):
    log = tmp_path / "log.csv"
    assert execution.training_progress(tmp_path, 300, 8) == "starting"
    with open(log, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "loss_g", "elapsed_s", "images_per_s"])
        w.writerow([25, 0.1, 10.0, 20.0])
        w.writerow([50, 0.1, 20.0, 20.0])  # 2.5 steps per second: 250 steps left take 1:40
    assert execution.training_progress(tmp_path, 300, 8) == "step 50/300, 1:40 left"

    def execute(notebook, output, params, cwd, threads=None):
        time.sleep(0.5)
        output.write_text(notebook.read_text())

    work = tmp_path / "work"
    (work / "notebooks").mkdir(parents=True)
    (work / "notebooks" / "t.ipynb").write_text("{}")
    out = tmp_path / "out.txt"
    with open(out, "w") as f:
        execution.run_steps([book_plan.Step("train_r", "t.ipynb", {}, parallel=True)], work, "p", execute=execute,
                            out=f, heartbeat=0.1,
                            progress={"train_r": lambda: execution.training_progress(tmp_path, 300, 8)})
    assert "... train_r running 0:00: step 50/300, 1:40 left (elapsed" in out.read_text()


def test_report_writes_files_with_provenance(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rep = Report("nb", {"profile": "p", "k": 1}, root=tmp_path)
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    rep.figure(fig, "fig", "a line")
    rep.table([{"method": "A", "x": 1.23456, "n": 3}, {"method": "Paper: B", "x": float("nan"), "n": None}], "tab",
              formats={"x": "{:.2f}"})
    rep.number("psnr", 24.5)
    folder = tmp_path / "p" / "nb"
    assert (folder / "fig.png").read_bytes()[:4] == b"\x89PNG"
    assert (folder / "tab.csv").read_text().splitlines()[0] == "method,x,n"
    html = (folder / "tab.html").read_text()
    assert "<td>1.23</td>" in html and "<td>n/a</td>" in html and 'class="paper"' in html
    side = json.loads((folder / "fig.json").read_text())
    assert side["params"] == {"profile": "p", "k": 1} and side["caption"] == "a line"
    assert {"git_commit", "device", "date", "run_time_s"} <= set(side)
    assert json.loads((folder / "numbers.json").read_text())["numbers"]["psnr"]["value"] == 24.5
    with pytest.raises(ValueError, match="report key"):
        rep.number("bad key", 1)
    assert html_table([{"a": 1}], key="k").startswith('<table class="gdn-table" data-key="k">')
    prose = html_table([{"why": "a reason long enough to be a sentence, not a number", "value": 0.5}])
    assert prose.count('<td class="text">') == 1  # the reason wraps in the page; the number does not
    rep.facts("setup", [("Profile", "cpu: width 16"), ("Seeds", "one per run <1>")])
    recorded = json.loads((folder / "numbers.json").read_text())["numbers"]["setup"]["value"]
    assert recorded.startswith("Profile: cpu: width 16. Seeds: one per run <1>. Built: commit ")


# ------------------------------------------------------------------------------------------ smoke book

# page -> tables (data-key) and at least this many figures
EXPECTED = {
    "table1": (["table1_psnr", "table1_ssim", "table1_l1", "verdicts"], 1),
    "table2": (["table2_psnr", "table2_ssim", "verdicts"], 1),
    "frameworks": (["fig6_table", "verdicts"], 1),
    "weight_mapping": (["edge_ratios", "verdicts"], 1),
    "detector": (["auroc", "auroc_bins", "fig9_auroc", "fig9_detectors", "fig9_sides", "verdicts"], 6),
    "examples": ([], 3),
    "applications": (["fig8_table"], 1),
    "timing": (["timing"], 0),
    "evaluation": (["definitions"], 0),
    "validation": (["verdicts", "shift_psnr", "shift_cast", "shift_auroc", "size_table", "size_margins", "size_adapted", "size_time"], 0),
    "perphoto": (["perphoto_table", "perphoto_gains", "verdicts"], 0),
    "training": (["config"], 0),  # the deviations table first
    "records": ([], 0),
    "method": ([], 0),
}


FACTS = {"table1", "table2", "frameworks", "weight_mapping", "detector", "examples", "evaluation", "validation",
         "training", "intro"}  # pages whose provenance is a list of facts (Report.facts)


def _check_page(html_dir: Path, page: Path, tables, n_images) -> None:
    text = page.read_text()
    if page.stem in FACTS:
        facts = re.search(r'<ul class="gdn-facts"[^>]*>(.*?)</ul>', text, re.S)
        assert facts and facts.group(1).count("<li>") >= 7, f"{page.name}: no provenance list"
    assert "IPython.core.display" not in text and "<IPython" not in text and "&lt;IPython" not in text, page
    keys = re.findall(r'data-key="([^"]+)"', text)
    for key in tables:
        assert key in keys, f"{page.name}: table {key} missing"
    images = re.findall(r'<img[^>]*src="([^"]+)"', text)
    assert len(images) >= n_images, f"{page.name}: {len(images)} images, expected {n_images}"
    for src in images:
        assert not src.startswith(("http:", "https:", "//")), f"{page.name}: remote image {src}"
        target = (page.parent / src.split("?")[0]).resolve()
        assert target.is_file() and target.stat().st_size > 100, f"{page.name}: broken image {src}"
    for pasted in re.findall(r'class="pasted-text">([^<]*)<', text):
        assert pasted.strip(), f"{page.name}: empty glue"
    for src in re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', text):
        assert not src.startswith(("http:", "https:", "//")), f"{page.name}: loads {src} from the network"


@pytest.fixture(scope="module")
def smoke_book(tmp_path_factory):
    """The smoke book, built once for the tests below: (its work directory, the runner's status)."""
    tmp = tmp_path_factory.mktemp("smoke")
    with open(tmp / "log", "w") as log:
        status = book.run_book("smoke", workdir=tmp / "book", out=log)
    return tmp / "book", status


@pytest.mark.slow
def test_the_smoke_book_builds_with_every_table_and_figure(smoke_book):
    work, status = smoke_book
    assert set(status.values()) == {"ran"} and len(status) == 18
    html = work / "_build" / "html"
    for name, (tables, n_images) in EXPECTED.items():
        _check_page(html, html / "book" / f"{name}.html", tables, n_images)
    for page in (html / "book" / "_generated").glob("*.html"):
        _check_page(html, page, [], 0)
    method = (html / "book" / "method.html").read_text()
    code = re.sub(r"<[^>]+>", "", method)  # the source shown, without the highlighting's spans
    assert "def detector_loss" in code and "def weighted_l1" in code and "class Detector" in code
    assert "_static/mathjax/tex-mml-chtml.js" in method and "cdn.jsdelivr" not in method
    assert (html / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    table1 = re.sub(r"<[^>]+>", "", (html / "book" / "table1.html").read_text())
    from gdn.book.studies import fid_status
    # FID that cannot be scored is one line in place of its table, without the quotes of a glued string
    assert ("FID ↓: n/a: Inception weights not present" in table1) == (fid_status() is not None)
    assert "'FID" not in table1
    assert "Paper: Ours (CelebA-HQ)" in table1
    # provenance beside every executed notebook and figure
    record = json.loads((work / "figures" / "smoke" / "table1" / "run.json").read_text())
    assert record["params"]["profile"] == "smoke" and record["git_commit"] and record["device"]
    side = json.loads((work / "figures" / "smoke" / "detector" / "fig7.json").read_text())
    assert side["params"]["per_bin"] == 1 and side["run_time_s"] >= 0
    assert (work / "runs" / "smoke" / "det" / "last.pt").is_file()

    again = book.run_book("smoke", workdir=work, build=False, out=open(work.parent / "log2", "w"))
    assert set(again.values()) == {"reused"}


@pytest.mark.slow
def test_the_smoke_book_says_what_it_found_and_names_its_own_anchor(smoke_book):
    """Issue 39: the introduction's first screen lists the findings, each with a link; the chapters with findings
    open with theirs; no page states the single-seed caveat twice or prints "smaller than 0.000"; and the smoke
    profile's generators are the paper's, with no anchor (the default book's is the spline): every page that names
    the anchor says so, none calls it a spline or harmonic fill."""
    html = smoke_book[0] / "_build" / "html" / "book"
    intro = (html / "intro.html").read_text()
    lists = re.findall(r'<ul class="gdn-findings"[^>]*>(.*?)</ul>', intro, re.S)
    assert len(lists) == 4 and all("<li>" in items and 'href="' in items for items in lists)
    assert intro.index("gdn-findings") < intro.index("three disjoint sets")  # before the first paragraph's end
    for name in ("table1", "table2", "frameworks", "weight_mapping", "detector", "validation", "perphoto"):
        page = (html / f"{name}.html").read_text()
        assert page.index("gdn-findings") < page.index("gdn-facts"), f"{name}: the findings are not first"
    for page in html.glob("*.html"):
        text = re.sub(r"<[^>]+>", "", page.read_text())
        assert text.count("One seed per run") <= 1 and "smaller than 0.000" not in text, page.name
        if page.stem != "records":  # the dated records are history
            assert not re.search(r"training-free (spline|harmonic) fill", text), page.name
    for name in ("frameworks", "validation"):
        assert "no training-free anchor" in re.sub(r"<[^>]+>", "", (html / f"{name}.html").read_text()), name


@pytest.mark.slow
@pytest.mark.browser
def test_the_smoke_books_tables_fit_the_page_at_1280_px(smoke_book, browser_tools):
    """In headless Chromium at 1280 px, no table is wider than its page's content column (no horizontal
    scroll), and every chapter with numbers opens with its provenance list."""
    import subprocess

    chromium, node, modules = browser_tools
    pages = sorted((smoke_book[0] / "_build" / "html" / "book").glob("*.html"))
    env = dict(os.environ, NODE_PATH=str(modules), CHROMIUM=chromium)
    out = subprocess.run([node, str(ROOT / "tests" / "browser" / "book_widths.js"), "1280", *map(str, pages)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    measured = json.loads(out.stdout)["pages"]
    wide = {Path(f).stem: [(t["key"], t["width"], t["room"]) for t in p["tables"] if t["width"] > t["room"]]
            for f, p in measured.items()}
    assert not any(wide.values()), f"tables wider than the content column: {wide}"
    assert all(measured[str(p)]["facts"] for p in pages if p.stem in FACTS)
