"""The numbers the paper publishes (Zhang et al., Pacific Graphics 2020), for the book to set beside ours.

Per-bin lists follow ``gdn.masks.BIN_LABELS``: (0.01,0.1], (0.1,0.2], ..., (0.5,0.6].
"""
from __future__ import annotations

__all__ = ["TABLE1_OURS", "TABLE1_OTHERS", "TABLE2", "FIG3_EDGE_RATIOS", "INFERENCE_MS"]

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

# Table 1, the rows of the three methods the paper compares with (PConv, Liu et al. 2018; PEN, Yan et al. 2019;
# GConv, Yu et al. 2019), as the paper prints them (Sec. 4.2.2, Table 1; its C and P columns alternate per bin):
# method -> metric -> dataset -> six bins, units as TABLE1_OURS. The paper's numbers on its data, not rerun here.
TABLE1_OTHERS: dict[str, dict[str, dict[str, list[float]]]] = {
    "PConv": {"l1": {"CelebA-HQ": [0.84, 2.05, 3.57, 5.43, 7.59, 12.00],
                     "Places2": [1.27, 3.07, 5.16, 7.37, 9.94, 14.14]},
              "psnr": {"CelebA-HQ": [34.88, 30.00, 27.20, 24.95, 23.12, 20.33],
                       "Places2": [31.99, 27.27, 24.79, 23.07, 21.58, 19.56]},
              "ssim": {"CelebA-HQ": [0.983, 0.963, 0.936, 0.898, 0.851, 0.744],
                       "Places2": [0.961, 0.917, 0.866, 0.809, 0.738, 0.615]},
              "fid": {"CelebA-HQ": [2.79, 4.42, 5.60, 7.73, 11.02, 15.16],
                      "Places2": [4.44, 8.38, 12.7, 17.46, 24.3, 32.75]}},
    "PEN": {"l1": {"CelebA-HQ": [0.80, 2.15, 3.88, 5.83, 8.02, 11.77],
                   "Places2": [1.11, 2.96, 5.25, 7.59, 10.19, 13.95]},
            "psnr": {"CelebA-HQ": [35.34, 29.76, 26.79, 24.70, 23.06, 20.85],
                     "Places2": [33.24, 27.72, 24.85, 23.04, 21.58, 19.84]},
            "ssim": {"CelebA-HQ": [0.988, 0.965, 0.933, 0.894, 0.849, 0.764],
                     "Places2": [0.975, 0.929, 0.867, 0.801, 0.723, 0.605]},
            "fid": {"CelebA-HQ": [1.41, 4.19, 8.38, 12.68, 18.73, 23.38],
                    "Places2": [3.1, 8.76, 17.31, 29.84, 47.05, 66.7]}},
    "GConv": {"l1": {"CelebA-HQ": [0.65, 1.81, 3.41, 5.33, 7.53, 12.05],
                     "Places2": [1.00, 2.71, 4.98, 7.44, 10.22, 14.97]},
              "psnr": {"CelebA-HQ": [37.14, 31.02, 27.57, 25.03, 23.10, 20.22],
                       "Places2": [34.05, 28.26, 25.00, 22.84, 21.16, 18.88]},
              "ssim": {"CelebA-HQ": [0.991, 0.971, 0.941, 0.902, 0.856, 0.750],
                       "Places2": [0.978, 0.936, 0.876, 0.808, 0.73, 0.594]},
              "fid": {"CelebA-HQ": [0.78, 2.05, 3.93, 5.86, 8.64, 12.75],
                      "Places2": [2.27, 6.02, 11.02, 16.39, 22.75, 33.17]}},
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
