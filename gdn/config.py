"""One flat training configuration. The defaults are the paper's values (Sec. 4.1) and the official code's
(``shared/reference/official_gdn.md``); profiles override a few of them for small machines.

    cfg = resolve("cpu", {"framework": "weight", "steps": "200"})

Unknown keys and values of the wrong type are errors that list what is allowed. The resolved config is
saved beside every run and inside every checkpoint.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["Config", "PROFILES", "CHOICES", "choices", "resolve", "ConfigError"]


class ConfigError(ValueError):
    pass


@dataclass
class Config:
    # -- method (Sec. 3.4 and 4.3) --
    framework: str = "det"  # "det" (the paper), "weight" (hole-weighted L1) or "adv" (L1 + scalar GAN)
    detector_loss: str = "focal"  # "ce" (Eq. 4), "bce" (Eq. 5) or "focal" (Eq. 6)
    gamma: float = 2.0  # focal loss focusing parameter (Sec. 4.1)
    weight_mapping: str = "exp"  # "linear" (W = 1 + V) or "exp" (W = base ** V), Sec. 3.4.3
    exp_base: float = 10.0  # base of the exponential mapping (Sec. 4.1)
    hole_weight: float = 6.0  # Weight framework: L1 weight on holes (Sec. 4.3, as PConv)
    valid_weight: float = 1.0  # Weight framework: L1 weight on valid pixels
    adv_weight: float = 0.1  # Adv framework: weight of the adversarial term against L1 weight 1 (EdgeConnect's example)
    # -- start and schedule of the min-max game (not in the paper; the cpu profile needs them, see PROFILES) --
    init: str = ""  # checkpoint whose generator starts this run ("" = random init, as the paper); "gdn:NAME" = bundled
    critic_warmup: int = 0  # critic-only steps before the generator's `steps` (a head start for the detector)
    critic_cooldown: int = 0  # critic-only steps after the generator's last step (the map then answers the final G)
    cooldown_init: str = ""  # Det: checkpoint whose detector the cool-down starts from ("": the one trained alongside
    #                          the generator); "gdn:NAME" = bundled. The generator never meets it
    critic_corrupt: float = 0.0  # Det: weight of an extra detector loss on the corrupted input (white holes) of
    #                              that share of each batch; 0 = the paper (the detector sees only G's output)
    critic_thin: float = 0.0  # share of the critic-only steps' samples whose mask also gets thin scratches
    #                           (1-4 px, gdn.mask_strokes.scratch_masks); 0 = the paper (the training masks only)
    # -- networks (Sec. 3.3) --
    width: int = 64  # generator channels of the first layer; 64 is the paper's network (10,779,328 parameters)
    res_blocks: int = 8  # residual blocks in the generator
    norm: str = "instance"  # generator normalisation: "instance" (the paper) or "none" (cpu profile, see networks)
    colour_anchor: str = "none"  # generator output relative to a training-free fill: "none" (the paper) or
    #                              "residual" (gdn.anchored, around a harmonic fill) or "spline" (around
    #                              a thin-plate spline under tension: the cpu profiles' deviation)
    critic_width: int = 32  # channels of the detector's (and Adv discriminator's) first layer; 32 is the paper's
    # -- optimisation (Sec. 4.1, official config.yml) --
    size: int = 256  # training resolution, images and masks resized to size x size
    batch_size: int = 8
    lr: float = 1e-4  # generator Adam learning rate
    d_lr: float = 1e-5  # detector/discriminator learning rate (official LR x D2G_LR = 0.1)
    lr_decay_at: int = 0  # step from which both learning rates are 10x lower (0: constant, as the paper)
    beta1: float = 0.0
    beta2: float = 0.9
    epochs: int = 100  # used when steps == 0
    steps: int = 0  # total generator steps; 0 means epochs x (dataset size // batch_size)
    seed: int = 10  # the official seed
    # -- data --
    train_data: str = "builtin"  # "builtin" (scikit-image photos) or a folder / file list of images
    val_data: str = "builtin"  # validation images (in-training checks): "builtin" (scikit-learn's photos) or a folder
    test_data: str = "builtin"  # read only by the final evaluation (the book's tables), never by training
    train_masks: str = "random"  # "random" (free-form irregular masks), a folder / file list of mask images, or
    #                              "qdimd:DIR": QuickDraw drawings (QD-IMD) rotated, dilated and cropped on the fly
    test_masks: str = "generated"  # "generated" (gdn.masks.mask_bank, per_bin per ratio bin) or the folder of Liu
    #                                et al.'s 12k test masks: every test image in every bin (Sec. 4.1, Table 1)
    test_mask_border: str = "both"  # Liu et al.'s masks: "both" halves of each bin, or only "with" or "without"
    #                                 the border constraint
    invert_masks: bool = False  # mask files use black = hole
    augment: str = "none"  # "none" (the paper) or "colour": random channel order, hue and saturation (data.colour_jitter)
    builtin_train: int = 2048  # random crops drawn from the built-in training photos per epoch
    builtin_test: int = 64  # crops of the built-in test photos
    num_workers: int = -1  # loader processes; -1: one per usable CPU core but one (GPU training needs many)
    # -- engine --
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", ...
    precision: str = "fp32"  # "fp32" or "bf16" (autocast)
    channels_last: bool = False
    compile: bool = False  # torch.compile the joint step (forward, losses, backward) as one graph; same maths
    compile_mode: str = "default"  # torch.compile mode: "default", "reduce-overhead" (CUDA graphs), "max-autotune"
    deterministic: bool = False  # torch.use_deterministic_algorithms (needed for bit-exact resume on GPU)
    cudnn_benchmark: bool = False  # CUDA: cuDNN times its algorithms for each convolution shape on the first
    #                                steps and keeps the fastest (training shapes are static); off: its heuristics
    log_every: int = 50  # steps between CSV log rows
    sample_every: int = 500  # steps between sample grids
    save_every: int = 1000  # steps between refreshes of DIR/last.pt (also written at the end and on Ctrl-C)
    keep_every: int = 7500  # steps between kept checkpoints DIR/step_XXXXXXX.pt (official SAVE_INTERVAL)
    eval_every: int = 0  # steps between validation PSNR rows (0: only at the end)
    eval_per_bin: int = 4  # masks per ratio bin in the validation mask bank

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


MASK_BORDERS = ("both", "with", "without")  # which of Liu et al.'s test masks (gdn.mask_sets.paired_test_masks)
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")  # torch.compile's


def choices() -> dict[str, tuple[str, ...]]:
    """The allowed values of each string option, each from the module that owns the option. Imported here, not
    at the top: config.py itself stays free of torch, and none of those modules imports it."""
    from gdn.anchored import ANCHORS
    from gdn.data import AUGMENTS
    from gdn.device import TRAINING_PRECISIONS
    from gdn.frameworks import FRAMEWORKS
    from gdn.losses import DETECTOR_LOSSES, WEIGHT_MAPPINGS
    from gdn.networks import NORMS

    return {"framework": FRAMEWORKS, "detector_loss": DETECTOR_LOSSES, "weight_mapping": WEIGHT_MAPPINGS,
            "precision": TRAINING_PRECISIONS, "augment": AUGMENTS, "norm": NORMS, "colour_anchor": ANCHORS,
            "compile_mode": COMPILE_MODES, "test_mask_border": MASK_BORDERS}


def __getattr__(name: str) -> Any:
    # CHOICES (option -> allowed values) is built on first use, by choices()
    if name == "CHOICES":
        return choices()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

# Why a profile sets a key away from the paper's value: the one place the book's deviation tables read
# (gdn.book.tables.config_rows). Keys in ENGINE change speed, logging or files, never the method.
WHY: dict[str, str] = {
    "framework": "Sec. 4.3's comparison trains all three frameworks",
    "detector_loss": "Table 2's ablation of the detector loss",
    "gamma": "the focal loss's focusing parameter",
    "weight_mapping": "Fig. 3's study of the weight mapping",
    "exp_base": "Fig. 3's study of the exponential base",
    "hole_weight": "the Weight framework's L1 weight on holes (the paper's 6, as PConv; the warm start uses it too)",
    "valid_weight": "the Weight framework's L1 weight on valid pixels",
    "adv_weight": "the Adv framework's adversarial weight (the paper gives none; the default is EdgeConnect's example "
                  "0.1); the study uses EdgeConnect's default 0.01, chosen on the validation photos, where 0.1 "
                  "spread its Adv seeds by half a dB",
    "init": "a shared warm start: many fast steps of one small network, and paired comparisons",
    "cooldown_init": "the maps come from a detector trained alone for thousands of steps against the warm-start "
                     "generator, then re-fitted to the final one in the cool-down: the book's budget cannot give "
                     "each Det run those steps; its maps find the holes better at every stroke width (Fig. 9). The "
                     "generator trains against the detector trained alongside it, as before (a trained detector "
                     "from the first step cost Det's generator 0.3 dB)",
    "critic_warmup": "critic-only steps before the joint phase (a head start for the critic)",
    "critic_cooldown": "critic-only steps after the generator's last: the maps answer the final generator",
    "critic_corrupt": "the detector also learns that white holes are holes; it changes the map V that weights "
                      "the generator's loss, so the generator's training too",
    "critic_thin": "the free-form masks never draw a stroke under 7 px, and the detector read white scratches as "
                   "valid pixels (AUROC 0.28-0.33 at 1-2 px); thin scratches added to a quarter of the cool-down's "
                   "masks teach it them, at no cost on any other width or mask; the generator has finished "
                   "training by then, so only the maps change (Fig. 9)",
    "width": "a 4x narrower generator fits two CPU cores",
    "res_blocks": "4 residual blocks instead of 8: the CPU budget",
    "norm": "an instance norm removes the photo's colour level, which short trainings do not learn to recover",
    "colour_anchor": "the network learns detail around a training-free fill and cannot learn a colour prior",
    "critic_width": "a 2x narrower critic (4x fewer FLOPs) fits the CPU budget",
    "size": "64 px crops: the CPU budget",
    "batch_size": "the batch of the paper's official code is 8",
    "lr": "the cpu fine-tunes move the generator slowly (the min-max costs PSNR the faster it moves); the warm "
          "start and the study, from scratch, learn at twice the paper's rate to fit the CPU budget",
    "d_lr": "a critic 30x faster than the generator keeps up with it in a few hundred steps",
    "lr_decay_at": "a tenth of the learning rates at the end settles the weights",
    "beta1": "Adam's usual betas learn faster in short runs than the paper's (0, 0.9)",
    "beta2": "Adam's usual betas learn faster in short runs than the paper's (0, 0.9)",
    "epochs": "the run's length",
    "steps": "the run's length: what the CPU budget allows",
    "seed": "the seed of initialisation and data order",
    "train_data": "the data: built-in photos, nothing can be downloaded",
    "val_data": "the validation photos",
    "test_data": "the test photos",
    "train_masks": "the training masks",
    "test_masks": "the test masks",
    "test_mask_border": "which of Liu et al.'s test masks",
    "invert_masks": "the polarity of mask files",
    "augment": "colour-symmetric augmentation: a small training set's palette and skew do not become a prior",
    "builtin_train": "how many random crops of the built-in training photos make an epoch",
    "builtin_test": "how many crops of the built-in validation and test photos are drawn",
}
ENGINE = frozenset({"num_workers", "device", "precision", "channels_last", "compile", "compile_mode",
                    "deterministic", "cudnn_benchmark", "log_every", "sample_every", "save_every", "keep_every",
                    "eval_every", "eval_per_bin"})

# Profiles: small presets for small machines. "paper" is the defaults (GPU, real data).
PROFILES: dict[str, dict[str, Any]] = {
    # CI: seconds. A tiny network on 64 px crops; exercises every code path, learns little.
    "smoke": dict(size=64, width=16, res_blocks=2, batch_size=4, steps=20, builtin_train=32, builtin_test=8,
                  num_workers=0, log_every=5, sample_every=10, save_every=10, keep_every=10, eval_per_bin=1),
    # The shared starting point of the cpu profile's runs (`make warmstart`, shipped as gdn/weights/cpu-warmstart.pt):
    # the cpu generator trained with a hole-weighted L1 (the Weight framework's loss at the paper's weights, 6 on the
    # holes and 1 elsewhere, without a critic) for 5,000 steps, the last 500 at a tenth of the lr. The generator
    # learns detail around a training-free fill (colour_anchor="spline": gdn.anchored around a thin-plate spline
    # under tension, +0.4 dB over the harmonic fill on the validation photos) on a colour-free input and sees the
    # training photos with random hue, channel order, saturation and inversion (augment="colour"), so it cannot
    # learn the training photos' palette; Adam with the usual betas. Chosen on the validation photos (Training
    # chapter): longer or faster training made its fills darker there, not better; a plain L1 (weight 1 on the
    # holes too) left its fills 0.03 dB below the spline fill there, the hole weight 6 brings them level, and 5,000
    # steps a little above (record of 6 December 2026).
    "warmstart": dict(size=64, width=16, res_blocks=4, norm="none", colour_anchor="spline", augment="colour",
                      framework="weight", hole_weight=6.0, lr=2e-4, lr_decay_at=4500, beta1=0.9, beta2=0.999,
                      batch_size=8, steps=5000, builtin_train=160000, builtin_test=48, num_workers=0, log_every=250,
                      eval_every=250, sample_every=2500, save_every=500, keep_every=1000, eval_per_bin=8),
    # The shared starting point of the cpu profile's Det detectors (`make warmstart`, shipped in
    # gdn/weights/cpu-warmstart.pt beside the generator; cooldown_init): the cpu profile's detector trained alone
    # against the warm-start generator for 8,000 steps, the last 350 at a tenth of its lr, with white holes
    # (critic_corrupt) as in the cpu profile and thin scratches added to half its samples (critic_thin; the
    # cool-down's quarter found Det's 2-4 px fills 0.01 less often on the validation photos). A run needs one
    # generator step: it is the first, at learning rate 0, so the generator is the warm start's, bit for bit. Why:
    # the detector's maps kept improving for thousands of critic steps (free-form masks' AUROC 0.83 after the book's
    # 700, 0.91 after 4,000, 0.92 after 8,000, where white 2-4 px scratches went from 0.93-0.96 to 0.95-0.97; records
    # of 7 and 8 December 2026), which the book's budget cannot give each of its five Det runs. The cpu runs'
    # cool-downs start from it, so their generators train as before (the same bits) and only their maps change.
    "warmstart_detector": dict(size=64, width=16, res_blocks=4, norm="none", colour_anchor="spline", augment="colour",
                               framework="det", init="gdn:cpu-warmstart", batch_size=8, steps=1, lr=0.0,
                               critic_cooldown=8000, critic_width=16, critic_corrupt=0.25, critic_thin=0.5,
                               d_lr=3e-4, lr_decay_at=7651, beta1=0.5, beta2=0.999, builtin_train=160000,
                               builtin_test=48, num_workers=0, log_every=100, eval_every=500, sample_every=1000,
                               save_every=500, keep_every=1000, eval_per_bin=8),
    # The default of `make book` on 2 CPU cores: every run fine-tunes the warm start (paired comparisons) for 300
    # generator steps, the critic training with it from the first step (as in the paper), then the critic alone
    # (critic_cooldown, 700 steps, the last 350 at a tenth of its learning rate: lr_decay_at). Deviations from the
    # paper, each measured in the Training chapter: a 4x narrower generator with 4 blocks, no instance norm, the
    # residual generator around a spline fill with colour-symmetric augmentation, a 2x narrower critic, the
    # warm start, the critic's cool-down, its learning rate (30x the generator's; the paper's is 0.1x), and the
    # detector's warm start for the cool-down (cooldown_init: the maps' detector, not the one G trains against), the
    # detector also shown white holes (critic_corrupt) and, in its cool-down, thin scratches (critic_thin; record
    # of 7 December 2026: the masked input's 1-4 px scratches from AUROC 0.28-0.70 to 0.60-0.85, no width or
    # free-form mask worse by more than 0.01, the generator unchanged). The generator's lr, 1e-5, was chosen on the
    # validation photos (Training chapter, record of 6 December 2026) with the 3,000-step warm start, a small step:
    # at 2e-5 the Det model's margin over its anchor at 64 px was 0.004 dB lower and its interval reached -0.05 dB.
    # Data loads in the training process (num_workers=0): `gdn book` runs the trainings side by side, one per core,
    # and a loader process each would put twice as many busy processes as cores.
    "cpu": dict(size=64, width=16, res_blocks=4, norm="none", colour_anchor="spline", augment="colour",
                init="gdn:cpu-warmstart", batch_size=8, steps=300, critic_warmup=0, critic_cooldown=700,
                cooldown_init="gdn:cpu-warmstart", critic_width=16, critic_corrupt=0.25, critic_thin=0.25, lr=1e-5,
                d_lr=3e-4, lr_decay_at=650, beta1=0.5, beta2=0.999, builtin_train=160000, builtin_test=48, num_workers=0, log_every=25,
                eval_every=100, sample_every=400, save_every=400, keep_every=800, eval_per_bin=8),
    # `make book PROFILE=study`: the frameworks, detector losses and weight mappings where each one's loss shapes the
    # generator. The cpu profile's networks and critic settings (without its cool-down's thin scratches, which came
    # after the study's record), but every run starts from scratch (the residual generator's zero last layer: it starts
    # as its spline anchor, with random weights of its seed) and trains 800 generator steps at the warm start's learning
    # rate, the last 100 and a 100-step critic cool-down at a tenth of it; every run is trained with 3 seeds, Det,
    # Weight and Adv with 5 (gdn.book.plan.EVAL_SIZES). Adv's adversarial weight is EdgeConnect's default 0.01, not its
    # example's 0.1: of the two published values, the one with the higher validation PSNR over the 5 Adv seeds (Training
    # chapter's record).
    # The Training chapter has its time on 2 cores.
    "study": dict(size=64, width=16, res_blocks=4, norm="none", colour_anchor="spline", augment="colour",
                  batch_size=8, steps=800, critic_warmup=0, critic_cooldown=100, critic_width=16, critic_corrupt=0.25,
                  lr=2e-4, d_lr=3e-4, lr_decay_at=700, beta1=0.5, beta2=0.999, adv_weight=0.01, builtin_train=160000,
                  builtin_test=48, num_workers=0, log_every=25, eval_every=100, sample_every=400, save_every=100,
                  keep_every=800, eval_per_bin=8),
    "paper": dict(),
}


_TYPES = typing.get_type_hints(Config)


def _coerce(name: str, value: Any, typ: type) -> Any:
    if isinstance(value, str) and typ is not str:
        text = value.strip()
        try:
            if typ is bool:
                if text.lower() in ("1", "true", "yes", "on"):
                    return True
                if text.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            return typ(text)
        except ValueError:
            raise ConfigError(f"config key {name!r} expects {typ.__name__}, got {value!r}") from None
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise ConfigError(f"config key {name!r} expects {typ.__name__}, got {value!r} ({type(value).__name__})")
    return value


def resolve(profile: str = "paper", overrides: dict[str, Any] | None = None) -> Config:
    """The paper's defaults, then the profile, then ``overrides`` (strings are parsed to the field's type)."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    types = {f.name: _TYPES[f.name] for f in fields(Config)}
    values: dict[str, Any] = {}
    for source in (PROFILES[profile], overrides or {}):
        for key, value in source.items():
            if key not in types:
                raise ConfigError(f"unknown config key {key!r}; allowed keys: {', '.join(types)}")
            values[key] = _coerce(key, value, types[key])
    cfg = Config(**values)
    validate(cfg)
    return cfg


