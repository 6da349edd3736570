"""Sweeps (issue 8): values parsing, the plain-data task, executors (local processes, Dask), aggregation,
CSV and save/load, the `nnviz sweep` command and the model-complexity lesson's settings."""
from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnviz.data.generators import generate
from nnviz.engine import ExperimentConfig, Trainer
from nnviz.errors import NnvizError
from nnviz.sweep import (SweepJob, SweepResult, SweepSpec, apply_value, build_tasks, parse_values, run_sweep,
                         run_task, summarize)

ROOT = Path(__file__).resolve().parents[1]


def small_base(batch_size=10):
    d = ExperimentConfig().to_dict()
    d["architecture"]["hidden_layers"] = [4]
    d["optimizer"].update(name="adam", learning_rate=0.02, batch_size=batch_size)
    return ExperimentConfig.from_dict(d), generate("circle", 60, 0.25, 0.5, 0)


def model_complexity_experiment():
    """The `model-complexity` lesson: its test below guards the preset itself."""
    from nnviz.presets import PRESETS
    exp = PRESETS["model-complexity"].build()
    return exp.config, exp.points


# -- values ------------------------------------------------------------------------------------------------

def test_values_lists_and_ranges():
    assert parse_values("8, 1,2 4", "hidden_units") == [1, 2, 4, 8]
    assert parse_values("1:128:8:log", "hidden_units") == [1, 2, 4, 8, 16, 32, 64, 128]
    assert parse_values("1:128:8", "hidden_units", "log") == [1, 2, 4, 8, 16, 32, 64, 128]
    assert parse_values("0:4:5", "layers") == [0, 1, 2, 3, 4]
    assert parse_values("0.001:1:4:log", "learning_rate") == [0.001, 0.01, 0.1, 1.0]
    assert parse_values("0:0.8:5", "dropout") == pytest.approx([0, 0.2, 0.4, 0.6, 0.8])
    assert parse_values("1:10:20:log", "hidden_units")[:3] == [1, 2, 3]   # rounded, duplicates dropped
    assert all(isinstance(v, int) for v in parse_values("1:100:5:log", "hidden_units"))


@pytest.mark.parametrize("text, param, message", [
    ("a,b", "hidden_units", "'a' is not a number"),
    ("", "hidden_units", "at least one value"),
    ("  ", "l2", "at least one value"),
    ("1,-2", "hidden_units", "from 1 to 512, got -2"),
    ("0", "hidden_units", "at least one neuron"),
    ("1.5", "hidden_units", "whole numbers"),
    ("0.5,1", "dropout", "switch every neuron off"),
    ("0:1:3", "dropout", "got 1"),
    ("0:1:3:log", "l2", "log range needs positive ends"),
    ("1:10:x", "hidden_units", "COUNT must be a whole number"),
    ("1:10:3:cubic", "hidden_units", "lin or log"),
    ("1:2", "hidden_units", "START:STOP:COUNT"),
    ("nan", "l1", "not a finite number"),
    ("0", "learning_rate", "from 1e-07"),
    ("17", "layers", "from 0 to 16"),
])
def test_bad_values_say_what_is_wrong(text, param, message):
    with pytest.raises(NnvizError, match=message.replace("(", r"\(").replace("+", r"\+")):
        parse_values(text, param)


def test_spec_checks():
    with pytest.raises(NnvizError, match="unknown 'width'"):
        SweepSpec("width", [1])
    with pytest.raises(NnvizError, match="seeds"):
        SweepSpec("hidden_units", [1], seeds=0)
    with pytest.raises(NnvizError, match="metric"):
        SweepSpec("hidden_units", [1], metric="accuracy")
    spec = SweepSpec("hidden_units", [4, 1, 4], seeds=2, first_seed=7)
    assert spec.values == [1, 4] and spec.runs() == [(1, 7), (1, 8), (4, 7), (4, 8)]
    assert SweepSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_apply_value_changes_one_thing():
    base, _ = small_base()
    base.architecture.hidden_layers = [4, 2]
    d = apply_value(base, "hidden_units", 16, seed=5)
    assert d["architecture"]["hidden_layers"] == [16, 16] and d["architecture"]["seed"] == 5
    assert apply_value(base, "layers", 3)["architecture"]["hidden_layers"] == [4, 4, 4]
    assert apply_value(base, "layers", 0)["architecture"]["hidden_layers"] == []
    assert apply_value(base, "l2", 0.01)["regularization"]["l2"] == 0.01
    assert apply_value(base, "dropout", 0.3)["regularization"]["dropout"] == 0.3
    assert apply_value(base, "learning_rate", 0.1)["optimizer"]["learning_rate"] == 0.1
    same = apply_value(base, "epochs", 100)
    assert same == base.to_dict()
    assert base.architecture.hidden_layers == [4, 2]   # the caller's config is untouched


