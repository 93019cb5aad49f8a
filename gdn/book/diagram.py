"""The paper's Fig. 2, generated: the detection-based framework of Sec. 3.2-3.4 drawn for a config. The generator
and the detector that the config builds (:func:`gdn.anchored.build_generator`, :func:`gdn.frameworks.build_critic`)
are instantiated and their layers listed in the boxes (kind, kernel, stride, output channels, parameters), and the
losses are the config's: the weight mapping (Sec. 3.4.3), the weighted L1 (Eq. 7) that trains the generator, and
the detector's loss (Eq. 4, 5 or 6) against the mask, the two sides of Eq. 8. A config with another width or
block count draws another diagram.

    fig = framework_diagram(resolve("cpu"))
"""
from __future__ import annotations

from typing import Any

from torch import nn

__all__ = ["layer_rows", "layer_lines", "framework_diagram"]

_AFTER = {nn.InstanceNorm2d: "IN", nn.ReLU: "ReLU", nn.LeakyReLU: "LReLU"}  # what follows a conv, shown beside it
_PARTS = {"encoder": "encoder", "middle": "residual blocks", "decoder": "decoder", "trunk": "down (5 convs)",
          "head": "up (2 deconvs)", "out": "output"}


def _conv_row(m: nn.Module) -> dict[str, Any]:
    kind = "deconv" if isinstance(m, nn.ConvTranspose2d) else "conv"
    k, s, d = m.kernel_size[0], m.stride[0], m.dilation[0]
    name = f"{kind} {k}x{k} s{s}" + (f" d{d}" if d > 1 else "")
    return {"layer": name, "in": m.in_channels, "out": m.out_channels, "params": sum(p.numel() for p in m.parameters()),
            "after": []}


def layer_rows(net: nn.Module) -> list[dict[str, Any]]:
    """The layers of a network as the diagram lists them: one row per convolution (``layer`` "conv 4x4 s2",
    ``in`` and ``out`` channels, ``params``, ``after``: the norm and activation that follow it) or per run of
    identical residual blocks (``count`` of them), each with its ``part`` (the network's top-level block)."""
    rows: list[dict[str, Any]] = []
    for part, block in net.named_children():
        for m in (block.children() if isinstance(block, nn.Sequential) else [block]):
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                rows.append({"part": part, **_conv_row(m)})
            elif type(m).__name__ == "ResBlock":
                convs = [c for c in m.modules() if isinstance(c, nn.Conv2d)]
                d = max(c.dilation[0] for c in convs)
                norm = " IN" if any(isinstance(c, nn.InstanceNorm2d) for c in m.modules()) else ""
                row = {"part": part, "layer": f"res block 3x3 d{d}{norm}", "in": convs[0].in_channels,
                       "out": convs[-1].out_channels, "params": sum(p.numel() for p in m.parameters()),
                       "after": [], "count": 1}
                last = rows[-1] if rows else {}
                if last.get("layer") == row["layer"] and last.get("out") == row["out"] and last["part"] == part:
                    last["count"] += 1
                    last["params"] += row["params"]
                else:
                    rows.append(row)
            elif rows and rows[-1]["part"] == part and type(m) in _AFTER:
                rows[-1]["after"].append(_AFTER[type(m)])
                rows[-1]["params"] += sum(p.numel() for p in m.parameters())  # an affine norm's scale and shift
    return rows


def layer_lines(net: nn.Module) -> list[str]:
    """:func:`layer_rows` as the text lines of a diagram box: a header per top-level block, then one line per
    layer, ``"conv 4x4 s2 +ReLU     -> 32 ch     2,048"`` (kind, kernel, stride, what follows it, output channels,
    parameters)."""
    lines, part = [], None
    for r in layer_rows(net):
        if r["part"] != part:
            part = r["part"]
            lines.append(f"{_PARTS.get(part, part)}:")
        name = (f"{r['count']} x " if r.get("count", 1) > 1 else "") + r["layer"]
        name += "".join(f" +{a}" for a in r["after"])
        lines.append(f" {name:<25}-> {r['out']:>4} ch {r['params']:>10,}")
    return lines


