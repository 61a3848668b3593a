"""Models by name, their data, and ``model.npz``: parameters by dotted name plus the run's settings.

A saved model is rebuilt from its settings (dataset, model, backend, hidden, seed, samples) and
its parameters are put back, so ``minitorch predict`` and the API see the trained model again.
"""

from __future__ import annotations

import importlib
import io
import json
import math
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .cli import CommandError
from .plots import FloatArray, IntArray

CONFIG_KEY = "__config__"
DIGIT_CLASSES = 10


def nn_module(name: str) -> Any:
    """The mt_nn submodule ``name``, imported when first needed."""
    return importlib.import_module(f"mt_nn.{name}")


def write_atomically(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``: an
    interrupt leaves the old file or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def save(path: Path, model: Any, config: dict[str, Any]) -> Path:
    """Write every parameter of ``model`` (by dotted name) and ``config`` into ``path``."""
    arrays: dict[str, Any] = {}
    for name, p in model.named_parameters():
        value = p.value
        arrays[name] = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value.data)
    arrays[CONFIG_KEY] = np.asarray(json.dumps(config))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return write_atomically(path, buffer.getvalue())


def build_model(config: dict[str, Any]) -> Any:
    """A fresh, untrained model for these settings."""
    if config["backend"] == "scalar":
        from mt_autodiff.train import ScalarNetwork

        return ScalarNetwork(config["hidden"], seed=config["seed"])
    models = nn_module("models")
    nn_module("nn").manual_seed(config["seed"])  # --seed fixes the initial weights too
    if config["model"] == "cnn":
        hidden = config["hidden"]
        return models.LeNet(channels=(hidden, 2 * hidden), backend=config["backend"])
    in_features = 64 if config["dataset"] == "digits" else 2
    out_features = DIGIT_CLASSES if config["dataset"] == "digits" else 2
    return models.MLP(in_features, config["hidden"], out_features, backend=config["backend"])


def load_data(config: dict[str, Any]) -> tuple[Any, Any]:
    """The train and test `Dataset` for these settings, on their backend."""
    data = nn_module("data")
    if config["dataset"] == "digits":
        train, test = data.digits_dataset(backend=config["backend"])
        if config["samples"] is not None and config["samples"] < len(train):
            train = first(train, config["samples"], config["backend"])
    else:
        train, test = data.points_dataset(
            config["dataset"], config["samples"], config["seed"], config["backend"]
        )
    return train, test


def first(dataset: Any, n: int, backend: str) -> Any:
    """The first ``n`` examples of ``dataset`` (a smaller run for quick looks and tests)."""
    from mt_tensor import tensor

    X, y = dataset.X.to_numpy()[:n], dataset.y.to_numpy()[:n]
    return nn_module("data").Dataset(tensor(X, backend=backend), tensor(y, backend=backend))


def _probabilities(model: Any, X: Any) -> FloatArray:
    return np.asarray(nn_module("train").predict_proba(model, X).to_numpy(), dtype=np.float64)


def point_proba(model: Any, backend: str) -> Any:
    """A function from an ``(n, 2)`` array to P(class 1), for decision-boundary plots."""
    from mt_tensor import tensor

    def proba(points: FloatArray) -> FloatArray:
        p = _probabilities(model, tensor(points, backend=backend))
        return p[:, 1] if p.ndim == 2 else p.ravel()

    return proba


def predict_classes(model: Any, X: Any) -> IntArray:
    """The most probable class of each row of ``X``."""
    return np.asarray(np.argmax(_probabilities(model, X), axis=1), dtype=np.int64)


