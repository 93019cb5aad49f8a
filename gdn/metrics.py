"""``gdn.metrics``, the contract's name for the evaluation functions: l1 (%), PSNR, SSIM and the detector's AUROC
on 8-bit composites, FID, and ``evaluate`` (Table 1's protocol, by mask-ratio bin). They live in
:mod:`gdn.evaluation`; this module only gathers them under the name outside tools use."""
from gdn.evaluation.frechet import fid
from gdn.evaluation.protocol import evaluate, format_table, rows_to_csv, rows_to_json
from gdn.evaluation.scores import (as_batch, auroc, composite, gray, l1, l1_255, l1_relative, psnr, ssim,
                                   to_uint8)

__all__ = ["to_uint8", "composite", "as_batch", "gray", "l1", "l1_255", "l1_relative", "psnr", "ssim", "auroc",
           "fid", "evaluate", "rows_to_csv", "rows_to_json", "format_table"]
