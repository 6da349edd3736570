"""Putting it together: the tasks of a sweep, and a blocking run for the command line and benchmarks."""
from __future__ import annotations

from typing import Callable

from ..data.points import PointSet
from ..engine.config import ExperimentConfig
from .executors import DEFAULT_CONNECT_TIMEOUT, Outcome, SweepJob
from .results import SweepResult
from .spec import SweepSpec, apply_value, check_metric
from .task import make_task, points_payload


def build_tasks(spec: SweepSpec, config: ExperimentConfig | dict, points: PointSet | dict,
                skip: SweepResult | None = None, return_weights: bool = False) -> list[dict]:
    """One plain-data task per (value, seed) of ``spec``, minus the runs ``skip`` already holds."""
    check_metric(spec, config)
    pts = points_payload(points) if isinstance(points, PointSet) else points
    tasks = []
    for value, seed in spec.runs():
        if skip is not None and skip.has(value, seed):
            continue
        cfg = apply_value(config, spec.param, value, seed)
        tasks.append(make_task(cfg, pts, spec.param, value, seed, spec.run_epochs(value), return_weights))
    return tasks


def run_sweep(spec: SweepSpec, config: ExperimentConfig, points: PointSet, *, workers: int | None = None,
              scheduler: str | None = None, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
              on_outcome: Callable[[Outcome, int, int], None] | None = None,
              previous: SweepResult | None = None) -> tuple[SweepResult, list[str]]:
    """Run the sweep to the end (blocking); Ctrl+C cancels and keeps what finished.

    Returns the result (``previous``'s rows merged in) and a list of problems (failed runs, a dead worker,
    an interruption). ``on_outcome(outcome, done, total)`` is called as each run comes in.
    """
    cfg = config if isinstance(config, ExperimentConfig) else ExperimentConfig.from_dict(config)
    result = SweepResult(spec, previous.rows if previous else None, cfg.to_dict())
    tasks = build_tasks(spec, cfg, points, skip=previous)
    problems: list[str] = []
    job = SweepJob(tasks, workers=workers, scheduler=scheduler, connect_timeout=connect_timeout)
    job.start()
    done = 0
    try:
        for out in job.outcomes():
            done += 1
            if out.row is not None:
                result.add(out.row)
            else:
                t = tasks[out.index]
                problems.append(f"run {spec.param}={t['value']} seed {t['seed']} failed: {out.error}")
            if on_outcome is not None:
                on_outcome(out, done, len(tasks))
    except KeyboardInterrupt:
        job.cancel()
        problems.append(f"interrupted: {done} of {len(tasks)} runs finished and are kept")
    finally:
        job.close(terminate=done < len(tasks))   # runs still going (an error here): stop them, never wait
    if job.message:
        problems.append(job.message)
    return result, problems