@dataclass
class Loaded:
    """A model rebuilt from ``model.npz`` with the settings it was trained with."""

    model: Any
    config: dict[str, Any]

    def proba(self, points: FloatArray) -> FloatArray:
        """P(class 1) at each 2-D point."""
        if self.config["backend"] == "scalar":
            from mt_autodiff.train import predict

            return np.asarray(predict(self.model, points.tolist()), dtype=np.float64)
        return np.asarray(point_proba(self.model, self.config["backend"])(points))

    def test_accuracy(self) -> float:
        """Accuracy on the test split of the dataset it was trained on."""
        if self.config["backend"] == "scalar":
            from mt_operators import datasets

            n = self.config["samples"]
            test = datasets[self.config["dataset"].capitalize()](n, seed=self.config["seed"] + 1)
            pred = self.proba(np.asarray(test.X, dtype=np.float64)) > 0.5
            return float(np.mean(pred == np.asarray(test.y, dtype=bool)))
        _, test = load_data(self.config)
        y = test.y.to_numpy().astype(np.int64).ravel()
        return float(np.mean(predict_classes(self.model, test.X) == y))


MAX_CONFIG_BYTES = 4096
"""Largest ``__config__`` entry a model file may hold (a real one is about 200 bytes)."""
MAX_HEADER_BYTES = 1024
"""Largest ``.npy`` header read from a model file (numpy writes 128 bytes)."""


