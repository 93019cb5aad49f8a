"""The training engine: exact resume after a real kill, atomic checkpoints, DDP with two CPU processes."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gdn.engine.checkpoint import load_checkpoint
from gdn.config import resolve
from gdn.engine.train import train

TINY = ["width=8", "res_blocks=1", "size=32", "builtin_train=24", "builtin_test=4", "batch_size=4",
        "num_workers=0"]


def _cfg(**over):
    return resolve("smoke", dict(p.split("=") for p in TINY) | over)


def _gdn(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "gdn.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _weights(path):
    return load_checkpoint(path)["generator"]


def test_a_run_writes_its_config_log_samples_and_checkpoints(tmp_path):
    train(_cfg(steps=10, log_every=5, sample_every=5, save_every=5, keep_every=10), tmp_path, progress=False)
    assert json.loads((tmp_path / "config.json").read_text())["steps"] == 10
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [int(r["step"]) for r in rows] == [5, 10] and float(rows[0]["loss_g"]) > 0
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["step_0000005.png", "step_0000010.png"]
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 10
    assert (tmp_path / "step_0000010.pt").exists() and (tmp_path / "summary.json").exists()
    with pytest.raises(FileExistsError, match="--resume"):
        train(_cfg(steps=10), tmp_path, progress=False)


def test_resume_after_a_kill_gives_the_same_weights_as_an_unbroken_run(tmp_path):
    args = ["train", "--profile", "smoke", "--quiet", *TINY, "steps=24", "save_every=6", "log_every=6",
            "sample_every=1000", "keep_every=1000"]
    killed = tmp_path / "killed"
    proc = _gdn(*args, "--out", str(killed))
    deadline = time.time() + 60
    while not (killed / "last.pt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    step_at_kill = load_checkpoint(killed / "last.pt")["step"]
    assert 0 < step_at_kill < 24, "the kill came too late to test resuming"
    resumed = _gdn(*args, "--out", str(killed), "--resume")
    assert resumed.wait() == 0, resumed.stderr.read()
    unbroken = tmp_path / "unbroken"
    proc = _gdn(*args, "--out", str(unbroken))
    assert proc.wait() == 0, proc.stderr.read()
    a, b = _weights(killed / "last.pt"), _weights(unbroken / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    steps = [int(r["step"]) for r in csv.DictReader(open(killed / "log.csv"))]
    assert steps == list(range(6, 25, 6))  # rows after the checkpoint were dropped and written again


def test_resume_with_a_different_method_is_refused(tmp_path):
    train(_cfg(steps=2), tmp_path, progress=False)
    with pytest.raises(ValueError, match="exp_base"):
        train(_cfg(steps=4, exp_base=2.0), tmp_path, resume=True, progress=False)
    train(_cfg(steps=4), tmp_path, resume=True, progress=False)  # a longer run is fine
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 4


def test_a_kill_during_checkpoint_writing_leaves_a_loadable_last_pt(tmp_path):
    train(_cfg(steps=2), tmp_path, progress=False)
    before = (tmp_path / "last.pt").read_bytes()
    script = f"""
import os, signal, torch, gdn.engine.checkpoint as c
from gdn.config import resolve
from gdn.engine.train import train
real = torch.save
def dying_save(obj, f):
    f.write(b"PK" * 1000); f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
torch.save = dying_save
cfg = resolve("smoke", {dict(p.split("=") for p in TINY)!r} | {{"steps": "4"}})
train(cfg, {str(tmp_path)!r}, resume=True, progress=False)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL
    assert (tmp_path / "last.pt").read_bytes() == before
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 2


