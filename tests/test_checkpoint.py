import pytest
import torch

from gdn.engine.checkpoint import CheckpointError, build_networks, load_checkpoint, save_checkpoint
from gdn.config import resolve
from gdn.frameworks import Framework


def _save(path, **over):
    cfg = resolve("smoke", {"width": "8", "res_blocks": "1", **over})
    fw = Framework(cfg)
    save_checkpoint(path, fw.state(), cfg, step=3)
    return fw


def test_checkpoint_loads_with_weights_only_and_rebuilds_the_networks(tmp_path):
    fw = _save(tmp_path / "a.pt")
    raw = torch.load(tmp_path / "a.pt", weights_only=True)
    assert raw["step"] == 3 and raw["config"]["framework"] == "det"
    ckpt = load_checkpoint(tmp_path / "a.pt")
    g, d = build_networks(ckpt)
    for a, b in zip(g.state_dict().values(), fw.generator.state_dict().values()):
        assert torch.equal(a, b)
    assert d is not None


def test_missing_truncated_and_foreign_files_name_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="nope.pt: checkpoint not found"):
        load_checkpoint(tmp_path / "nope.pt")
    _save(tmp_path / "a.pt")
    data = (tmp_path / "a.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.pt: truncated or corrupt"):
        load_checkpoint(tmp_path / "cut.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="other.pt: not a gdn checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_weights_of_another_architecture_are_rejected(tmp_path):
    _save(tmp_path / "a.pt")
    ckpt = load_checkpoint(tmp_path / "a.pt")
    ckpt["config"] = resolve("smoke", {"width": "16", "res_blocks": "1"})
    with pytest.raises(CheckpointError, match="do not fit"):
        build_networks(ckpt, tmp_path / "a.pt")


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    _save(tmp_path / "last.pt")
    before = (tmp_path / "last.pt").read_bytes()

    def broken_save(obj, f):
        f.write(b"partial")
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        _save(tmp_path / "last.pt", framework="weight")
    assert (tmp_path / "last.pt").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_the_bundled_warm_start_fits_the_cpu_profile():
    import json

    from gdn.engine.checkpoint import build_networks, load_checkpoint, resolve_init
    from gdn.config import resolve

    path = resolve_init("gdn:cpu-warmstart")
    ckpt = load_checkpoint(path)
    cpu, saved = resolve("cpu"), ckpt["config"]
    assert (saved.width, saved.res_blocks, saved.norm) == (cpu.width, cpu.res_blocks, cpu.norm)
    assert saved.to_dict() == resolve("warmstart").to_dict()  # make warmstart reproduces it
    generator, critic = build_networks(ckpt, path)
    assert critic is None and sum(p.numel() for p in generator.parameters()) == 382_320
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["step"] == ckpt["step"] == saved.steps and meta["git_commit"]
    assert len(meta["log_csv"]) == 1 + saved.steps // saved.log_every  # its whole log, header first


def test_the_bundled_detector_warm_start_fits_the_cpu_profile():
    import json

    from gdn.engine.checkpoint import load_checkpoint, resolve_init
    from gdn.frameworks import Framework

    path = resolve_init(resolve("cpu").cooldown_init)
    ckpt = load_checkpoint(path)
    assert path.name == "cpu-warmstart.pt" and "generator" in ckpt  # one shipped file: generator and detector
    assert ckpt["critic_config"] == resolve("warmstart_detector").to_dict()  # make warmstart reproduces it
    fw = Framework(resolve("cpu"))
    fw.critic.load_state_dict(ckpt["critic"])
    meta = json.loads(path.with_suffix(".json").read_text())["detector"]
    saved = resolve("warmstart_detector")
    assert meta["step"] == ckpt["critic_step"] == saved.steps + saved.critic_cooldown and meta["git_commit"]
    assert meta["log_csv"][0].startswith("step,") and meta["log_csv"][-1].startswith(f"{meta['step']},")  # whole log
