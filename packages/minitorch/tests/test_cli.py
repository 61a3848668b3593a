"""``minitorch train`` and ``minitorch predict`` as a user runs them: processes, files, errors."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from minitorch.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SUMMARY_ROWS = (
    "dataset",
    "backend",
    "parameters",
    "epochs",
    "train accuracy",
    "test accuracy",
    "seconds / epoch",
)


def minitorch(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed command in a fresh interpreter."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "minitorch", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def assert_run_folder(out: Path, pictures: tuple[str, ...], epochs: int) -> dict[str, object]:
    """Every picture is a PNG and metrics.json holds the history and the summary."""
    for name in pictures:
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) >= {"config", "history", "summary"}
    assert set(metrics["history"]) >= {"loss", "train_acc", "test_acc", "seconds"}
    assert len(metrics["history"]["loss"]) == epochs
    assert metrics["summary"]["epochs"] == epochs
    assert (out / "model.npz").stat().st_size > 0
    return metrics  # type: ignore[no-any-return]  # json.loads is untyped


def test_scalar_train_writes_plots_metrics_and_model(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = minitorch(
        "train", "--dataset", "simple", "--backend", "scalar", "--epochs", "3",
        "--samples", "12", "--hidden", "2", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for row in SUMMARY_ROWS:
        assert row in done.stdout
    assert str(out) in done.stdout
    metrics = assert_run_folder(out, ("loss.png", "boundary.png"), epochs=3)
    assert metrics["summary"]["backend"] == "scalar"  # type: ignore[index]  # json value

    predicted = minitorch("predict", str(out / "model.npz"), "--point", "0.1", "0.5")
    assert predicted.returncode == 0, predicted.stderr
    assert "P(class 1)" in predicted.stdout
    evaluated = minitorch("predict", str(out / "model.npz"))
    assert evaluated.returncode == 0, evaluated.stderr
    assert "test accuracy" in evaluated.stdout


def test_the_command_and_library_do_not_need_the_app_extra() -> None:
    check = (
        "import sys, minitorch, minitorch.cli, minitorch.runs, minitorch.checkpoint; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def status_of(argv: list[str]) -> int | str | None:
    """The exit status of ``main``, whether argparse exits or the command returns."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


BAD_ARGUMENTS = [
    (["--dataset", "mnist"], "invalid choice: 'mnist'"),
    (["--epochs", "0"], "--epochs: must be at least 1, got 0"),
    (["--lr", "-0.1"], "--lr: must be a positive number, got -0.1"),
    (["--lr", "nan"], "--lr: must be a positive number"),
    (["--batch", "two"], "--batch: expected an integer, got 'two'"),
    (["--dataset", "digits", "--backend", "scalar"], "small 2-D datasets only"),
    (["--dataset", "xor", "--model", "cnn"], "--model cnn needs images"),
    (["--dataset", "xor", "--hidden", "100000"], "GiB of memory (the limit is 4.0 GiB)"),
    (["--dataset", "xor", "--samples", "1e8"], "--samples 100000000 would need about"),
    (["--dataset", "xor", "--backend", "scalar", "--samples", "1e9"], "GiB of memory"),
    (["--samples", "1.5"], "--samples: expected an integer, got '1.5'"),
    (["--dataset", "xor", "--backend", "scalar", "--schedule", "cosine"], "constant rate"),
]