@pytest.mark.slow
def test_two_process_ddp_training_runs_and_writes_once(tmp_path):
    out = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    proc = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "gdn.cli", "train",
                           "--profile", "smoke", "--quiet", "--out", str(out), *TINY, "steps=6", "log_every=3",
                           "save_every=3", "keep_every=6", "sample_every=6"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = list(csv.DictReader(open(out / "log.csv")))
    assert [int(r["step"]) for r in rows] == [3, 6]  # one writer, not two
    assert sorted(p.name for p in out.glob("*.pt")) == ["last.pt", "step_0000006.pt"]
    assert proc.stdout.count("checkpoint:") == 2  # both ranks finished; only rank 0 wrote files
    ckpt = load_checkpoint(out / "last.pt")
    assert ckpt["step"] == 6
    assert not any(k.startswith("module.") for k in ckpt["generator"])
    # two ranks with half batches each and averaged gradients = one process with the whole batch
    single = train(_cfg(steps=6, log_every=3, save_every=3, keep_every=6, sample_every=6), tmp_path / "one",
                   progress=False)
    ref = load_checkpoint(single)
    for part in ("generator", "critic"):
        diff = torch.cat([(ckpt[part][k] - v).abs().flatten() for k, v in ref[part].items()])
        # Early Adam steps move each weight by about lr * sign(grad) = 1e-4, so gradients at rounding-noise
        # level (directions that instance norm cancels) may flip; without the all-reduce the half-batch
        # gradients would move most weights differently, by ~1e-4 a step.
        print(part, diff.mean().item(), diff.max().item())
        assert diff.mean() < 5e-6, part


def _torchrun(out, *extra):
    torchrun = Path(sys.executable).with_name("torchrun")
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    proc = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "gdn.cli", "train",
                           "--profile", "smoke", "--quiet", "--out", str(out), *TINY, "steps=6", "log_every=2",
                           "save_every=4", "keep_every=100", "sample_every=100", "framework=det", *extra],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow
def test_a_two_process_ddp_training_stopped_and_resumed_equals_an_unbroken_one(tmp_path):
    _torchrun(tmp_path / "whole")
    _torchrun(tmp_path / "parts", "--stop-after", "3")  # stops between two saves: the stop writes one
    assert load_checkpoint(tmp_path / "parts" / "last.pt")["step"] == 3
    assert not (tmp_path / "parts" / "summary.json").exists()
    _torchrun(tmp_path / "parts", "--resume")
    whole, parts = load_checkpoint(tmp_path / "whole" / "last.pt"), load_checkpoint(tmp_path / "parts" / "last.pt")
    assert whole["step"] == parts["step"] == 6
    for part in ("generator", "critic"):
        assert all(torch.equal(whole[part][k], parts[part][k]) for k in whole[part]), part
    rows = lambda d: [r["step"] for r in csv.DictReader(open(d / "log.csv"))]
    assert rows(tmp_path / "whole") == rows(tmp_path / "parts") == ["2", "4", "6"]


