"""The gdn command line: one clear line on stderr for user errors, and the evaluate pipeline end to end."""
import csv
import json

import pytest

from gdn.engine.checkpoint import save_checkpoint
from gdn.cli import main
from gdn.config import resolve
from gdn.frameworks import Framework


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "det.pt"
    cfg = resolve("smoke", {"width": "8", "res_blocks": "1", "size": "32", "builtin_test": "3"})
    save_checkpoint(path, Framework(cfg).state(), cfg, step=0)
    return path


def _one_error_line(capsys, *needles):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    for needle in needles:
        assert needle in err[0]
    return err[0]


def test_train_rejects_unknown_keys_and_bad_values_in_one_line(tmp_path, capsys):
    assert main(["train", "--profile", "smoke", "--out", str(tmp_path / "r"), "lr_g=1"]) == 2
    _one_error_line(capsys, "unknown config key 'lr_g'", "allowed keys")
    assert main(["train", "--profile", "smoke", "--out", str(tmp_path / "r"), "steps=many"]) == 2
    _one_error_line(capsys, "'steps' expects int")
    assert main(["train", "--profile", "turbo", "--out", str(tmp_path / "r")]) == 2
    _one_error_line(capsys, "unknown profile")
    assert not (tmp_path / "r").exists()


def test_unknown_command(capsys):
    assert main(["fly"]) == 2
    assert "unknown command 'fly'" in capsys.readouterr().err


def test_evaluate_writes_one_row_per_method_and_bin(tmp_path, ckpt, capsys):
    out = tmp_path / "eval"
    assert main(["evaluate", "--checkpoint", f"det={ckpt}", "--builtin", "--mask-bank", "1", "--baselines",
                 "--fid", "off", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert {r["method"] for r in rows} == {"det", "biharmonic", "telea", "mean colour", "push-pull", "harmonic", "spline"}
    assert len(rows) == 7 * 7 and all(r["count"] == "1" for r in rows if r["bin"] != "all")
    assert json.loads((out / "metrics.json").read_text())["masks"].startswith("mask_bank(1")
    assert "psnr" in capsys.readouterr().out


def test_evaluate_on_stroke_masks_writes_them_and_scores_them(tmp_path, ckpt, capsys):
    out = tmp_path / "eval"
    assert main(["evaluate", "--checkpoint", f"det={ckpt}", "--builtin", "--mask-strokes", "2", "--mask-bank", "1",
                 "--fid", "off", "--seed", "3", "--out", str(out)]) == 0
    (folder,) = (out / "masks").iterdir()
    assert folder.name == "strokes-2px-1-per-bin-seed3-32x32" and len(list(folder.glob("*.png"))) == 6
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert {r["method"] for r in rows} == {"det"} and all(r["count"] == "1" for r in rows if r["bin"] != "all")
    assert json.loads((out / "metrics.json").read_text())["masks"] == str(folder)
    assert "stroke masks 2 px wide at 32 px" in capsys.readouterr().out


def test_evaluate_on_stroke_masks_rejects_a_bad_width_or_checkpoint_before_writing(tmp_path, ckpt, capsys):
    assert main(["evaluate", "--checkpoint", str(ckpt), "--mask-strokes", "0.5", "--out", str(tmp_path / "e")]) == 2
    _one_error_line(capsys, "stroke width must be at least 1 px")
    assert main(["evaluate", "--checkpoint", str(ckpt), "--mask-strokes", "33", "--out", str(tmp_path / "e")]) == 2
    _one_error_line(capsys, "33 px stroke is wider than the 32x32 mask")
    cut = tmp_path / "cut.pt"
    cut.write_bytes(ckpt.read_bytes()[:1000])
    assert main(["evaluate", "--checkpoint", str(cut), "--mask-strokes", "2", "--out", str(tmp_path / "e")]) == 2
    _one_error_line(capsys, "cut.pt", "truncated or corrupt")
    assert not (tmp_path / "e").exists()
    with pytest.raises(SystemExit):
        main(["evaluate", "--checkpoint", str(ckpt), "--mask-strokes", "2", "--masks", str(tmp_path),
              "--out", str(tmp_path / "e")])
    assert "give it or --masks, not both" in capsys.readouterr().err


def test_evaluate_with_a_truncated_checkpoint_fails_before_writing(tmp_path, ckpt, capsys):
    cut = tmp_path / "cut.pt"
    cut.write_bytes(ckpt.read_bytes()[:1000])
    assert main(["evaluate", "--checkpoint", str(cut), "--out", str(tmp_path / "e")]) == 2
    _one_error_line(capsys, "cut.pt", "truncated or corrupt")
    assert not (tmp_path / "e").exists()
