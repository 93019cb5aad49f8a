import pytest

from gdn.config import PROFILES, Config, ConfigError, from_dict, resolve


def test_defaults_are_the_papers_values():
    cfg = Config()
    assert (cfg.size, cfg.batch_size, cfg.lr, cfg.d_lr, cfg.beta1, cfg.beta2) == (256, 8, 1e-4, 1e-5, 0.0, 0.9)
    assert (cfg.gamma, cfg.weight_mapping, cfg.exp_base, cfg.epochs, cfg.width) == (2.0, "exp", 10.0, 100, 64)
    assert (cfg.framework, cfg.detector_loss) == ("det", "focal")
    assert (cfg.critic_corrupt, cfg.critic_thin) == (0.0, 0.0)  # the paper's detector sees G's output on its masks
    assert resolve("paper") == cfg


def test_profiles_and_string_overrides_are_typed():
    cfg = resolve("smoke", {"steps": "7", "exp_base": "2.718", "channels_last": "true", "framework": "adv"})
    assert cfg.steps == 7 and cfg.exp_base == 2.718 and cfg.channels_last is True and cfg.framework == "adv"
    assert cfg.size == PROFILES["smoke"]["size"]


def test_unknown_key_lists_what_is_allowed():
    with pytest.raises(ConfigError, match="unknown config key 'lr_g'.*allowed keys:.*batch_size"):
        resolve("cpu", {"lr_g": "1"})


@pytest.mark.parametrize("key,value,message", [
    ("steps", "ten", "expects int"),
    ("steps", 1.5, "expects int"),
    ("framework", "gan", "must be one of"),
    ("size", "66", "multiple of 4"),
    ("exp_base", "1", "exp_base must be > 1"),
    ("batch_size", "0", "positive"),
    ("critic_thin", "1.5", r"critic_thin must be in \[0, 1\]"),
    ("critic_corrupt", "-0.1", r"critic_corrupt must be in \[0, 1\]"),
])
def test_bad_values_are_errors(key, value, message):
    with pytest.raises(ConfigError, match=message):
        resolve("paper", {key: value})


def test_unknown_profile():
    with pytest.raises(ConfigError, match="smoke"):
        resolve("fast")


def test_round_trip_through_a_dict():
    cfg = resolve("cpu", {"framework": "weight"})
    assert from_dict(cfg.to_dict()) == cfg


def test_a_saved_config_may_carry_a_retired_key_at_the_value_this_version_runs_by():
    saved = resolve("cpu").to_dict() | {"critic_steps": 1}  # as the bundled warm start's config does
    assert from_dict(saved) == resolve("cpu")
    with pytest.raises(ConfigError, match="'critic_steps' is retired"):
        from_dict(saved | {"critic_steps": 3})
