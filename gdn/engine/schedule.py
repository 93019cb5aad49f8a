"""The training schedule: which networks a step trains and at which learning rates, from the step alone.

    | critic_warmup steps: critic alone | generator steps: both train | critic_cooldown steps: critic alone |
    learning rates x 1 before step lr_decay_at, x 0.1 from it on (lr_decay_at = 0: constant)

One pure function of the step and the config, as nanoGPT's ``get_lr``: a resumed run follows the same schedule,
and the schedule is tested without training (``tests/test_schedule.py``). The paper has none of it: with its
config (no head start, no cool-down, no decay) both networks train at fixed rates from the first step to the
last. The Weight framework has no critic, so it has only generator steps.
"""
from __future__ import annotations

from gdn.config import Config

__all__ = ["LR_DECAY", "schedule", "total_steps"]

LR_DECAY = 0.1  # both learning rates' factor from step ``lr_decay_at`` on


def total_steps(cfg: Config, batches_per_epoch: int) -> int:
    """Every step of a run: the ``critic_warmup`` critic-only steps (frameworks with a critic), the generator
    steps (``steps``, or ``epochs`` of the data), then ``critic_cooldown`` critic-only steps; so every
    framework gets as many generator steps."""
    generator_steps = cfg.steps if cfg.steps > 0 else cfg.epochs * batches_per_epoch
    return generator_steps + (cfg.critic_warmup + cfg.critic_cooldown if cfg.framework != "weight" else 0)


def schedule(step: int, cfg: Config, total: int) -> tuple[bool, float]:
    """``(train_generator, lr_scale)`` for step ``step`` (0-based) of a run of ``total`` steps
    (:func:`total_steps`): whether the generator trains at this step (else the critic trains alone), and the
    factor on both learning rates."""
    train_generator = cfg.framework == "weight" or cfg.critic_warmup <= step < total - cfg.critic_cooldown
    lr_scale = LR_DECAY if cfg.lr_decay_at and step >= cfg.lr_decay_at else 1.0
    return train_generator, lr_scale
