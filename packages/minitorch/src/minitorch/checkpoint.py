"""Models by name, their data, and ``model.npz``: parameters by dotted name plus the run's settings.

A saved model is rebuilt from its settings (dataset, model, backend, hidden, seed, samples) and
its parameters are put back, so ``minitorch predict`` and the API see the trained model again.
The two run kinds meet here once each: the stage-1 `ScalarNetwork` and the tensor models (`MLP`,
`LeNet`) on a `TensorBackend` resolved by the caller.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import mt_nn
from mt_autodiff import Scalar
from mt_autodiff.train import ScalarNetwork
from mt_autodiff.train import predict as scalar_predict
from mt_operators import Module
from mt_operators import datasets as point_sets
from mt_tensor import Tensor, TensorBackend, get_backend

from .plots import FloatArray, IntArray
from .settings import (
    DIGIT_CLASSES,
    CommandError,
    TrainConfig,
    check_settings,
    parameter_count,
    parameter_shapes,
)

CONFIG_KEY = "__config__"
Model = ScalarNetwork | Module
"""A trained model of either run kind."""


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


def _values(value: Scalar | Tensor) -> np.ndarray[tuple[int, ...], np.dtype[np.float64]]:
    return np.asarray(value.to_numpy() if isinstance(value, Tensor) else value.data)


def save(path: Path, model: Model, config: TrainConfig) -> Path:
    """Write every parameter of ``model`` (by dotted name) and ``config`` into ``path``."""
    arrays: dict[str, np.ndarray[tuple[int, ...], np.dtype[np.generic]]] = {
        n: _values(p.value) for n, p in model.named_parameters()
    }
    arrays[CONFIG_KEY] = np.asarray(json.dumps(config.saved()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # what np.savez writes: one .npy per array
        for name, values in arrays.items():
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, values, allow_pickle=False)
    return write_atomically(path, buffer.getvalue())


def build_scalar(config: TrainConfig) -> ScalarNetwork:
    """A fresh, untrained Scalar MLP for these settings."""
    return ScalarNetwork(config.hidden, seed=config.seed)


def build_tensor(config: TrainConfig, backend: TensorBackend) -> Module:
    """A fresh, untrained tensor model for these settings, on ``backend``."""
    mt_nn.manual_seed(config.seed)  # --seed fixes the initial weights too
    if config.model == "cnn":
        return mt_nn.LeNet(channels=(config.hidden, 2 * config.hidden), backend=backend)
    in_features = 64 if config.is_digits else 2
    out_features = DIGIT_CLASSES if config.is_digits else 2
    return mt_nn.MLP(in_features, config.hidden, out_features, backend=backend)


def build_model(config: TrainConfig) -> Model:
    """A fresh, untrained model of either kind (the tensor backend looked up by name)."""
    if config.kind == "scalar":
        return build_scalar(config)
    return build_tensor(config, get_backend(config.backend))


def load_data(config: TrainConfig, backend: TensorBackend) -> tuple[mt_nn.Dataset, mt_nn.Dataset]:
    """The train and test `Dataset` for these settings, on ``backend``."""
    if config.is_digits:
        train, test = mt_nn.digits_dataset(backend=backend)
        if config.samples is not None and config.samples < len(train):
            train = first(train, config.samples, backend)
    else:
        n = {} if config.samples is None else {"n": config.samples}  # else points_dataset's
        train, test = mt_nn.points_dataset(config.dataset, seed=config.seed, backend=backend, **n)
    return train, test


def first(dataset: mt_nn.Dataset, n: int, backend: TensorBackend) -> mt_nn.Dataset:
    """The first ``n`` examples of ``dataset`` (a smaller run for quick looks and tests)."""
    X, y = dataset.X.to_numpy()[:n], dataset.y.to_numpy()[:n]
    return mt_nn.Dataset(Tensor.from_numpy(X, backend), Tensor.from_numpy(y, backend))


def _probabilities(model: Module, X: Tensor) -> FloatArray:
    return np.asarray(mt_nn.predict_proba(model, X).to_numpy(), dtype=np.float64)


def point_proba(model: Module, backend: TensorBackend) -> Callable[[FloatArray], FloatArray]:
    """A function from an ``(n, 2)`` array to P(class 1), for decision-boundary plots."""

    def proba(points: FloatArray) -> FloatArray:
        p = _probabilities(model, Tensor.from_numpy(points, backend))
        return p[:, 1] if p.ndim == 2 else p.ravel()

    return proba


def predict_classes(model: Module, X: Tensor) -> IntArray:
    """The most probable class of each row of ``X``."""
    return np.asarray(np.argmax(_probabilities(model, X), axis=1), dtype=np.int64)


@dataclass
class Loaded:
    """A model rebuilt from ``model.npz`` with the settings it was trained with."""

    config: TrainConfig

    def proba(self, points: FloatArray) -> FloatArray:
        """P(class 1) at each 2-D point."""
        raise NotImplementedError

    def test_accuracy(self) -> float:
        """Accuracy on the test split of the dataset it was trained on."""
        raise NotImplementedError


@dataclass
class LoadedScalar(Loaded):
    """A Scalar MLP read back."""

    model: ScalarNetwork

    def proba(self, points: FloatArray) -> FloatArray:
        return np.asarray(scalar_predict(self.model, points.tolist()), dtype=np.float64)

    def test_accuracy(self) -> float:
        c = self.config
        test = point_sets[c.dataset.capitalize()](c.samples, seed=c.seed + 1)
        pred = self.proba(np.asarray(test.X, dtype=np.float64)) > 0.5
        return float(np.mean(pred == np.asarray(test.y, dtype=bool)))


@dataclass
class LoadedTensor(Loaded):
    """A tensor model read back, on its backend."""

    model: Module
    backend: TensorBackend

    def proba(self, points: FloatArray) -> FloatArray:
        return np.asarray(point_proba(self.model, self.backend)(points))

    def test_accuracy(self) -> float:
        _, test = load_data(self.config, self.backend)
        y = test.y.to_numpy().astype(np.int64).ravel()
        return float(np.mean(predict_classes(self.model, test.X) == y))


MAX_CONFIG_BYTES = 4096
"""Largest ``__config__`` entry a model file may hold (a real one is about 200 bytes)."""
MAX_HEADER_BYTES = 1024
"""Largest ``.npy`` header read from a model file (numpy writes 128 bytes)."""


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


def _check_config(path: Path, text: str) -> TrainConfig:
    """The saved settings, each checked the way the command line checks them."""
    try:
        values = json.loads(text)
    except ValueError:
        raise _bad(path, "its settings are not JSON") from None
    if not isinstance(values, dict):
        raise _bad(path, "its settings are not a JSON object")
    kinds = {"dataset": str, "model": str, "backend": str, "hidden": int, "seed": int}
    for key, kind in kinds.items():
        if type(values.get(key)) is not kind:
            a_kind = "a string" if kind is str else "an integer"
            raise _bad(path, f"setting {key!r} is {values.get(key)!r:.40}, not {a_kind}")
    if values.get("samples") is not None and type(values["samples"]) is not int:
        raise _bad(path, f"setting 'samples' is {values['samples']!r:.40}, not an integer")
    config = TrainConfig.from_saved(values)
    try:
        check_settings(config)
    except CommandError as e:
        raise _bad(path, f"its settings are refused: {e}") from None
    return config


def read(path: Path) -> tuple[TrainConfig, dict[str, np.ndarray[Any, Any]]]:
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
    if config.kind == "scalar":
        scalar = build_scalar(config)
        for name, p in scalar.named_parameters():
            p.update(Scalar(float(arrays[name])))
        return LoadedScalar(config, scalar)
    backend = get_backend(config.backend)
    model = build_tensor(config, backend)
    for name, p in model.named_parameters():
        p.update(Tensor.from_numpy(arrays[name], backend))
    return LoadedTensor(config, model, backend)
