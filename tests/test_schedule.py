"""The training schedule: one pure function of the step and the config (``gdn.engine.schedule``)."""
import pytest

from gdn.config import resolve
from gdn.engine.schedule import schedule, total_steps
from gdn.frameworks import FRAMEWORKS


def _cfg(**over):
    return resolve("smoke", over)


def _generator_steps(cfg, total):
    return [schedule(step, cfg, total)[0] for step in range(total)]


def test_the_critic_trains_alone_for_its_head_start_then_with_the_generator_then_alone_for_its_cooldown():
    cfg = _cfg(framework="det", steps=4, critic_warmup=2, critic_cooldown=3)
    total = total_steps(cfg, batches_per_epoch=100)
    assert total == 2 + 4 + 3
    assert _generator_steps(cfg, total) == [False] * 2 + [True] * 4 + [False] * 3


def test_the_weight_framework_has_no_critic_so_it_ignores_head_start_and_cooldown():
    cfg = _cfg(framework="weight", steps=4, critic_warmup=2, critic_cooldown=3)
    total = total_steps(cfg, batches_per_epoch=100)
    assert total == 4 and _generator_steps(cfg, total) == [True] * 4


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_framework_gets_as_many_generator_steps(framework):
    cfg = _cfg(framework=framework, steps=5, critic_warmup=1, critic_cooldown=2)
    assert sum(_generator_steps(cfg, total_steps(cfg, batches_per_epoch=100))) == 5


def test_without_a_step_count_the_generator_trains_for_whole_epochs():
    cfg = _cfg(framework="adv", steps=0, epochs=3, critic_cooldown=5)
    assert total_steps(cfg, batches_per_epoch=7) == 3 * 7 + 5


def test_both_learning_rates_drop_tenfold_from_lr_decay_at_on():
    cfg = _cfg(framework="det", steps=10, lr_decay_at=6)
    assert [schedule(step, cfg, 10)[1] for step in range(10)] == [1.0] * 6 + [0.1] * 4


def test_without_lr_decay_at_the_learning_rates_stay_constant():
    cfg = _cfg(framework="det", steps=10, lr_decay_at=0)
    assert {schedule(step, cfg, 10)[1] for step in range(10)} == {1.0}


def test_the_cpu_profile_trains_both_from_the_first_step_then_the_critic_alone_decaying_in_its_cooldown():
    cfg = resolve("cpu")
    total = total_steps(cfg, batches_per_epoch=1)
    assert total == cfg.steps + cfg.critic_cooldown
    assert schedule(0, cfg, total) == (True, 1.0)
    assert schedule(cfg.steps - 1, cfg, total) == (True, 1.0)
    assert schedule(cfg.steps, cfg, total) == (False, 1.0)
    assert schedule(cfg.lr_decay_at, cfg, total) == (False, 0.1)
    assert schedule(total - 1, cfg, total) == (False, 0.1)

