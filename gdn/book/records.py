"""Dated records: measurements a build cannot redo in its own time budget, each with when, where and how it was
made. A chapter that cites one says it is a record; the build that produced it regenerates it."""
from __future__ import annotations

__all__ = ["STUDY_SEEDS"]

# The seed spread of the study profile (`make book PROFILE=study`): the largest max-minus-min over seeds of a
# run's mean test PSNR and of its detector's mean AUROC, over the runs its comparisons read (figures/study/
# table1 and detector: `seed_spread`). The default book's single-seed verdicts cite it.
STUDY_SEEDS = dict(when="PENDING", machine="PENDING", seeds=3, psnr_spread_db=float("nan"), auroc_spread=float("nan"))