def test_init_starts_from_a_checkpoints_generator_and_warmup_freezes_it(tmp_path):
    from gdn.engine.checkpoint import pack_generator
    from gdn.engine.train import init_generator
    from gdn.frameworks import Framework

    train(_cfg(steps=4, framework="weight"), tmp_path / "pre", progress=False)
    packed = pack_generator(tmp_path / "pre", tmp_path / "warm.pt", commit="abc")
    meta = json.loads((tmp_path / "warm.json").read_text())
    assert meta["git_commit"] == "abc" and meta["step"] == 4 and meta["log_csv"][0].startswith("step,")
    ckpt = load_checkpoint(packed)
    assert "opt_g" not in ckpt and set(ckpt["generator"]) == set(_weights(tmp_path / "pre" / "last.pt"))
    # a Det run from it: the generator starts as the packed one and stays frozen through the warm-up
    cfg = _cfg(steps=2, framework="det", init=str(packed), critic_warmup=3, log_every=3, eval_every=3,
               save_every=3)
    train(cfg, tmp_path / "det", progress=False, stop_after=3)  # the three warm-up steps
    after = _weights(tmp_path / "det" / "last.pt")
    assert all(torch.equal(after[k], ckpt["generator"][k]) for k in after)
    train(cfg, tmp_path / "det", progress=False, resume=True)  # then two generator steps: 5 in all
    assert load_checkpoint(tmp_path / "det" / "last.pt")["step"] == 5
    assert any(not torch.equal(v, ckpt["generator"][k]) for k, v in _weights(tmp_path / "det" / "last.pt").items())
    row = list(csv.DictReader(open(tmp_path / "det" / "log.csv")))[0]  # step 3, an evaluation step
    assert 0 <= float(row["val_auroc"]) <= 1 and float(row["loss_d"]) > 0
    # the validation photos and their colour-shifted copies: PSNR, AUROC and the fill's bias per channel
    assert float(row["shift_psnr"]) > 0 and 0 <= float(row["shift_auroc"]) <= 1 and float(row["shift_bias"]) >= 0
    assert all(abs(float(row[f"val_bias_{c}"])) < 255 for c in "rgb")
    # a mismatched network is one clear error naming the file
    fw = Framework(_cfg(framework="det", width=16))
    with pytest.raises(RuntimeError, match=r"warm.pt: init generator has width=8, res_blocks=1, .*this config width=16"):
        init_generator(fw, _cfg(framework="det", width=16, init=str(packed)))
    # the same weights, but a generator whose output means something else (detail around a harmonic fill)
    fw = Framework(_cfg(framework="det", colour_anchor="residual"))
    with pytest.raises(RuntimeError, match="colour_anchor='none'; this config .*colour_anchor='residual'"):
        init_generator(fw, _cfg(framework="det", colour_anchor="residual", init=str(packed)))
    with pytest.raises(RuntimeError, match="missing.pt: init checkpoint not found"):
        init_generator(fw, _cfg(init=str(tmp_path / "missing.pt")))
    with pytest.raises(RuntimeError, match="no bundled checkpoint 'gdn:nope'"):
        init_generator(fw, _cfg(init="gdn:nope"))