def _box(ax, x: float, y: float, w: float, h: float, text: str, colour: str, *, mono: str = "", size: float = 7.5):
    """A rounded box with lower-left corner (x, y), its ``text`` centred at the top and ``mono`` (monospace lines)
    under it."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.12", fc=colour, ec="0.25",
                                lw=0.9))
    if mono:
        ax.text(x + w / 2, y + h - 0.1, text, ha="center", va="top", fontsize=size, weight="bold")
        ax.text(x + 0.12, y + h - 0.2 - 0.22 * (text.count("\n") + 1), mono, ha="left", va="top", fontsize=6.8,
                family="monospace", linespacing=1.25)
    else:
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size, linespacing=1.35)


def _arrow(ax, points, label: str = "", *, at: int = 0, **text_kw):
    """A polyline through ``points`` ending in an arrowhead; ``label`` beside its segment ``at``."""
    for p, q in zip(points[:-2], points[1:-1]):
        ax.plot([p[0], q[0]], [p[1], q[1]], color="0.2", lw=1.0)
    ax.annotate("", xy=points[-1], xytext=points[-2],
                arrowprops=dict(arrowstyle="-|>", color="0.2", lw=1.0, shrinkA=0, shrinkB=0))
    if label:
        (x0, y0), (x1, y1) = points[at], points[at + 1]
        kw = dict(ha="center", va="bottom", fontsize=6.5, color="0.15")
        kw.update(text_kw)
        ax.text((x0 + x1) / 2, (y0 + y1) / 2, label, **kw)


def _mapping_text(cfg) -> str:
    if cfg.weight_mapping == "linear":
        return "weight mapping (Sec. 3.4.3),\nlinear: $W = 1 + V$, in [1, 2]"
    return f"weight mapping (Sec. 3.4.3),\nexponential: $W = {cfg.exp_base:g}^{{V}}$, in [1, {cfg.exp_base:g}]"


def _detector_loss_text(cfg) -> str:
    alpha = r"$\alpha$ = the image's hole ratio"
    return {"ce": "cross entropy (Eq. 4)",
            "bce": f"balanced cross entropy (Eq. 5),\n{alpha}",
            "focal": f"focal loss (Eq. 6), $\\gamma$ = {cfg.gamma:g},\n{alpha}"}[cfg.detector_loss]


def framework_diagram(cfg, title: str = ""):
    """The detection-based framework (the paper's Fig. 2) for the config ``cfg`` (a ``gdn.config.Config``), as a
    matplotlib figure: the masked input and mask into the generator, its output ``I_out`` into the detector, the
    map ``V`` through the config's weight mapping into the weighted L1 (Eq. 7) whose gradient trains the generator
    through ``W`` and the detector (Eq. 8, not detached), and the detector's own loss against the mask. The two
    network boxes list the layers of the networks this config builds, so they follow its width and depth; the
    composite (what the book scores, and what Fig. 7's maps look at) branches off ``I_out``. The figure is of the
    Det framework whatever ``cfg.framework`` names (the frameworks chapter compares the others)."""
    import matplotlib.pyplot as plt
    import torch

    from gdn.anchored import build_generator
    from gdn.book.prose import anchor_name
    from gdn.networks import Detector, count_parameters

    with torch.random.fork_rng(devices=[]):  # their random initial weights leave a notebook's random state alone
        generator, detector = build_generator(cfg), Detector(cfg.critic_width)
    g_lines, d_lines = layer_lines(generator), layer_lines(detector)
    d_lines += [f" {'softmax (artifact class)':<25}-> {1:>4} ch {0:>10}"]
    g_in, d_in = layer_rows(generator)[0]["in"], layer_rows(detector)[0]["in"]
    line = 0.16  # data units per monospace line
    g_h, d_h = 0.8 + line * len(g_lines), 0.8 + line * len(d_lines)
    top = 7.0
    mid = top - max(g_h, d_h) / 2  # the main lane's height
    fig, ax = plt.subplots(figsize=(12.2, 6.2))
    ax.set_xlim(0, 14)
    ax.set_ylim(0, 8.0)
    ax.set_axis_off()

    # the main lane: I_in, M -> G -> I_out -> Det -> V
    _box(ax, 0.05, mid - 0.65, 2.0, 1.3, "masked input\n$I_{in} = I_{gt} \\odot (1 - M) + M$\n(holes white)\n"
         "and the mask $M$ (1 = hole)", "#e8eef7", size=7)
    anchor = anchor_name(cfg)
    g_title = f"generator G (Sec. 3.3.1): {count_parameters(generator):,} parameters"
    if anchor:
        g_title += f"\nresidual around the {anchor} fill A: $I_{{out}} = A + s \\cdot G(d / s, M)$"
    else:
        g_title += f"\ninput $[I_{{in}}, M]$, {g_in} channels; output tanh"
    _box(ax, 2.4, top - g_h, 3.7, g_h, g_title, "#fdf1d8", mono="\n".join(g_lines))
    _box(ax, 6.3, mid - 0.4, 1.2, 0.8, "result\n$I_{out} = G(I_{in}, M)$", "#ffffff", size=7)
    d_title = (f"detector Det (Sec. 3.3.2): {count_parameters(detector):,} parameters\n"
               f"input $I_{{out}}$, {d_in} channels")
    _box(ax, 7.75, top - d_h, 3.55, d_h, d_title, "#e3f2e1", mono="\n".join(d_lines))
    _box(ax, 11.7, mid - 0.5, 2.25, 1.0, "$V = Det(I_{out})$\nper-pixel artifact\nprobability, in [0, 1]", "#ffffff",
         size=7)
    _arrow(ax, [(2.05, mid), (2.4, mid)])
    _arrow(ax, [(6.1, mid), (6.3, mid)])
    _arrow(ax, [(7.5, mid), (7.75, mid)])
    _arrow(ax, [(11.3, mid), (11.7, mid)])

    # the composite: what the book scores and what Fig. 7's maps look at; Det trains on I_out itself
    _box(ax, 5.2, 7.2, 3.4, 0.75, "composite $M \\odot I_{out} + (1 - M) \\odot I_{gt}$: the result the\nbook "
         "scores and shows, and what Fig. 7's maps look at\n(in training Det sees $I_{out}$ itself)", "#f2f2f2",
         size=6.5)
    _arrow(ax, [(6.9, mid + 0.4), (6.9, 7.25)])

    # the generator's side of Eq. 8: V -> W -> weighted L1 (with I_out and I_gt) -> back to G through W and Det
    _box(ax, 11.45, 2.35, 2.5, 0.95, _mapping_text(cfg), "#fde3e1", size=7)
    _arrow(ax, [(12.7, mid - 0.5), (12.7, 3.3)])
    _box(ax, 3.6, 0.25, 6.6, 0.95, "weighted reconstruction loss (Eq. 7), trains G:\n"
         "$L_w = \\frac{1}{N} \\sum_i W_i \\, \\| I^i_{out} - I^i_{gt} \\|_1$", "#fde3e1", size=7.5)
    _arrow(ax, [(12.7, 2.35), (12.7, 0.72), (10.2, 0.72)], "W, not detached", at=1, va="bottom")
    _arrow(ax, [(6.9, mid - 0.4), (6.9, 1.2)], "$I_{out}$", at=0, ha="left", va="center")
    _box(ax, 0.05, 0.3, 2.0, 0.85, "ground truth $I_{gt}$", "#e8eef7", size=7)
    _arrow(ax, [(2.05, 0.72), (3.6, 0.72)])
    _arrow(ax, [(4.2, 1.2), (4.2, top - g_h)])
    ax.text(4.05, (1.2 + top - g_h) / 2, "min over G (Eq. 8):\nthe gradient of $L_w$\nreaches G through\nW and Det",
            ha="right", va="center", fontsize=6.5, color="0.15")

    # the detector's side: its own loss against the mask (the proxy label of Sec. 3.2)
    extra = [f"not in the paper: also on $I_{{in}}$ of {cfg.critic_corrupt:.0%} of\neach batch (critic_corrupt)"
             ] if cfg.critic_corrupt > 0 else []
    if cfg.cooldown_init:
        extra.append("not in the paper: the cool-down starts from\na trained detector (cooldown_init)")
    if cfg.critic_thin > 0:
        extra.append(f"not in the paper: thin scratches added to M\n"
                     f"in {cfg.critic_thin:.0%} of its cool-down (critic_thin)")
    box_top = 1.75 + 1.05 + 0.45 * len(extra)
    _box(ax, 7.75, 1.75, 3.4, box_top - 1.75, "\n".join([f"detector loss $L_{{Det}}$, trains Det:\n"
                                                        f"{_detector_loss_text(cfg)}\nlabel: the mask M", *extra]),
         "#e3f2e1", size=7)
    _arrow(ax, [(12.0, mid - 0.5), (11.15, 2.9)])
    _arrow(ax, [(9.45, box_top), (9.45, top - d_h)])
    ax.text(9.55, (box_top + top - d_h) / 2, "max over Det of\n$-L_{Det}$ (Eq. 8)",
            ha="left", va="center", fontsize=6.5, color="0.15")
    size = (f"{cfg.size} x {cfg.size} px, generator width {cfg.width}, {cfg.res_blocks} residual blocks, "
            f"norm {cfg.norm}, detector width {cfg.critic_width}")
    ax.text(7.0, 0.02, (f"{title}: " if title else "") + size, ha="center", va="bottom", fontsize=6.5, color="0.3")
    fig.tight_layout(pad=0.2)
    return fig