def parse_overrides(pairs) -> dict[str, str]:
    """``["key=value", ...]`` from a command line -> ``{"key": "value"}`` (dashes in keys become underscores)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"expected key=value (a config key), got {pair!r}")
        out[key.strip().replace("-", "_")] = value
    return out


# Keys that earlier versions saved, each with the value that made its run what this version runs without it
# (the bundled warm start's config has critic_steps=1): a saved config may carry them at that value.
RETIRED = {"critic_steps": 1}


def from_dict(data: dict[str, Any]) -> Config:
    """Rebuild a Config saved with a run or checkpoint; keys this version does not know are errors (a
    ``RETIRED`` key is dropped where it has the value this version runs by)."""
    data = dict(data)
    for key, same in RETIRED.items():
        if key in data and data.pop(key) != same:
            raise ConfigError(f"config key {key!r} is retired; this version only runs what {key}={same!r} ran")
    return resolve("paper", data)


def validate(cfg: Config) -> None:
    for key, allowed in choices().items():
        if getattr(cfg, key) not in allowed:
            raise ConfigError(f"config key {key!r} must be one of {allowed}, got {getattr(cfg, key)!r}")
    if cfg.size % 4:
        raise ConfigError(f"size must be a multiple of 4 (two stride-2 stages), got {cfg.size}")
    for key in ("critic_corrupt", "critic_thin"):
        if not 0 <= getattr(cfg, key) <= 1:
            raise ConfigError(f"{key} must be in [0, 1], got {getattr(cfg, key)}")
    if cfg.weight_mapping == "exp" and not cfg.exp_base > 1:
        raise ConfigError(f"exp_base must be > 1, got {cfg.exp_base}")
    for key in ("width", "critic_width", "batch_size", "size", "log_every", "sample_every", "save_every", "keep_every"):
        if getattr(cfg, key) <= 0:
            raise ConfigError(f"{key} must be positive, got {getattr(cfg, key)}")
    if cfg.num_workers < -1:
        raise ConfigError(f"num_workers must be >= 0, or -1 for one per CPU core but one; got {cfg.num_workers}")
    if cfg.cooldown_init and cfg.framework == "det" and not cfg.critic_cooldown:
        raise ConfigError(f"cooldown_init {cfg.cooldown_init!r} needs a cool-down: critic_cooldown is 0")
    for key in ("steps", "epochs", "res_blocks", "eval_every", "eval_per_bin", "critic_warmup",
                "critic_cooldown", "lr_decay_at"):
        if getattr(cfg, key) < 0:
            raise ConfigError(f"{key} must be >= 0, got {getattr(cfg, key)}")
