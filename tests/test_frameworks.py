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


def _grads(fw):
    return [p.grad.clone() for p in fw.parameters() if p.grad is not None]


def _assert_close(a, b, rtol=1e-5):
    # relative difference ||x - y|| / ||y|| per tensor: fp32 reassociation stays far below it, a different
    # gradient (a cross term, a missing one) far above
    assert len(a) == len(b)
    for x, y in zip(a, b):
        rel = ((x - y).norm() / y.norm().clamp_min(1e-30)).item()
        assert rel <= rtol, (tuple(y.shape), rel)


@pytest.mark.parametrize("name,over", [("det", {}), ("det", {"critic_corrupt": 0.5, "detector_loss": "ce"}),
                                       ("adv", {}), ("weight", {})])
def test_single_backward_route_gives_the_same_losses_and_gradients(name, over, batch):
    # The optimised step (compile=True) trains through one backward pass of loss_g + loss_d; the plain one
    # through two restricted passes. Over three steps both must give the same losses, gradients and weights.
    plain, fast = _framework(name, **over), _framework(name, **over)
    fast.single_backward = True  # the route compile_step takes, without paying for a compile here
    for _ in range(3):
        a, b = plain.step(batch), fast.step(batch)
        assert a.keys() == b.keys()
        for key in a:
            assert torch.allclose(a[key], b[key], rtol=1e-5, atol=0), key
        _assert_close(_grads(fast), _grads(plain))
    _assert_close(list(fast.parameters()), list(plain.parameters()))


def test_fused_adam_updates_as_the_default_adam(batch):
    fused, default = _framework("det"), _framework("det")
    assert fused.opt_g.param_groups[0]["fused"] and fused.opt_d.param_groups[0]["fused"]
    cfg = default.cfg
    for opt, net, lr in (("opt_g", default.generator, cfg.lr), ("opt_d", default.critic, cfg.d_lr)):
        setattr(default, opt, torch.optim.Adam(net.parameters(), lr=lr, betas=(cfg.beta1, cfg.beta2)))
    start = [p.detach().clone() for p in default.parameters()]
    for _ in range(3):
        fused.step(batch), default.step(batch)
    # the same update up to fp32 rounding of its formula: a few units in the last place of each weight
    ulp = torch.finfo(torch.float32).eps
    for a, b, s in zip(fused.parameters(), default.parameters(), start):
        assert torch.allclose(a, b, rtol=4 * ulp, atol=1e-4 * (b - s).abs().max().item())


def _flat_grad(net):
    return torch.cat([p.grad.flatten() for p in net.parameters()])


@pytest.mark.parametrize("norm", ["instance", "none"])
def test_compiled_step_matches_the_plain_step(norm, batch):
    # torch.compile reassociates sums (instance norm, the bias gradients that sum over every pixel), so it is
    # compared per network: the relative difference of each network's whole gradient, and of the losses.
    # One step from the same weights: Adam's first update is about lr x sign(gradient), so later steps would
    # compare weights that differ wherever a near-zero gradient's rounding flipped its sign.
    plain, compiled = _framework("det", norm=norm), _framework("det", norm=norm)
    compiled.compile_step()
    a, b = plain.step(batch), compiled.step(batch)
    for key in a:
        assert torch.allclose(a[key], b[key], rtol=1e-5, atol=0), key
    for net in ("generator", "critic"):
        _assert_close([_flat_grad(getattr(compiled, net))], [_flat_grad(getattr(plain, net))])


@pytest.mark.parametrize("name", ["weight", "adv", "det"])
def test_pixels_without_truth_answer_to_no_loss(name, batch):
    """Per-photo learning: where ``known`` is 0 (the photo's own hole) G's output gets no gradient from any loss,
    the critic's path included (G could otherwise paint there whatever fools the critic), and the truth there
    is never read."""
    cfg = resolve("smoke", {"framework": name, "width": "8", "res_blocks": "1"})
    fw = Framework(cfg)
    known = torch.ones_like(batch["mask"])
    known[:, :, :12] = 0  # the top rows: no truth
    out = fw.losses(batch["image"], batch["mask"], known=known)
    (grad,) = torch.autograd.grad(out["loss_g"], out["pred"])
    assert grad[:, :, :12].abs().max() == 0 and grad[:, :, 12:].abs().max() > 0
    noisy = batch["image"].clone()
    noisy[:, :, :12] = torch.rand_like(noisy[:, :, :12])  # other "truth" where none is known
    again = fw.losses(noisy, torch.maximum(batch["mask"], 1 - known), known=known)
    first = fw.losses(batch["image"], torch.maximum(batch["mask"], 1 - known), known=known)
    assert torch.allclose(again["loss_g"], first["loss_g"])
