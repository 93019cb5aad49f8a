"""The three training frameworks compared in Sec. 4.3, each one training step:

- ``"weight"``: the generator alone, hole-weighted L1 (6 on holes, 1 elsewhere);
- ``"adv"``: L1 plus the adversarial loss of a discriminator that outputs one scalar per image;
- ``"det"``: the paper (Eq. 8): the detector learns ``detector_loss(Det(I_out), M)``; the generator learns
  ``weighted_l1(I_out, I_gt, weight_map(Det(I_out)))`` with the weight *not* detached.

G and the critic (detector or discriminator) are updated together from one forward pass, as the official
code does, and each network's gradient comes only from its own loss: ``backward(inputs=...)`` routes the
generator's loss to the generator's parameters and the critic's loss to the critic's.

With ``compile=True`` the step takes a second, equivalent route (``single_backward``): the critic's loss sees
G's output detached and G's loss sees the critic through detached parameters, so one backward pass of the sum
gives each network exactly its own gradient. That costs one more critic forward pass, but the forward, the
losses and the backward become one graph that ``torch.compile`` fuses whole, where the two restricted passes
would run the compiled critic's backward twice. ``tests/test_frameworks.py`` checks both routes give the same
losses and gradients.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from gdn.config import Config
from gdn.device import autocast
from gdn.losses import (adversarial_d_loss, adversarial_g_loss, detector_loss, hole_weighted_l1, weight_map,
                        weighted_l1)
from gdn.anchored import build_generator
from gdn.networks import Detector, Discriminator, corrupt

__all__ = ["FRAMEWORKS", "Framework", "build_critic"]

FRAMEWORKS = ("weight", "adv", "det")


def build_critic(framework: str, width: int = 32) -> nn.Module | None:
    """The second network of a framework: Det's detector, Adv's discriminator (both ``width`` wide, 32 = the
    paper's), none for Weight."""
    return {"det": Detector, "adv": Discriminator, "weight": lambda width: None}[framework](width)


def _unwrap(module: nn.Module) -> nn.Module:
    # DistributedDataParallel and torch.compile both wrap the real module; checkpoints hold the real one.
    module = getattr(module, "_orig_mod", module)
    return getattr(module, "module", module)


class Framework(nn.Module):
    """A generator, its critic and their Adam optimisers (Sec. 4.1: lr 1e-4 / 1e-5, betas (0, 0.9))."""

    def __init__(self, cfg: Config, generator: nn.Module | None = None, critic: nn.Module | None = None):
        super().__init__()
        if cfg.framework not in FRAMEWORKS:
            raise ValueError(f"unknown framework {cfg.framework!r}; choose one of {FRAMEWORKS}")
        self.cfg = cfg
        self.generator = generator if generator is not None else build_generator(cfg)
        self.critic = critic if critic is not None else build_critic(cfg.framework, cfg.critic_width)
        # fused: one kernel per step for all parameters (CPU and CUDA), the same update as the default Adam
        betas = (float(cfg.beta1), float(cfg.beta2))
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=betas, fused=True)
        self.opt_d = (torch.optim.Adam(self.critic.parameters(), lr=cfg.d_lr, betas=betas, fused=True)
                      if self.critic is not None else None)
        self._joint_losses = self.losses  # torch.compile'd by ``compile_step``
        self.single_backward = False

    def compile_step(self, mode: str = "default") -> None:
        """Compile the joint step's forward, losses and backward as one graph (``cfg.compile``); from now on
        ``step`` takes the single-backward route. ``mode`` is torch.compile's ("reduce-overhead": CUDA graphs)."""
        self.single_backward = True
        self._joint_losses = torch.compile(self.losses, mode=mode)

    def set_lr_scale(self, scale: float) -> None:
        """Both learning rates times ``scale`` (the step decay of ``cfg.lr_decay_at``; the paper keeps them fixed)."""
        for opt, lr in ((self.opt_g, self.cfg.lr), (self.opt_d, self.cfg.d_lr)):
            for group in (opt.param_groups if opt is not None else []):
                group["lr"] = lr * scale

    def losses(self, image: torch.Tensor, mask: torch.Tensor, *, train_generator: bool = True,
               single_backward: bool = False) -> dict[str, torch.Tensor]:
        """Forward pass and every loss of one step. ``loss_g`` trains G; ``loss_d`` (absent for Weight)
        trains the critic. Other entries are for logging only. ``train_generator=False`` runs G without a
        graph (the critic's warm-up: only ``loss_d`` can be back-propagated). ``single_backward``: the
        same losses arranged so that ``(loss_g + loss_d).backward()`` trains each network on its own loss
        (module docstring); otherwise each loss must be back-propagated to its own network's parameters."""
        cfg = self.cfg
        # image (B,3,H,W) in [0,1]; mask (B,1,H,W), 1 = hole
        with torch.set_grad_enabled(train_generator and torch.is_grad_enabled()):
            pred = self.generator(image, mask)  # (B,3,H,W) raw output I_out; losses use it, not the composite
        out: dict[str, torch.Tensor] = {"pred": pred, "l1": (pred - image).abs().mean().detach()}
        critic_g, pred_d = self.critic, pred  # what G's loss and the critic's loss see
        if single_backward and self.critic is not None:
            inner = _unwrap(self.critic)
            frozen = {name: p.detach() for name, p in inner.named_parameters()}
            critic_g, pred_d = (lambda x: functional_call(inner, frozen, (x,))), pred.detach()
        if cfg.framework == "weight":
            out["loss_g"] = hole_weighted_l1(pred, image, mask, cfg.hole_weight, cfg.valid_weight)
        elif cfg.framework == "det":
            prob = critic_g(pred)  # (B,1,H,W) valuation V; on I_out, never on I_gt (official code)
            prob_d = self.critic(pred_d) if single_backward else prob
            out["loss_d"] = detector_loss(prob_d.float(), mask, cfg.detector_loss, cfg.gamma)
            if cfg.critic_corrupt > 0:  # not in the paper: the detector also learns that white holes are holes
                k = max(1, round(cfg.critic_corrupt * len(image)))
                seen = corrupt(image[:k], mask[:k])  # (k,3,H,W): G's input, holes white (Sec. 3.1)
                extra = detector_loss(self.critic(seen).float(), mask[:k], cfg.detector_loss, cfg.gamma)
                out["loss_d"] = out["loss_d"] + cfg.critic_corrupt * extra
            weight = weight_map(prob.float(), cfg.weight_mapping, cfg.exp_base)  # not detached: Eq. 8
            out["loss_g"] = weighted_l1(pred.float(), image, weight)
            out["prob"] = prob
        else:  # adv: one critic pass over ground truth and prediction; (B,) logits each
            real, fake = self.critic(torch.cat([image, pred_d], dim=0)).float().chunk(2)
            out["loss_d"] = adversarial_d_loss(real, fake)
            out["adv_g"] = adversarial_g_loss(critic_g(pred).float() if single_backward else fake)
            out["loss_g"] = (pred.float() - image).abs().mean() + cfg.adv_weight * out["adv_g"]
        return out

    def step(self, batch: dict[str, torch.Tensor], *, train_generator: bool = True) -> dict[str, torch.Tensor]:
        """One simultaneous update of G and its critic. Returns detached scalar losses (no host sync).

        ``train_generator=False`` updates the critic alone against the current, frozen generator (the
        ``critic_warmup`` steps); the Weight framework has no critic, so it always trains G."""
        image, mask = batch["image"], batch["mask"]
        g_params = [p for p in self.generator.parameters() if p.requires_grad]
        self.opt_g.zero_grad(set_to_none=True)
        if self.opt_d is not None:
            self.opt_d.zero_grad(set_to_none=True)
        critic_only = not train_generator and self.critic is not None
        single = self.single_backward and not critic_only
        with autocast(image.device, self.cfg.precision):
            if single:
                out = self._joint_losses(image, mask, single_backward=self.critic is not None)
            else:
                out = self.losses(image, mask, train_generator=not critic_only)
        if critic_only:
            out["loss_d"].backward(inputs=[p for p in self.critic.parameters() if p.requires_grad])
            self.opt_d.step()
        elif self.critic is None:
            out["loss_g"].backward(inputs=g_params)
        elif single:
            (out["loss_g"] + out["loss_d"]).backward()
            self.opt_d.step()
        else:
            # G's loss reaches G through the critic (Det: the weight map) but must not train the critic,
            # and the critic's loss must not train G: two backward passes over one graph, each restricted.
            out["loss_g"].backward(inputs=g_params, retain_graph=True)
            out["loss_d"].backward(inputs=[p for p in self.critic.parameters() if p.requires_grad])
            self.opt_d.step()
        if not critic_only:
            self.opt_g.step()
        return {k: v.detach() for k, v in out.items() if v.dim() == 0}

    # Checkpoint parts: the real (unwrapped) modules and both optimisers.
    def state(self) -> dict:
        state = {"generator": _unwrap(self.generator).state_dict(), "opt_g": self.opt_g.state_dict()}
        if self.critic is not None:
            state["critic"] = _unwrap(self.critic).state_dict()
            state["opt_d"] = self.opt_d.state_dict()
        return state

    def load_state(self, state: dict) -> None:
        _unwrap(self.generator).load_state_dict(state["generator"])
        self.opt_g.load_state_dict(state["opt_g"])
        if self.critic is not None:
            _unwrap(self.critic).load_state_dict(state["critic"])
            self.opt_d.load_state_dict(state["opt_d"])
