"""Many files: which inputs go where (`plan`), and running them resumably in
parallel (`run`, on the engines of `engines`, recorded in `jobdb` outside the
output folder). This module only hands their names on.
"""

from __future__ import annotations

from unseen.batch.jobdb import exclusive_lock
from unseen.batch.plan import (
    BatchPlan,
    Job,
    check_report_path,
    output_folder,
    plan_jobs,
    prepare_batch,
)
from unseen.batch.run import BatchRun, run_batch

__all__ = [
    "BatchPlan", "BatchRun", "Job", "check_report_path", "exclusive_lock", "output_folder",
    "plan_jobs", "prepare_batch", "run_batch",
]