# -- the task ----------------------------------------------------------------------------------------------

def test_task_is_plain_data_and_seeds_matter():
    config, points = small_base()
    spec = SweepSpec("hidden_units", [4], seeds=2, epochs=15)
    tasks = build_tasks(spec, config, points, return_weights=True)
    assert json.loads(json.dumps(tasks)) == tasks          # JSON-able: no pickled objects
    rows = [run_task(t) for t in tasks]
    json.dumps(rows)
    assert [r["seed"] for r in rows] == [0, 1] and all(r["epochs"] == 15 for r in rows)
    assert rows[0]["train_loss"] != rows[1]["train_loss"]  # the seed changes the run
    assert run_task(tasks[0])["train_loss"] == rows[0]["train_loss"]   # ...and only the seed
    assert [len(w) for w in rows[0]["weights"][0]] == [2, 4]
    # the same as training the config by hand
    trainer = Trainer(ExperimentConfig.from_dict(apply_value(config, "hidden_units", 4, seed=1)), points)
    trainer.train(15)
    assert rows[1]["test_error"] == trainer.summary()["test_error"]


def test_early_stopping_rows_describe_the_restored_best_epoch():
    config, points = model_complexity_experiment()
    config.early_stopping.enabled = True
    config.early_stopping.patience = 20
    config.early_stopping.monitor = "test_loss"
    row = run_task(build_tasks(SweepSpec("hidden_units", [64], seeds=1, epochs=2000), config, points)[0])
    assert row["stop"] == "early_stopping" and row["best_epoch"] < row["epochs"] < 2000
    config.early_stopping.enabled = False
    ref = Trainer(ExperimentConfig.from_dict(apply_value(config, "hidden_units", 64, seed=0)), points)
    ref.train(row["best_epoch"])
    s = ref.summary()
    assert (row["test_loss"], row["train_error"]) == (s["test_loss"], s["train_error"])