@pytest.mark.parametrize(("args", "message"), BAD_ARGUMENTS)
def test_bad_arguments_are_one_line_with_status_2(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert status_of(["train", *args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_unwritable_out_is_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["train", "--out", str(blocker / "run")]) == 2
    err = capsys.readouterr().err
    assert "cannot write to" in err and str(blocker / "run") in err
    assert err.count("\n") == 1


def test_a_missing_optional_dependency_is_one_line_with_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from minitorch import checkpoint

    def no_sklearn(config: object, backend: object) -> None:
        raise ImportError("the digits dataset ships with scikit-learn: pip install mt-nn[datasets]")

    monkeypatch.setattr(checkpoint, "load_data", no_sklearn)
    out = tmp_path / "run"
    assert main(["train", "--backend", "numpy", "--out", str(out), "--quiet"]) == 1
    assert not out.exists()  # a run that fails before training leaves no folder
    err = capsys.readouterr().err
    assert err == (
        "minitorch train: error: the digits dataset ships with scikit-learn: "
        "pip install mt-nn[datasets]\n"
    )


def test_defaults_follow_the_dataset_and_give_way_to_arguments(tmp_path: Path) -> None:
    from minitorch.cli import build_parser
    from minitorch.settings import DEFAULTS, TrainConfig

    def config(*argv: str) -> TrainConfig:
        args = build_parser().parse_args(["train", *argv, "--out", str(tmp_path)])
        return TrainConfig.from_args(args)

    bare = config()
    assert (bare.dataset, bare.model, bare.backend) == ("digits", "cnn", "fast")
    assert bare.epochs == DEFAULTS[("digits", "cnn")].epochs
    assert config("--dataset", "xor").hidden == DEFAULTS[("points", "mlp")].hidden
    assert config("--dataset", "spiral").hidden == DEFAULTS[("spiral", "mlp")].hidden
    scalar = config("--dataset", "xor", "--backend", "scalar", "--hidden", "3")
    assert (scalar.hidden, scalar.epochs) == (3, DEFAULTS[("points", "scalar")].epochs)


def test_predict_rejects_a_file_that_is_not_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "model.npz"
    bogus.write_bytes(b"not numpy")
    assert main(["predict", str(bogus)]) == 2
    assert str(bogus) in capsys.readouterr().err


def test_tensor_train_on_points_draws_the_boundary(tmp_path: Path) -> None:
    out = tmp_path / "points"
    done = minitorch(
        "train", "--dataset", "circle", "--backend", "numpy", "--epochs", "2",
        "--samples", "40", "--hidden", "4", "--out", str(out), "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    metrics = assert_run_folder(out, ("loss.png", "boundary.png"), epochs=2)
    summary: dict[str, object] = metrics["summary"]  # type: ignore[assignment]  # json value
    assert summary["backend"] == "numpy" and summary["model"] == "mlp"
    assert f"{summary['test_acc']:.3f}" in done.stdout


def _xor_fast(out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A small xor run on the fast backend, with ``env`` added to the environment."""
    args = ["train", "--dataset", "xor", "--backend", "fast", "--epochs", "2", "--samples", "40"]
    args += ["--hidden", "4", "--seed", "3", "--out", str(out)]
    return subprocess.run(
        [sys.executable, "-m", "minitorch", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg", **env},
        timeout=300,
    )


def _losses(out: Path) -> list[float]:
    return json.loads((out / "metrics.json").read_text())["history"]["loss"]  # type: ignore[no-any-return]  # json


def test_fast_backend_compiles_outside_the_timed_epochs_then_starts_warm(tmp_path: Path) -> None:
    first = _xor_fast(tmp_path / "first", MINITORCH_BACKGROUND_COMPILE="0")
    assert first.returncode == 0, first.stderr  # compiled here (or started warm): stamped now
    summary = assert_run_folder(tmp_path / "first", ("loss.png",), epochs=2)["summary"]
    assert summary["fallback_epochs"] == 0  # type: ignore[index]
    out = tmp_path / "warm"
    done = _xor_fast(out, MINITORCH_BACKGROUND_COMPILE="1")
    assert done.returncode == 0, done.stderr
    assert "compiling" not in done.stderr  # the first run stamped these settings
    metrics = assert_run_folder(out, ("loss.png", "boundary.png"), epochs=2)
    summary = metrics["summary"]
    assert summary["warm_up_seconds"] == 0 and summary["fallback_epochs"] == 0  # type: ignore[index]
    assert "warm-up" not in done.stdout and "while compiling" not in done.stdout
    assert summary["seconds"] == pytest.approx(sum(metrics["history"]["seconds"]))  # type: ignore[index]
    assert _losses(out) == pytest.approx(_losses(tmp_path / "first"), rel=1e-9)


def test_a_cold_cache_trains_on_numpy_while_another_process_compiles(tmp_path: Path) -> None:
    """From an empty numba cache (its own folder): the run starts at once on numpy, the other
    process fills the cache, and the next run starts on the kernels with the same losses.
    Compiles every kernel of a small MLP once (about 25 s of CPU)."""
    cache = tmp_path / "numba-cache"
    cold = _xor_fast(
        tmp_path / "cold", NUMBA_CACHE_DIR=str(cache), MINITORCH_BACKGROUND_COMPILE="1"
    )
    assert cold.returncode == 0, cold.stderr
    assert "in another process" in cold.stderr and "kernels (numba;" not in cold.stderr
    summary = assert_run_folder(tmp_path / "cold", ("loss.png",), epochs=2)["summary"]
    assert summary["fallback_epochs"] >= 1 and not summary["compiled_kernels"]  # type: ignore[index]
    (lock,) = cache.rglob("warm-*.pid")
    pid = int(lock.read_text())
    for _ in range(600):  # the compile, at most ten minutes on a loaded machine
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(1.0)
    warm = _xor_fast(
        tmp_path / "warm", NUMBA_CACHE_DIR=str(cache), MINITORCH_BACKGROUND_COMPILE="1"
    )
    assert warm.returncode == 0, warm.stderr
    assert "compiling" not in warm.stderr, (lock.with_suffix(".log").read_text(), warm.stderr)
    summary = assert_run_folder(tmp_path / "warm", ("loss.png",), epochs=2)["summary"]
    assert summary["fallback_epochs"] == 0  # type: ignore[index]
    assert _losses(tmp_path / "warm") == pytest.approx(_losses(tmp_path / "cold"), rel=1e-9)


def test_digits_cnn_run_saves_confusion_and_misclassified(tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="digits need scikit-learn (mt-nn[datasets])")
    out = tmp_path / "digits"
    done = minitorch(
        "train", "--backend", "numpy", "--epochs", "1", "--samples", "64", "--hidden", "2",
        "--out", str(out), "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "digits" in done.stdout and "cnn" in done.stdout
    assert_run_folder(out, ("loss.png", "confusion.png", "misclassified.png"), epochs=1)
    evaluated = minitorch("predict", str(out / "model.npz"))
    assert evaluated.returncode == 0, evaluated.stderr
    assert "test accuracy" in evaluated.stdout


def test_cuda_without_a_gpu_fails_in_one_line(tmp_path: Path) -> None:
    # The workspace conftest turns numba's CUDA simulator on for in-process tests, so whether a
    # real GPU is here is asked, like the command itself runs, in a process without it.
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    probe = subprocess.run(
        [sys.executable, "-c", "from numba import cuda; print(cuda.is_available())"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    if probe.stdout.strip() != "False":
        pytest.skip(f"a GPU is present (or numba is missing): {probe.stdout or probe.stderr}")
    done = subprocess.run(
        [sys.executable, "-m", "minitorch", "train", "--dataset", "xor", "--backend", "cuda",
         "--epochs", "1", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("minitorch train: error: backend 'cuda' is not available")
    assert "NUMBA_ENABLE_CUDASIM" in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "run").exists()  # no empty run folder left behind


def test_api_run_makes_its_folder_and_the_saved_model_reloads(tmp_path: Path) -> None:
    import numpy as np

    from minitorch.checkpoint import load
    from minitorch.runs import TrainConfig, run

    config = TrainConfig(
        dataset="circle", model="mlp", backend="numpy", hidden=4, epochs=2, lr=0.05, batch=16,
        samples=40, out=tmp_path / "new" / "run",
    )  # fmt: skip
    result = run(config, progress=False)
    assert {p.name for p in result.files} == {
        "loss.png",
        "boundary.png",
        "metrics.json",
        "model.npz",
    }
    loaded = load(tmp_path / "new" / "run" / "model.npz")
    assert loaded.test_accuracy() == result.summary["test_acc"]
    p = loaded.proba(np.array([[0.5, 0.5], [0.0, 1.0]]))
    assert p.shape == (2,) and np.all((p >= 0) & (p <= 1))


TINY_SCALAR = ("train", "--dataset", "simple", "--backend", "scalar", "--epochs", "2",
               "--samples", "8", "--hidden", "2")  # fmt: skip


def test_a_non_empty_out_is_refused_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "confusion.png").write_bytes(b"from an older digits run")
    refused = minitorch(*TINY_SCALAR, "--out", str(out))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "already holds files" in refused.stderr and "--force" in refused.stderr
    assert sorted(p.name for p in out.iterdir()) == ["confusion.png", "notes.txt"]

    forced = minitorch(*TINY_SCALAR, "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    names = sorted(p.name for p in out.iterdir())  # no temporary files, no stale picture
    assert names == ["boundary.png", "loss.png", "metrics.json", "model.npz", "notes.txt"]
    assert (out / "notes.txt").read_text() == "mine"


def test_an_empty_out_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "minitorch", *TINY_SCALAR, "--out", ""],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--out: must name a folder, got an empty string" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_files_are_replaced_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from minitorch import checkpoint

    target = tmp_path / "model.npz"
    target.write_bytes(b"old")

    def interrupted(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.write_atomically(target, b"new" * 1000)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    monkeypatch.undo()
    checkpoint.write_atomically(target, b"new")
    assert target.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_ctrl_c_saves_what_was_trained_so_far(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "minitorch", "train", "--dataset", "xor", "--backend", "numpy",
         "--epochs", "100000", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )  # fmt: skip
    assert proc.stderr is not None
    estimate = proc.stderr.readline()
    assert estimate.startswith("this run will take about "), estimate
    first = proc.stderr.readline()  # stderr is a pipe: one line per epoch (or few seconds)
    assert "epoch 1/100000" in first, first
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted after" in stderr and "saved what was trained so far" in stderr
    metrics = json.loads((out / "metrics.json").read_text())
    epochs = metrics["summary"]["epochs"]
    assert 1 <= epochs < 100000 and metrics["summary"]["interrupted"] is True
    assert len(metrics["history"]["loss"]) == epochs
    assert f"interrupted after {epochs} of 100000 epochs" in stderr
    predicted = minitorch("predict", str(out / "model.npz"), "--point", "0.1", "0.9")
    assert predicted.returncode == 0, predicted.stderr


def test_the_compile_notice_appears_only_when_numba_compiles(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import numba

    from minitorch.warmup import compile_notice

    @numba.njit(cache=False)
    def twice(x: float) -> float:
        return 2 * x

    with compile_notice("fast", enabled=True) as compiled:
        assert twice(1.0) == 2.0
    assert compiled and "compiling the fast backend's kernels" in capsys.readouterr().err
    with compile_notice("fast", enabled=True) as compiled:
        assert twice(2.0) == 4.0  # already compiled for floats
    assert not compiled and capsys.readouterr().err == ""


def test_every_option_has_help() -> None:
    import argparse

    from minitorch.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in [("minitorch", parser), *subparsers.choices.items()]:
        for action in sub._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, f"{name} {action.dest} has no help"
    shown = minitorch("train", "--help")
    assert shown.returncode == 0
    for words in ("--epochs EPOCHS", "passes over the training data", "fixes the data"):
        assert words in shown.stdout


def test_piped_progress_is_a_line_per_epoch_not_carriage_returns(tmp_path: Path) -> None:
    done = minitorch(
        "train", "--dataset", "xor", "--backend", "numpy", "--epochs", "3", "--samples", "40",
        "--hidden", "4", "--out", str(tmp_path / "run"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("xor numpy: epoch 1/3  loss ") and "test " in lines[0]
    assert lines[-1].startswith("xor numpy: epoch 3/3  loss ")


def test_a_run_of_minutes_says_so_before_it_starts(tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="digits need scikit-learn (mt-nn[datasets])")
    proc = subprocess.Popen(
        [sys.executable, "-m", "minitorch", "train", "--backend", "simple",
         "--out", str(tmp_path / "run")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    first = proc.stderr.readline()
    proc.send_signal(signal.SIGINT)  # before the first epoch ends: nothing is saved
    _, rest = proc.communicate(timeout=300)
    assert first.startswith("this run will take about ") and " (15 epochs on the simple" in first
    assert proc.returncode == 130 and rest == "minitorch train: interrupted\n"
    assert not (tmp_path / "run").exists()


def test_the_cosine_schedule_falls_from_lr_to_zero(tmp_path: Path) -> None:
    from minitorch.cli import build_parser
    from minitorch.runs import TrainConfig, learning_rate

    args = build_parser().parse_args(["train", "--dataset", "xor", "--out", str(tmp_path)])
    config = TrainConfig.from_args(args)
    assert config.schedule == "cosine"
    rates = [learning_rate(config, e) for e in range(config.epochs + 1)]
    assert rates[0] == config.lr and rates[-1] == pytest.approx(0.0, abs=1e-15)
    assert all(a > b for a, b in itertools.pairwise(rates))
    assert rates[config.epochs // 2] == pytest.approx(config.lr / 2)
    constant = TrainConfig(lr=0.1, epochs=4, schedule="constant")
    assert {learning_rate(constant, e) for e in range(4)} == {0.1}


def test_a_backend_registered_by_entry_point_trains_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import metadata

    from mt_tensor import TensorBackend, backends
    from mt_tensor.numpy_ops import NumpyOps

    def mine() -> TensorBackend:
        return TensorBackend(NumpyOps(), name="mine")

    monkeypatch.setattr(backends, "_mine", mine, raising=False)
    point = metadata.EntryPoint("mine", "mt_tensor.backends:_mine", backends.ENTRY_POINT_GROUP)
    registered = {**backends._entry_points(), "mine": point}
    monkeypatch.setattr(backends, "_entry_points", lambda: registered)
    monkeypatch.setattr(backends, "_loaded", {})

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "mine (cpu)" in " ".join(capsys.readouterr().out.split())
    out = tmp_path / "run"
    argv = ["--dataset", "xor", "--backend", "mine", "--epochs", "2", "--samples", "20"]
    assert main(["train", *argv, "--hidden", "3", "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["summary"]["backend"] == "mine" and metrics["config"]["backend"] == "mine"


def test_train_help_describes_each_backend(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "fast (cpu, compiled on first use)" in shown and "numpy (cpu)" in shown
