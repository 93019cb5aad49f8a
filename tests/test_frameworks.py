import pytest
import torch

from gdn.config import resolve
from gdn.frameworks import Framework
from gdn.losses import weight_map, weighted_l1


def _framework(name, **over):
    cfg = resolve("smoke", {"framework": name, "width": 8, "res_blocks": 1, **over})
    torch.manual_seed(0)
    return Framework(cfg)


def test_det_generator_gradient_flows_through_the_detector(batch):
    fw = _framework("det")
    g_params = list(fw.generator.parameters())
    pred = fw.generator(batch["image"], batch["mask"])
    prob = fw.critic(pred)
    live = torch.autograd.grad(weighted_l1(pred, batch["image"], weight_map(prob)), g_params, retain_graph=True)
    detached = torch.autograd.grad(weighted_l1(pred, batch["image"], weight_map(prob.detach())), g_params)
    diff = max((a - b).abs().max().item() for a, b in zip(live, detached))
    scale = max(a.abs().max().item() for a in live)
    assert diff > 1e-4 * scale


@pytest.mark.parametrize("name", ["det", "adv"])
def test_each_network_gets_the_gradient_of_its_own_loss_only(name, batch):
    fw = _framework(name)
    g_params, d_params = list(fw.generator.parameters()), list(fw.critic.parameters())
    out = fw.losses(batch["image"], batch["mask"])
    want_g = torch.autograd.grad(out["loss_g"], g_params, retain_graph=True)
    want_d = torch.autograd.grad(out["loss_d"], d_params)
    fw.step(batch)
    for p, w in zip(g_params, want_g):
        assert torch.allclose(p.grad, w, atol=1e-7, rtol=1e-5)
    for p, w in zip(d_params, want_d):
        assert torch.allclose(p.grad, w, atol=1e-7, rtol=1e-5)
    # and G's loss does reach the critic's parameters, so routing is what keeps it out
    out = fw.losses(batch["image"], batch["mask"])
    cross = torch.autograd.grad(out["loss_g"], d_params, allow_unused=True)
    assert any(c is not None and c.abs().max() > 0 for c in cross)


def test_weight_framework_has_no_critic(batch):
    fw = _framework("weight")
    assert fw.critic is None and fw.opt_d is None
    assert set(fw.step(batch)) == {"l1", "loss_g"}


def test_optimisers_use_the_official_settings():
    fw = Framework(resolve("paper", {"width": 8, "res_blocks": 1}))
    g, d = fw.opt_g.param_groups[0], fw.opt_d.param_groups[0]
    assert (g["lr"], d["lr"], g["betas"], d["betas"]) == (1e-4, 1e-5, (0.0, 0.9), (0.0, 0.9))


@pytest.mark.parametrize("name", ["weight", "adv", "det"])
def test_one_hundred_steps_on_a_fixed_batch_lower_the_loss(name, batch):
    fw = _framework(name, lr="1e-3", d_lr="1e-4")
    losses = [fw.step(batch) for _ in range(100)]
    first = sum(x["loss_g"].item() for x in losses[:5]) / 5
    last = sum(x["loss_g"].item() for x in losses[-5:]) / 5
    assert last < 0.7 * first
    if name == "det":  # the detector learns to find the holes
        assert losses[-1]["loss_d"].item() < losses[0]["loss_d"].item()


def test_bf16_autocast_step_runs_on_cpu(batch):
    fw = _framework("det", precision="bf16")
    out = fw.step(batch)
    assert torch.isfinite(out["loss_g"]) and torch.isfinite(out["loss_d"])


@pytest.mark.parametrize("name", ["det", "adv"])
def test_critic_warmup_step_trains_the_critic_alone(name, batch):
    fw = _framework(name)
    g_before = [p.detach().clone() for p in fw.generator.parameters()]
    d_before = [p.detach().clone() for p in fw.critic.parameters()]
    out = fw.step(batch, train_generator=False)
    assert "loss_d" in out
    assert all(torch.equal(a, p) for a, p in zip(g_before, fw.generator.parameters()))
    assert all(p.grad is None for p in fw.generator.parameters())
    assert any(not torch.equal(a, p) for a, p in zip(d_before, fw.critic.parameters()))


def test_weight_framework_ignores_the_warmup_flag(batch):
    fw = _framework("weight")
    before = [p.detach().clone() for p in fw.generator.parameters()]
    fw.step(batch, train_generator=False)
    assert any(not torch.equal(a, p) for a, p in zip(before, fw.generator.parameters()))


def test_critic_corrupt_adds_the_detector_loss_on_white_holes_and_leaves_the_generator_alone(batch):
    from gdn.losses import detector_loss
    from gdn.networks import corrupt

    plain, extra = _framework("det"), _framework("det", critic_corrupt=0.5)
    image, mask = batch["image"], batch["mask"]
    a, b = plain.losses(image, mask), extra.losses(image, mask)
    k = max(1, round(0.5 * len(image)))
    white = detector_loss(plain.critic(corrupt(image[:k], mask[:k])), mask[:k], "focal", 2.0)
    assert torch.allclose(b["loss_d"], a["loss_d"] + 0.5 * white, rtol=1e-6)
    assert torch.equal(b["loss_g"], a["loss_g"])
    with pytest.raises(ValueError, match="critic_corrupt"):
        _framework("det", critic_corrupt=1.5)
