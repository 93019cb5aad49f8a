"""Evaluation, apart from training (as LaMa keeps it): the scores, FID and the protocol of Table 1.

``scores`` (l1, PSNR, SSIM on 8-bit composites; the detector's AUROC), ``frechet`` (FID with pytorch-fid's
Inception, never downloaded) and ``protocol`` (every method per mask-ratio bin with 95 % intervals, and the tidy rows as
CSV, JSON or text). ``gdn.metrics`` is the contract's name for the same functions.
"""
from gdn.evaluation.frechet import fid
from gdn.evaluation.protocol import Method, evaluate, format_table, rows_to_csv, rows_to_json
from gdn.evaluation.scores import auroc, composite, l1, psnr, ssim, to_uint8

__all__ = ["Method", "evaluate", "format_table", "rows_to_csv", "rows_to_json", "fid", "auroc", "composite", "l1",
           "psnr", "ssim", "to_uint8"]
