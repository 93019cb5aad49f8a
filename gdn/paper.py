"""The numbers the paper publishes (Zhang et al., Pacific Graphics 2020), for the book to set beside ours.

Per-bin lists follow ``gdn.masks.BIN_LABELS``: (0.01,0.1], (0.1,0.2], ..., (0.5,0.6].
"""
from __future__ import annotations

__all__ = ["TABLE1_OURS", "TABLE2", "FIG3_EDGE_RATIOS", "INFERENCE_MS"]

# Table 1, the "Ours" rows: metric -> dataset -> six bins. l1 in %, PSNR in dB, SSIM, FID.
TABLE1_OURS: dict[str, dict[str, list[float]]] = {
    "l1": {"CelebA-HQ": [0.69, 1.62, 2.82, 4.28, 6.06, 10.05],
           "Places2": [1.00, 2.36, 4.09, 5.98, 8.18, 12.10]},
    "psnr": {"CelebA-HQ": [36.37, 32.02, 29.13, 26.81, 24.89, 21.79],
             "Places2": [33.51, 29.43, 26.64, 24.68, 23.04, 20.74]},
    "ssim": {"CelebA-HQ": [0.990, 0.977, 0.958, 0.930, 0.894, 0.793],
             "Places2": [0.977, 0.949, 0.907, 0.856, 0.792, 0.665]},
    "fid": {"CelebA-HQ": [1.08, 1.86, 3.34, 5.16, 7.84, 15.34],
            "Places2": [2.82, 5.78, 10.38, 16.18, 23.89, 37.18]},
}

# Table 2 (CelebA-HQ): detector loss -> metric -> six bins. Its focal row is Table 1's CelebA-HQ "Ours" row.
TABLE2: dict[str, dict[str, list[float]]] = {
    "ce": {"psnr": [35.88, 31.77, 28.90, 26.56, 24.64, 21.49], "ssim": [0.989, 0.976, 0.956, 0.927, 0.890, 0.784]},
    "bce": {"psnr": [36.29, 31.88, 28.95, 26.60, 24.67, 21.49], "ssim": [0.990, 0.976, 0.956, 0.927, 0.889, 0.784]},
    "focal": {m: TABLE1_OURS[m]["CelebA-HQ"] for m in ("psnr", "ssim")},
}

# Fig. 3 caption: Canny (sigma 1.0) edge ratios in percent of one example image.
FIG3_EDGE_RATIOS: dict[str, float] = {"gt": 10.14, "linear": 8.61, "exp_e": 8.72, "exp_10": 9.39}

# Sec. 4.2: mean inference time of one 256 x 256 image (ms, on the authors' GPU).
INFERENCE_MS: dict[str, float] = {"generator": 18.80, "detector": 13.07, "PConv": 27.97, "PEN": 61.08,
                                  "GConv": 18.91}
