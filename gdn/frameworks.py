"""The three training frameworks compared in Sec. 4.3, each one training step:

- ``"weight"``: the generator alone, hole-weighted L1 (6 on holes, 1 elsewhere);
- ``"adv"``: L1 plus the adversarial loss of a discriminator that outputs one scalar per image;
- ``"det"``: the paper (Eq. 8): the detector learns ``detector_loss(Det(I_out), M)``; the generator learns
  ``weighted_l1(I_out, I_gt, weight_map(Det(I_out)))`` with the weight *not* detached.

G and the critic (detector or discriminator) are updated together from one forward pass, as the official
code does, and each network's gradient comes only from its own loss: ``backward(inputs=...)`` routes the
generator's loss to the generator's parameters and the critic's loss to the critic's.

With ``compile=True`` the step takes a second, equivalent route (``single_backward``, ``Framework._judge``):
the critic's loss sees G's output detached and G's loss sees the critic through detached parameters, so one
backward pass of the sum gives each network exactly its own gradient. That costs one more critic forward pass,
but the forward, the losses and the backward become one graph that ``torch.compile`` fuses whole, where the two
restricted passes would run the compiled critic's backward twice. ``tests/test_frameworks.py`` checks both
routes give the same losses and gradients.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

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
    """A generator, its critic and their Adam optimisers (Sec. 4.1: lr 1e-4 / 1e-5, betas (0, 0.9)), for the
    settings of ``cfg`` (a ``gdn.config.Config``; not imported here: the config takes this module's choices)."""

    def __init__(self, cfg, generator: nn.Module | None = None, critic: nn.Module | None = None):
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

    def losses(self, image: torch.Tensor, mask: torch.Tensor, *, known: torch.Tensor | None = None,
               train_generator: bool = True, single_backward: bool = False) -> dict[str, torch.Tensor]:
        """The forward pass and every loss of one step: ``loss_g`` trains G, ``loss_d`` (not for Weight) the
        critic, the rest is logged. For Det the two losses are the two sides of Eq. 8's min-max.
        ``known`` (B,1,H,W), 1 = G's output at that pixel answers to the losses (default: every pixel; per-photo
        learning, :mod:`gdn.engine.adapt`, has a photo whose own hole has no truth): the reconstruction terms
        count those pixels only, the critic's gradient reaches G through those pixels only (elsewhere G could
        fool the critic with whatever it paints where no loss looks), and the Adv discriminator's real image
        is G's output, detached, off them. The detector's labels are the mask, known everywhere.
        ``train_generator=False`` runs G without a graph (critic-only steps: only ``loss_d`` can be
        back-propagated). ``single_backward``: the route of ``compile_step`` (:meth:`_judge`)."""
        cfg = self.cfg
        # image (B,3,H,W) in [0,1]; mask (B,1,H,W), 1 = hole; known (B,1,H,W) or None, 1 = truth known
        with torch.set_grad_enabled(train_generator and torch.is_grad_enabled()):
            pred = self.generator(image, mask)  # (B,3,H,W) raw output I_out; losses use it, not the composite
        seen = 1.0 if known is None else known  # what the reconstruction terms may count
        # what the critic judges: G's output, its gradient reaching G only where the output answers to a loss
        judged = pred if known is None else torch.where(known > 0, pred, pred.detach())
        out: dict[str, torch.Tensor] = {"pred": pred, "l1": ((pred - image).abs() * seen).mean().detach()}
        if cfg.framework == "weight":  # Sec. 4.3: L1 weighted 6 on the holes, 1 elsewhere (as PConv)
            out["loss_g"] = hole_weighted_l1(pred, image, mask, cfg.hole_weight, cfg.valid_weight, known)
        elif cfg.framework == "det":  # Eq. 8: D minimises its detector loss, G the L1 weighted by D's map
            prob, prob_d = self._judge(judged, single_backward)  # (B,1,H,W) valuation V of I_out, never of I_gt
            out["loss_d"] = detector_loss(prob_d.float(), mask, cfg.detector_loss, cfg.gamma)  # Eq. 4, 5 or 6
            if cfg.critic_corrupt > 0:
                out["loss_d"] = out["loss_d"] + self._white_hole_loss(image, mask)
            weight = weight_map(prob.float(), cfg.weight_mapping, cfg.exp_base)  # Sec. 3.4.3; not detached
            out["loss_g"] = weighted_l1(pred.float(), image, weight * seen)  # Eq. 7
            out["prob"] = prob
        else:  # adv, Sec. 4.3: L1 plus the non-saturating GAN loss; one critic pass over I_gt and I_out
            real = image if known is None else torch.where(known > 0, image, pred.detach())
            fake_g, logits = self._judge(judged, single_backward, real=real)  # (B,) and (2B,) logits
            real_logits, fake = logits.float().chunk(2)
            out["loss_d"] = adversarial_d_loss(real_logits, fake)  # Eq. 2
            out["adv_g"] = adversarial_g_loss(fake_g.float())  # Eq. 3
            out["loss_g"] = ((pred.float() - image).abs() * seen).mean() + cfg.adv_weight * out["adv_g"]
        return out

    def _judge(self, pred: torch.Tensor, single_backward: bool,
               real: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The critic on G's output ``pred``: (what G's loss sees, what the critic's loss sees; with ``real``, the
        Adv discriminator's, that sees ``real`` then ``pred`` in one pass). Why two: on the single-backward route
        G's loss sees the critic through detached parameters and the critic's loss sees ``pred`` detached, so
        one backward pass of their sum gives each network its own gradient (module docstring); on the plain
        route one pass serves both and ``step`` routes each loss to its own network."""
        seen = pred.detach() if single_backward else pred
        for_d = self.critic(seen if real is None else torch.cat([real, seen], dim=0))
        if not single_backward:
            return (for_d if real is None else for_d.chunk(2)[1]), for_d
        inner = _unwrap(self.critic)
        frozen = {name: p.detach() for name, p in inner.named_parameters()}
        return functional_call(inner, frozen, (pred,)), for_d

    def _white_hole_loss(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Not in the paper (``critic_corrupt``): the detector loss on the corrupted input (holes white, Sec. 3.1)
        of the batch's first ``critic_corrupt`` share, times that share. Why: a detector that only ever sees G's
        output has never met a white hole and scores the masked input at chance (Training chapter)."""
        cfg = self.cfg
        k = max(1, round(cfg.critic_corrupt * len(image)))
        seen = corrupt(image[:k], mask[:k])  # (k,3,H,W): G's input, holes white (Sec. 3.1)
        return cfg.critic_corrupt * detector_loss(self.critic(seen).float(), mask[:k], cfg.detector_loss, cfg.gamma)

    def step(self, batch: dict[str, torch.Tensor], *, train_generator: bool = True) -> dict[str, torch.Tensor]:
        """One simultaneous update of G and its critic. Returns detached scalar losses (no host sync).

        ``train_generator=False`` updates the critic alone against the current, frozen generator (the
        ``critic_warmup`` steps); the Weight framework has no critic, so it always trains G."""
        image, mask, known = batch["image"], batch["mask"], batch.get("known")
        g_params = [p for p in self.generator.parameters() if p.requires_grad]
        self.opt_g.zero_grad(set_to_none=True)
        if self.opt_d is not None:
            self.opt_d.zero_grad(set_to_none=True)
        critic_only = not train_generator and self.critic is not None
        single = self.single_backward and not critic_only
        with autocast(image.device, self.cfg.precision):
            if single:
                out = self._joint_losses(image, mask, known=known, single_backward=self.critic is not None)
            else:
                out = self.losses(image, mask, known=known, train_generator=not critic_only)
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

    def restart_critic(self, state: dict[str, torch.Tensor]) -> None:
        """Load another detector's weights ``state`` into the critic and forget its optimiser's moments, which
        belonged to the one it replaces (``cfg.cooldown_init``, :func:`gdn.engine.train.cooldown_critic`)."""
        _unwrap(self.critic).load_state_dict(state)
        self.opt_d.state.clear()

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