def test_worker_imports_only_the_engine():
    code = ("import sys, nnviz.sweep.task, nnviz.sweep; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'pyqtgraph', 'dask', 'distributed'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- aggregation, CSV, save/load ---------------------------------------------------------------------------

def _row(value, seed, tr, te, **kw):
    return {"value": value, "seed": seed, "epochs": 10, "best_epoch": 9, "train_loss": tr, "test_loss": te,
            "train_error": tr, "test_error": te, "seconds": 0.5, **kw}


def test_summary_best_value_and_sides():
    rows = [_row(1, 0, 0.4, 0.45), _row(1, 1, 0.3, 0.35), _row(4, 0, 0.1, 0.2), _row(4, 1, 0.1, 0.1),
            _row(16, 0, 0.0, 0.3), _row(16, 1, 0.0, 0.25)]
    s = summarize(rows, "error")
    st = {x.value: x for x in s.stats}
    assert st[1].train_mean == pytest.approx(0.35) and (st[1].test_min, st[1].test_max) == (0.35, 0.45)
    assert s.best_value == 4 and s.underfitting == [1] and s.overfitting == [16] and s.best_inside
    s2 = summarize(rows[:4], "error")
    assert s2.best_value == 4 and not s2.best_inside        # the minimum at the end of the range
    nan = summarize([_row(1, 0, 0.1, None)], "error")       # no test points
    assert nan.best_value is None and math.isnan(nan.stats[0].test_mean)


def test_merge_rerun_with_more_seeds():
    config, points = small_base()
    spec1 = SweepSpec("hidden_units", [1, 4], seeds=1, epochs=5)
    first = SweepResult(spec1, [run_task(t) for t in build_tasks(spec1, config, points)], config.to_dict())
    spec2 = SweepSpec("hidden_units", [1, 4, 8], seeds=2, epochs=5)
    tasks = build_tasks(spec2, config, points, skip=first)
    assert [(t["value"], t["seed"]) for t in tasks] == [(1, 1), (4, 1), (8, 0), (8, 1)]
    second = SweepResult(spec2, [run_task(t) for t in tasks], config.to_dict())
    merged = first.merge(second)
    assert len(merged) == 6 and merged.spec.values == [1, 4, 8] and merged.spec.seeds == 2
    assert merged.missing() == []
    with pytest.raises(NnvizError, match="cannot merge"):
        merged.merge(SweepResult(SweepSpec("l2", [0.1]), []))


def test_csv_and_save_load(tmp_path):
    result = SweepResult(SweepSpec("l2", [0.001, 0.1], seeds=2),
                         [_row(0.1, 1, 0.2, 0.3), _row(0.001, 0, 0.1, 1 / 3), _row(0.1, 0, 0.2, None)])
    text = result.to_csv()
    lines = text.splitlines()
    assert lines[0] == "l2,seed,epochs,best_epoch,train_loss,test_loss,train_error,test_error,seconds"
    assert lines[1].startswith("0.001,0,10,9,0.1,0.3333333333333333,")   # sorted, full precision
    assert lines[2].split(",")[5] == "" and len(lines) == 4                 # NaN/None: empty cell
    path = tmp_path / "sweep.csv"
    result.write_csv(str(path))
    assert path.read_text() == text
    with pytest.raises(NnvizError, match="cannot write"):
        result.write_csv(str(tmp_path / "missing" / "x.csv"))
    back = SweepResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back.to_csv() == text and back.spec == result.spec
    for bad in ([], {"spec": {"param": "l2"}}, {"spec": result.spec.to_dict(), "rows": [{"value": "x"}]},
                {"spec": result.spec.to_dict(), "rows": [{**_row(0.1, 0, 0.2, 0.3), "seed": -1}]}):
        with pytest.raises(NnvizError):
            SweepResult.from_dict(bad)


# -- local processes ---------------------------------------------------------------------------------------

def test_process_pool_csv_equals_a_sequential_loop():
    config, points = small_base()
    spec = SweepSpec("hidden_units", [1, 4, 8], seeds=2, epochs=20)
    pooled, problems = run_sweep(spec, config, points, workers=2)
    assert problems == []
    sequential = SweepResult(spec, [run_task(t) for t in build_tasks(spec, config, points)])
    assert len(pooled) == 6
    assert pooled.to_csv(seconds=False) == sequential.to_csv(seconds=False)


def _long_tasks(n_short, n_long):
    config, points = small_base(batch_size=1)
    short = build_tasks(SweepSpec("hidden_units", [1, 2, 3, 4, 5, 6][:n_short], seeds=1, epochs=2), config, points)
    long = build_tasks(SweepSpec("hidden_units", [7, 8, 9][:n_long], seeds=1, epochs=1_000_000), config, points)
    return short + long


def _process_gone(pid: int) -> bool:
    """No such process, or only its exit status is left (a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


def _assert_no_process_left(procs):
    # Process.is_alive() is not usable here: the pool's own management thread may reap a worker first,
    # after which is_alive() keeps saying True for a process that no longer exists. Ask the system.
    assert procs
    from multiprocessing.connection import wait
    wait([p.sentinel for p in procs], timeout=15)
    for p in procs:
        assert _process_gone(p.pid), f"worker {p.pid} is still running"


def test_cancel_stops_workers_promptly_and_keeps_finished_runs():
    job = SweepJob(_long_tasks(2, 2), workers=2).start()
    procs = list(job._pool._processes.values())
    got = []
    for out in job.outcomes():
        got.append(out)
        if len(got) == 2:
            break
    assert all(o.row is not None for o in got)               # the two short runs
    t = time.perf_counter()
    job.cancel()
    assert time.perf_counter() - t < 3.0
    assert job.cancelled and list(job.outcomes()) == []
    _assert_no_process_left(procs)


def test_a_dead_worker_is_reported_and_finished_runs_are_kept():
    job = SweepJob(_long_tasks(1, 2), workers=2).start()
    procs = list(job._pool._processes.values())
    outcomes = job.outcomes()
    first = next(outcomes)
    assert first.row is not None
    os.kill(procs[0].pid, signal.SIGKILL)
    assert list(outcomes) == []
    assert "worker process died" in job.message
    job.close()
    _assert_no_process_left(procs)


def test_run_sweep_reports_a_failed_run():
    config, points = small_base()
    tasks = build_tasks(SweepSpec("hidden_units", [1], seeds=1, epochs=2), config, points)
    tasks[0]["config"]["optimizer"]["learning_rate"] = -1      # rejected by the worker's validation
    job = SweepJob(tasks, workers=1).start()
    (out,) = list(job.outcomes())
    job.close()
    assert out.row is None and "learning_rate" in out.error


# -- Dask --------------------------------------------------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_is_a_clear_error():
    pytest.importorskip("distributed")
    config, points = small_base()
    tasks = build_tasks(SweepSpec("hidden_units", [1], seeds=1, epochs=2), config, points)
    t = time.perf_counter()
    with pytest.raises(NnvizError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:\d+ within 1 s"):
        SweepJob(tasks, scheduler=f"127.0.0.1:{_free_port()}", connect_timeout=1).start()
    assert time.perf_counter() - t < 15


def test_scheduler_without_dask_installed_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(NnvizError, match=r"nnviz\[distributed\]"):
        SweepJob([{"x": 1}], scheduler="tcp://127.0.0.1:1").start()


def _dask_equals_sequential(address):
    config, points = small_base()
    spec = SweepSpec("hidden_units", [1, 4], seeds=2, epochs=20)
    result, problems = run_sweep(spec, config, points, scheduler=address, connect_timeout=10)
    assert problems == []
    sequential = SweepResult(spec, [run_task(t) for t in build_tasks(spec, config, points)])
    assert result.to_csv(seconds=False) == sequential.to_csv(seconds=False)


def test_dask_local_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        _dask_equals_sequential(cluster.scheduler_address)


def test_dask_worker_killed_mid_run_loses_nothing():
    """A Dask worker dies while running a run: Dask reruns it elsewhere and the sweep completes."""
    distributed = pytest.importorskip("distributed")
    config, points = small_base(batch_size=1)
    tasks = build_tasks(SweepSpec("hidden_units", [8], seeds=2, epochs=3000), config, points)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        job = SweepJob(tasks, scheduler=cluster.scheduler_address).start()
        deadline = time.monotonic() + 30
        busy = []
        while not busy and time.monotonic() < deadline:
            busy = [a for a, keys in client.processing().items() if keys]
        assert busy, "no run started on the cluster"
        pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
        os.kill(pid, signal.SIGKILL)
        outcomes = list(job.outcomes())
        job.close()
    assert job.message == "" and sorted(o.row["seed"] for o in outcomes) == [0, 1]
    assert all(o.row["epochs"] == 3000 for o in outcomes)


@pytest.fixture
def dask_cluster_processes():
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, stopped in the finalizer."""
    pytest.importorskip("distributed")
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if dask is None:
        pytest.skip("the `dask` command is not installed")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = []

    def start(*args):
        procs.append(subprocess.Popen([dask, *args], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
        for _ in range(2):
            start("worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1",
                  "--no-dashboard", "--death-timeout", "60")
        from distributed import Client
        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=15)


def test_dask_scheduler_and_workers_started_as_processes(dask_cluster_processes):
    _dask_equals_sequential(dask_cluster_processes)


# -- the command -------------------------------------------------------------------------------------------

def _sweep_cmd(*args, tmp_path):
    return subprocess.run([sys.executable, "-m", "nnviz.sweep_cli", *args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=180,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"})


def test_cli_prints_the_table_and_writes_csv_and_png(tmp_path):
    out = _sweep_cmd("circle", "--param", "hidden_units", "--values", "1,4", "--seeds", "1", "--epochs", "20",
                     "--workers", "2", "--csv", "out.csv", "--png", "graph.png", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "hidden units per layer" in out.stdout and "best test error at" in out.stdout
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0].startswith("hidden_units,seed,epochs") and len(lines) == 3
    assert (tmp_path / "graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_bad_values_and_scheduler(tmp_path):
    out = _sweep_cmd("circle", "--values", "a,b", tmp_path=tmp_path)
    assert out.returncode == 1 and out.stderr.strip() == (
        "nnviz: error: values: 'a' is not a number (give a list like 1,2,4,8 or a range like 1:128:8:log)")
    out = _sweep_cmd("circle", "--param", "dropout", "--values", "0,1", tmp_path=tmp_path)
    assert out.returncode == 1 and "switch every neuron off" in out.stderr and "Traceback" not in out.stderr
    out = _sweep_cmd("circle", "--param", "size", "--values", "1", tmp_path=tmp_path)
    assert out.returncode == 2 and "invalid choice" in out.stderr
    if "distributed" in sys.modules or _has_distributed():
        out = _sweep_cmd("circle", "--values", "1", "--scheduler", f"127.0.0.1:{_free_port()}", "--timeout", "1",
                         "--csv", "x.csv", tmp_path=tmp_path)
        assert out.returncode == 1 and "cannot reach the Dask scheduler" in out.stderr
        assert not (tmp_path / "x.csv").exists()


def _has_distributed():
    try:
        import distributed  # noqa: F401
        return True
    except ImportError:
        return False


# -- the model-complexity lesson ---------------------------------------------------------------------------

def test_model_complexity_lesson_has_its_goldilocks_minimum_inside_the_range():
    """Circle data, 25 % noise, hidden units 1..128 (log), 3 seeds: train error falls with size, test error
    has its minimum strictly inside the range."""
    config, points = model_complexity_experiment()
    spec = SweepSpec("hidden_units", parse_values("1:128:8:log", "hidden_units"), seeds=3, epochs=2000)
    result, problems = run_sweep(spec, config, points, workers=2)
    assert problems == [] and len(result) == 24
    s = result.summary("error")
    train = [st.train_mean for st in s.stats]
    test = [st.test_mean for st in s.stats]
    assert all(b <= a + 1e-12 for a, b in zip(train, train[1:])), train      # falls with size
    assert train[0] - train[-1] > 0.2, train
    i = test.index(min(test))
    assert 0 < i < len(test) - 1 and s.best_inside, test
    assert test[i] < test[0] - 0.1 and test[i] < test[-1], test
