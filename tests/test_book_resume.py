"""Interrupted books resume: a training killed at any point continues from its last checkpoint when the book runs
it again with the same config and code, and a finished run is kept (gdn.book.runs.train_run)."""
import os
import subprocess
import sys
import time

import pytest

from gdn.book.runs import FRESH, train_run
from gdn.engine.checkpoint import load_checkpoint

RUN = {"steps": 60, "save_every": 5, "log_every": 5, "keep_every": 1000, "sample_every": 1000}


@pytest.mark.slow
def test_a_training_killed_by_sigkill_continues_from_its_last_checkpoint(tmp_path, monkeypatch):
    monkeypatch.delenv(FRESH, raising=False)
    root = tmp_path / "runs"
    code = f"from gdn.book.runs import train_run; train_run('smoke', 'det', {RUN!r}, {str(root)!r})"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop(FRESH, None)
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=tmp_path)
    last = root / "smoke" / "det" / "last.pt"
    deadline = time.time() + 180
    try:
        while time.time() < deadline and proc.poll() is None:
            if last.is_file() and load_checkpoint(last)["step"] >= 10:
                break
            time.sleep(0.2)
    finally:
        proc.kill()  # SIGKILL: no handler runs, nothing is saved on the way out
        proc.wait()
    killed_at = load_checkpoint(last)["step"]
    assert 10 <= killed_at < 60, "the run finished before it could be killed"
    assert not (last.parent / "summary.json").exists()

    result = train_run("smoke", "det", RUN, root)  # what the book's training notebook calls when re-run
    assert result["resumed_from"] == killed_at  # not step 0
    assert result["summary"]["step"] == 60
    assert [int(r["step"]) for r in result["log"]][:2] == [5, 10]  # the rows written before the kill are kept
    finished = last.stat().st_mtime_ns

    again = train_run("smoke", "det", RUN, root)  # a finished run with the same config and code is kept
    assert again["resumed_from"] is None and last.stat().st_mtime_ns == finished

    other = train_run("smoke", "det", {**RUN, "steps": 8}, root)  # another config: a fresh run
    assert other["resumed_from"] == 0 and other["summary"]["step"] == 8


@pytest.mark.slow
def test_a_book_training_on_two_ddp_processes_trains_and_is_then_kept(tmp_path, monkeypatch):
    # the exact resume of a DDP run is tests/test_train.py's; here the book's path to it
    from gdn.book.runs import DDP

    monkeypatch.delenv(FRESH, raising=False)
    monkeypatch.setenv(DDP, "2")  # gdn book --ddp 2: each training on two processes (here CPU ranks, gloo)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    root = tmp_path / "runs"
    run = {**RUN, "steps": 6, "save_every": 4, "batch_size": 4, "num_workers": 0, "width": 8, "size": 32}
    result = train_run("smoke", "det", run, root)
    assert result["resumed_from"] == 0 and result["summary"]["step"] == 6
    assert (root / "smoke" / "det" / "launch.json").is_file()
    assert [int(r["step"]) for r in result["log"]] == [5, 6]  # one writer
    again = train_run("smoke", "det", run, root)
    assert again["resumed_from"] is None


def test_book_force_starts_every_training_afresh(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    run = {**RUN, "steps": 4}
    first = train_run("smoke", "weight", {**run, "framework": "weight"}, root)
    monkeypatch.setenv(FRESH, "1")
    again = train_run("smoke", "weight", {**run, "framework": "weight"}, root)
    assert first["resumed_from"] == 0 and again["resumed_from"] == 0


def test_the_deviation_table_names_every_key_a_profile_changes_with_its_reason():
    from dataclasses import fields

    from gdn.book.tables import config_rows
    from gdn.config import ENGINE, WHY, Config, resolve

    assert {f.name for f in fields(Config)} <= set(WHY) | ENGINE  # every key has a reason or is an engine key
    rows = {r["key"]: r for r in config_rows(resolve("cpu"))}
    for key in ("colour_anchor", "critic_corrupt", "critic_cooldown", "critic_width", "lr_decay_at", "augment",
                "norm", "init"):
        assert key in rows and rows[key]["why"] == WHY[key] and rows[key]["paper"] == getattr(Config(), key)
    assert "(test masks)" in rows and "crops" in rows["(training images)"]["value"]
    paper = [r["key"] for r in config_rows(resolve("paper"))]
    assert all(k.startswith("(") for k in paper)  # the paper profile changes no key, only the data handling
