"""Sweeps: train the same points and settings with one parameter changed, across values and seeds.

Qt-free. ``spec`` parses what is varied, ``task`` is the run a worker executes (plain data in and out,
imports only the engine), ``executors`` runs tasks on local processes or a Dask cluster, ``results``
summarises the rows (the model complexity graph's numbers), writes the CSV and saves/loads a sweep.
"""
from .executors import Outcome, SweepJob, cpu_count, default_workers
from .results import CSV_FIELDS, Summary, SweepResult, ValueStats, summarize
from .runner import build_tasks, run_sweep
from .spec import METRICS, PARAMS, SweepSpec, apply_value, check_metric, format_value, get_param, parse_values
from .task import make_task, points_from_payload, points_payload, run_task

__all__ = ["CSV_FIELDS", "METRICS", "Outcome", "PARAMS", "Summary", "SweepJob", "SweepResult", "SweepSpec",
           "ValueStats", "apply_value", "build_tasks", "check_metric", "cpu_count", "default_workers",
           "format_value", "get_param", "make_task", "parse_values", "points_from_payload", "points_payload",
           "run_sweep", "run_task", "summarize"]