def test_cooldown_init_gives_the_cool_down_a_packed_detector_and_the_generator_never_meets_it(tmp_path):
    from gdn.config import ConfigError
    from gdn.engine.checkpoint import pack_critic, pack_generator
    from gdn.engine.train import cooldown_critic
    from gdn.frameworks import Framework

    # a critic-only pre-run (one generator step at learning rate 0): its detector learns, its generator stays
    pre = _cfg(framework="det", steps=1, lr=0.0, critic_cooldown=3, save_every=4, log_every=4, sample_every=1000)
    train(pre, tmp_path / "pre", progress=False)
    torch.manual_seed(pre.seed)  # as train() does before building its networks
    start = Framework(pre).generator.state_dict()
    run = load_checkpoint(tmp_path / "pre" / "last.pt")
    assert all(torch.equal(run["generator"][k], start[k]) for k in start)
    packed = pack_critic(tmp_path / "pre", tmp_path / "det.pt", commit="abc")
    ckpt = load_checkpoint(packed)
    assert "generator" not in ckpt and "opt_d" not in ckpt and json.loads((tmp_path / "det.json").read_text())["step"] == 4
    assert all(torch.equal(ckpt["critic"][k], run["critic"][k]) for k in run["critic"])
    # added to a packed generator, the file holds both, and the detector is read from it
    both = pack_critic(tmp_path / "pre", pack_generator(tmp_path / "pre", tmp_path / "both.pt"))
    ckpt2 = load_checkpoint(both)
    assert all(torch.equal(ckpt2["generator"][k], run["generator"][k]) for k in run["generator"])
    assert json.loads((tmp_path / "both.json").read_text())["detector"]["step"] == 4
    cool_cfg = _cfg(framework="det", critic_cooldown=1, cooldown_init=str(both))
    assert all(torch.equal(v, run["critic"][k]) for k, v in cooldown_critic(cool_cfg).items())
    # Det runs with and without it: the same generator, bit for bit; another detector at the end
    base = dict(framework="det", steps=2, critic_cooldown=2, save_every=4, log_every=4, sample_every=1000)
    train(_cfg(**base), tmp_path / "plain", progress=False)
    train(_cfg(**base, cooldown_init=str(packed)), tmp_path / "cool", progress=False)
    plain, cool = load_checkpoint(tmp_path / "plain" / "last.pt"), load_checkpoint(tmp_path / "cool" / "last.pt")
    assert all(torch.equal(plain["generator"][k], cool["generator"][k]) for k in plain["generator"])
    assert any(not torch.equal(plain["critic"][k], cool["critic"][k]) for k in plain["critic"])
    # stopped before the cool-down and resumed there, it restarts the detector as an unbroken run does
    train(_cfg(**base, cooldown_init=str(packed)), tmp_path / "parts", progress=False, stop_after=2)
    train(_cfg(**base, cooldown_init=str(packed)), tmp_path / "parts", progress=False, resume=True)
    parts = load_checkpoint(tmp_path / "parts" / "last.pt")
    assert all(torch.equal(parts["critic"][k], cool["critic"][k]) for k in cool["critic"])
    # with the cool-down's learning rate at 0 the final detector is the packed one
    train(_cfg(**base, cooldown_init=str(packed), lr_decay_at=2, d_lr=0.0), tmp_path / "still", progress=False)
    still = load_checkpoint(tmp_path / "still" / "last.pt")
    assert all(torch.equal(still["critic"][k], ckpt["critic"][k]) for k in ckpt["critic"])
    # an Adv run of the same profile ignores it (its discriminator is another network); no cool-down is an error
    train(_cfg(framework="adv", steps=1, critic_cooldown=1, cooldown_init=str(packed), save_every=2, log_every=2,
               sample_every=1000), tmp_path / "adv", progress=False)
    with pytest.raises(ConfigError, match="cooldown_init .* needs a cool-down: critic_cooldown is 0"):
        _cfg(framework="det", cooldown_init=str(packed))
    # a detector of another width, a run that is not Det, a missing file: one error naming the file
    with pytest.raises(RuntimeError, match=r"det.pt: its detector has critic_width=32; this config critic_width=16"):
        cooldown_critic(_cfg(critic_width=16, critic_cooldown=1, cooldown_init=str(packed)))
    train(_cfg(framework="weight", steps=1, save_every=1, log_every=1, sample_every=1000), tmp_path / "w",
          progress=False)
    with pytest.raises(RuntimeError, match="last.pt: not a Det run"):
        pack_critic(tmp_path / "w", tmp_path / "w.pt")
    with pytest.raises(RuntimeError, match="missing.pt: init checkpoint not found"):
        cooldown_critic(_cfg(critic_cooldown=1, cooldown_init=str(tmp_path / "missing.pt")))


def test_critic_thin_changes_the_critic_of_the_cool_down_and_nothing_the_generator_learned(tmp_path):
    base = dict(framework="det", steps=3, critic_cooldown=3, save_every=6, log_every=6, sample_every=1000)
    train(_cfg(**base), tmp_path / "plain", progress=False)
    train(_cfg(**base, critic_thin=1.0), tmp_path / "thin", progress=False)
    plain, thin = load_checkpoint(tmp_path / "plain" / "last.pt"), load_checkpoint(tmp_path / "thin" / "last.pt")
    assert all(torch.equal(plain["generator"][k], thin["generator"][k]) for k in plain["generator"])
    assert any(not torch.equal(plain["critic"][k], thin["critic"][k]) for k in plain["critic"])


def test_lr_decay_at_drops_both_learning_rates_tenfold_from_that_step_on_and_after_a_resume(tmp_path):
    cfg = _cfg(framework="det", steps="3", lr_decay_at="2", save_every="1")
    train(_cfg(framework="det", steps="2", lr_decay_at="2", save_every="1"), tmp_path, progress=False)
    before = load_checkpoint(tmp_path / "last.pt")
    assert before["opt_g"]["param_groups"][0]["lr"] == pytest.approx(cfg.lr)  # steps 0 and 1: full lr
    train(cfg, tmp_path, resume=True, progress=False)
    after = load_checkpoint(tmp_path / "last.pt")
    assert after["opt_g"]["param_groups"][0]["lr"] == pytest.approx(cfg.lr / 10)
    assert after["opt_d"]["param_groups"][0]["lr"] == pytest.approx(cfg.d_lr / 10)