def parameter_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Each parameter's shape for these settings, worked out without building the model.

    The checkpoint reader compares these with the file before it builds anything, and the
    command line sizes a run by them; tests check them against the built models.
    """
    h = config["hidden"]
    if config["backend"] == "scalar":
        shapes: dict[str, tuple[int, ...]] = {}
        for layer, (n_in, n_out) in enumerate(((2, h), (h, h), (h, 1)), start=1):
            shapes |= {
                f"layer{layer}.weight_{i}_{j}": () for i in range(n_in) for j in range(n_out)
            }
            shapes |= {f"layer{layer}.bias_{j}": () for j in range(n_out)}
        return shapes
    if config["model"] == "cnn":
        c1, c2 = h, 2 * h
        return {
            "0.weight": (c1, 1, 3, 3), "0.bias": (c1,),
            "3.weight": (c2, c1, 3, 3), "3.bias": (c2,),
            "7.weight": (DIGIT_CLASSES, c2 * 4), "7.bias": (DIGIT_CLASSES,),
        }  # fmt: skip
    n_in, n_out = (64, DIGIT_CLASSES) if config["dataset"] == "digits" else (2, 2)
    return {
        "1.weight": (h, n_in), "1.bias": (h,),
        "3.weight": (h, h), "3.bias": (h,),
        "5.weight": (n_out, h), "5.bias": (n_out,),
    }  # fmt: skip


def parameter_count(config: dict[str, Any]) -> int:
    """How many numbers the model for these settings learns (closed form, nothing built)."""
    h = int(config["hidden"])
    if config["backend"] == "scalar":
        return 2 * h + h + h * h + h + h + 1
    return sum(math.prod(shape) for shape in parameter_shapes(config).values())


def _bad(path: Path, why: str) -> CommandError:
    return CommandError(f"{str(path)!r} is not a usable minitorch model: {why}", 2)


def _read_npy(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray[Any, Any]:
    """One ``.npy`` member, its header checked before its data is read (no object arrays, and
    no more data than the member holds)."""
    name = info.filename.removesuffix(".npy")
    try:
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }.get(version)
            if read_header is None:
                raise ValueError(f"unknown .npy version {version}")
            shape, fortran, dtype = read_header(f, max_header_size=MAX_HEADER_BYTES)
            if dtype.hasobject or dtype.kind not in "fU":
                raise _bad(path, f"{name} has dtype {dtype}, which a model file does not use")
            nbytes, holds = math.prod(shape) * dtype.itemsize, info.file_size - f.tell()
            if nbytes != holds:
                raise _bad(
                    path, f"{name} claims shape {shape} ({nbytes:,} bytes) but holds {holds:,}"
                )
            data = f.read(nbytes)
    except CommandError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise _bad(path, f"{name} cannot be read ({e})") from None
    if len(data) != nbytes:
        raise _bad(path, f"{name} is truncated")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _check_config(path: Path, text: str) -> dict[str, Any]:
    """The saved settings, each checked the way the command line checks them."""
    from .runs import check_settings

    try:
        config = json.loads(text)
    except ValueError:
        raise _bad(path, "its settings are not JSON") from None
    if not isinstance(config, dict):
        raise _bad(path, "its settings are not a JSON object")
    kinds = {"dataset": str, "model": str, "backend": str, "hidden": int, "seed": int}
    for key, kind in kinds.items():
        if type(config.get(key)) is not kind:
            a_kind = "a string" if kind is str else "an integer"
            raise _bad(path, f"setting {key!r} is {config.get(key)!r:.40}, not {a_kind}")
    if config.get("samples") is not None and type(config["samples"]) is not int:
        raise _bad(path, f"setting 'samples' is {config['samples']!r:.40}, not an integer")
    config.setdefault("samples", None)
    try:
        check_settings(config)
    except CommandError as e:
        raise _bad(path, f"its settings are refused: {e}") from None
    return config


def read(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]]]:
    """The settings and parameters in ``path``, every size checked against the file's size and
    the settings before anything large is read or built (`CommandError`, status 2)."""
    if path.is_dir():
        raise _bad(path, "it is a folder")
    if path.exists() and not path.is_file():
        raise _bad(path, "it is not a regular file")
    try:
        size = path.stat().st_size
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise CommandError(f"{str(path)!r} does not exist", 2) from None
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as e:
        raise _bad(path, f"not a .npz archive ({e})") from None
    with zf:
        infos = {info.filename: info for info in zf.infolist()}
        if f"{CONFIG_KEY}.npy" not in infos:
            raise _bad(path, "no saved settings (not written by minitorch train)")
        if len(infos) != len(zf.infolist()):
            raise _bad(path, "it has duplicate entries")
        bad_names = [n for n in infos if not n.endswith(".npy") or n.startswith("/")]
        if bad_names:
            raise _bad(path, f"unexpected entries {bad_names[:3]}")
        declared = sum(info.file_size for info in infos.values())
        if declared > 2 * size + 4096:
            raise _bad(path, f"its entries unpack to {declared:,} bytes from {size:,} (zip bomb?)")
        config_info = infos.pop(f"{CONFIG_KEY}.npy")
        if config_info.file_size > MAX_CONFIG_BYTES:
            raise _bad(path, f"its settings take {config_info.file_size:,} bytes")
        text = _read_npy(path, zf, config_info)
        if text.shape != () or text.dtype.kind != "U":
            raise _bad(path, "its settings are not one string")
        config = _check_config(path, str(text[()]))
        if 2 * parameter_count(config) > size:
            raise _bad(
                path,
                f"its settings describe {parameter_count(config):,} parameters; "
                f"a file of {size:,} bytes cannot hold them",
            )
        expected = parameter_shapes(config)
        names = {n.removesuffix(".npy") for n in infos}
        if names != set(expected):
            missing, extra = sorted(set(expected) - names), sorted(names - set(expected))
            raise _bad(
                path,
                f"its parameters do not match the model its settings describe "
                f"(missing {missing[:3]}, unexpected {extra[:3]})",
            )
        arrays = {}
        for name, shape in expected.items():
            array = _read_npy(path, zf, infos[f"{name}.npy"])
            if array.dtype.kind != "f":
                raise _bad(path, f"parameter {name} has dtype {array.dtype}, not floats")
            if array.shape != shape:
                raise _bad(
                    path, f"parameter {name} has shape {array.shape}; the model needs {shape}"
                )
            arrays[name] = array
    return config, arrays


def load(path: Path) -> Loaded:
    """Rebuild the model saved at ``path`` (`CommandError`, status 2, if the file is not a
    minitorch model or does not match the settings saved in it)."""
    config, arrays = read(path)
    model = build_model(config)
    for name, p in model.named_parameters():
        if config["backend"] == "scalar":
            from mt_autodiff import Scalar

            p.update(Scalar(float(arrays[name])))
        else:
            from mt_tensor import tensor

            p.update(tensor(np.array(arrays[name], dtype=np.float64), backend=config["backend"]))
    return Loaded(model, config)
