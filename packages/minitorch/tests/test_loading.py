"""Crafted files against the two readers: ``minitorch predict`` (``model.npz``) and
``minitorch.torch.load`` (pickles). Every bad file is refused, in one line, before anything
large is built, and no file can make loading run code."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from minitorch import checkpoint, settings
from minitorch import torch as mt_torch
from minitorch.settings import TrainConfig
from minitorch.torch import nn
from minitorch.torch.tensors import _unpickle

MLP_CONFIG = {
    "dataset": "xor", "model": "mlp", "backend": "numpy", "hidden": 3, "epochs": 1,
    "lr": 0.05, "batch": 16, "seed": 0, "samples": 20, "out": None,
}  # fmt: skip
SCALAR_CONFIG = {**MLP_CONFIG, "backend": "scalar", "hidden": 2}


def saved(config: dict[str, Any]) -> dict[str, np.ndarray[Any, Any]]:
    """The arrays ``checkpoint.save`` writes for an untrained model with these settings."""
    buffer = io.BytesIO()
    arrays: dict[str, Any] = arrays_of(config)
    np.savez(buffer, **arrays)
    with np.load(io.BytesIO(buffer.getvalue())) as f:
        return {k: f[k] for k in f.files}


def arrays_of(config: dict[str, Any]) -> dict[str, np.ndarray[Any, Any]]:
    model = checkpoint.build_model(TrainConfig.from_saved(config))
    out = {}
    for name, p in model.named_parameters():
        value = p.value
        out[name] = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value.data)
    out[checkpoint.CONFIG_KEY] = np.asarray(json.dumps(config))
    return out


def npz(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def with_config(**changes: Any) -> bytes:
    """The MLP's file with its settings changed (``None`` removes a setting)."""
    config = {k: v for k, v in {**MLP_CONFIG, **changes}.items() if v is not None}
    return npz(**{**saved(MLP_CONFIG), checkpoint.CONFIG_KEY: np.asarray(json.dumps(config))})


def with_arrays(**changes: Any) -> bytes:
    """The MLP's file with some arrays replaced (``None`` removes one)."""
    arrays = {**saved(MLP_CONFIG), **changes}
    return npz(**{k: v for k, v in arrays.items() if v is not None})


def zip_of(members: dict[str, bytes], compress: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compress) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def npy_bytes(header: dict[str, Any], data: bytes, version: bytes = b"\x01\x00") -> bytes:
    text = repr(header).encode("latin1")
    text += b" " * (63 - (len(text) + 10) % 64) + b"\n"
    return b"\x93NUMPY" + version + len(text).to_bytes(2, "little") + text + data


def with_member(name: str, data: bytes) -> bytes:
    """The MLP's file with one raw ``.npy`` member replaced or added."""
    members = {}
    with zipfile.ZipFile(io.BytesIO(with_arrays())) as zf:
        for info in zf.infolist():
            members[info.filename] = zf.read(info)
    return zip_of({**members, name: data})


def zip_bomb(member: str) -> bytes:
    """The model's file with ``member`` 64 MiB of zeros, deflated to about 64 KiB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, array in saved(MLP_CONFIG).items():
            if f"{name}.npy" != member:
                zf.writestr(f"{name}.npy", npy_of(array))
        with zf.open(member, "w", force_zip64=True) as f:
            f.write(npy_bytes({"descr": "<f8", "fortran_order": False, "shape": (2**23,)}, b""))
            for _ in range(64):
                f.write(bytes(2**20))
    return buffer.getvalue()


def duplicated(member: str) -> bytes:
    """The model's file with ``member`` written twice."""
    buffer = io.BytesIO(with_arrays())
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(buffer, "a") as zf:
        zf.writestr(member, npy_of(np.zeros(3)))
    return buffer.getvalue()


def npy_of(array: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npz_member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(f"{name}.npy")


class Payload:
    """Runs ``touch`` on the marker path when unpickled by an unrestricted loader."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def valid_model() -> bytes:
    return with_arrays()


# (id, how to make the file from a marker path, words the one-line error must contain)
NPZ_CASES: list[tuple[str, Callable[[Path], bytes | str], str]] = [
    ("empty file", lambda m: b"", "not a .npz archive"),
    ("text file", lambda m: b"hello, world\n", "not a .npz archive"),
    ("truncated to half", lambda m: valid_model()[: len(valid_model()) // 2], "not a .npz"),
    ("truncated to 100 bytes", lambda m: valid_model()[:100], "not a .npz archive"),
    ("last 30 bytes cut", lambda m: valid_model()[:-30], "not a .npz archive"),
    ("wrong zip magic", lambda m: b"XX" + valid_model()[2:], "cannot be read"),
    ("one data byte flipped (bad CRC)", lambda m: flip_data(valid_model()), "Bad CRC"),
    ("pickle with a __reduce__ payload", lambda m: pickle.dumps(Payload(m)), "not a .npz"),
    ("torch.save file", lambda m: torch_file(), "not a .npz archive"),
    (
        "object array member with a payload",
        lambda m: npz_object_payload(m),
        "dtype object",
    ),
    ("zip bomb in a parameter", lambda m: zip_bomb("1.weight.npy"), "zip bomb"),
    ("zip bomb in an extra entry", lambda m: zip_bomb("x.npy"), "zip bomb"),
    ("zip bomb as the settings", lambda m: zip_bomb("__config__.npy"), "zip bomb"),
    ("duplicate entries", lambda m: duplicated("1.bias.npy"), "duplicate entries"),
    ("no settings", lambda m: with_arrays(__config__=None), "no saved settings"),
    ("settings not JSON", lambda m: with_arrays(__config__=np.asarray("{hidden")), "not JSON"),
    ("settings a JSON list", lambda m: with_arrays(__config__=np.asarray("[1]")), "JSON object"),
    ("settings as a 2-D array", lambda m: with_arrays(__config__=np.zeros((2, 2))), "one string"),
    ("settings as bytes dtype", lambda m: with_arrays(__config__=np.asarray(b"{}")), "dtype |S2"),
    (
        "settings larger than 4 KiB",
        lambda m: with_arrays(__config__=np.asarray(json.dumps({"x": "y" * 5000}))),
        "settings take",
    ),
    ("setting hidden missing", lambda m: with_config(hidden=None), "'hidden' is None, not an"),
    ("hidden=20000 in a tiny file", lambda m: with_config(hidden=20000), "of memory"),
    ("hidden=1000 in a tiny file", lambda m: with_config(hidden=1000), "cannot hold them"),
    ("hidden as a string", lambda m: with_config(hidden="3"), "not an integer"),
    ("hidden as a float", lambda m: with_config(hidden=3.0), "not an integer"),
    ("hidden negative", lambda m: with_config(hidden=-3), "whole number"),
    ("hidden 10**30", lambda m: with_config(hidden=10**30), "of memory"),
    ("samples 10**9", lambda m: with_config(samples=10**9), "of memory"),
    ("samples as a float", lambda m: with_config(samples=1e8), "not an integer"),
    ("unknown dataset", lambda m: with_config(dataset="mnist"), "unknown dataset"),
    ("unknown backend", lambda m: with_config(backend="gpu2"), "unknown backend"),
    ("cnn on a 2-D dataset", lambda m: with_config(model="cnn"), "needs images"),
    ("scalar backend with cnn", lambda m: with_config(backend="scalar", model="cnn"), "only"),
    ("parameter missing", lambda m: with_arrays(**{"5.bias": None}), "missing ['5.bias']"),
    ("extra parameter", lambda m: with_arrays(extra=np.zeros(2)), "unexpected ['extra']"),
    ("bias cut to (1,)", lambda m: with_arrays(**{"5.bias": np.zeros(1)}), "(1,); the model"),
    ("weight transposed", lambda m: with_arrays(**{"1.weight": np.zeros((2, 3))}), "(3, 2)"),
    ("weight of int64", lambda m: with_arrays(**{"1.weight": np.zeros((3, 2), np.int64)}), "int64"),
    (
        "weight of complex",
        lambda m: with_arrays(**{"1.weight": np.zeros((3, 2), complex)}),
        "complex128",
    ),
    ("weight of strings", lambda m: with_arrays(**{"1.weight": np.asarray("ab")}), "dtype <U2"),
    (
        "header claims 10**12 elements",
        lambda m: with_member("3.weight.npy", huge_header()),
        "but holds 48",
    ),
    (
        "data cut short",
        lambda m: with_member("1.weight.npy", npz_member(valid_model(), "1.weight")[:-8]),
        "(48 bytes) but holds 40",
    ),
    ("bad .npy magic", lambda m: with_member("1.weight.npy", b"NOTNUMPY" + bytes(200)), "magic"),
    (
        "unknown .npy version",
        lambda m: with_member("1.weight.npy", npy_bytes({}, b"", b"\x07\x00")),
        "version",
    ),
    (
        ".npy header over 1 KiB",
        lambda m: with_member(
            "1.weight.npy",
            npy_bytes(
                {"descr": "<f8", "fortran_order": False, "shape": (3, 2), "x": "y" * 2000}, b""
            ),
        ),
        "cannot be read",
    ),
    ("member not .npy", lambda m: with_member("readme.txt", b"hi"), "unexpected entries"),
    ("member in a folder", lambda m: with_member("a/1.weight.npy", b"x"), "unexpected ['a/1"),
    (
        "scalar parameter as a vector",
        lambda m: npz(**{**saved(SCALAR_CONFIG), "layer3.bias_0": np.zeros(2)}),
        "layer3.bias_0 has shape (2,); the model needs ()",
    ),
    ("a folder", lambda m: "folder", "is a folder"),
    ("a named pipe", lambda m: "fifo", "not a regular file"),
]


def flip_data(data: bytes) -> bytes:
    """``data`` with one byte of its first member's numbers inverted."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        start = zf.infolist()[0].header_offset
    name_len, extra_len = (
        int.from_bytes(data[start + i : start + i + 2], "little") for i in (26, 28)
    )
    out = bytearray(data)
    out[start + 30 + name_len + extra_len + 130] ^= 0xFF
    return bytes(out)


def torch_file() -> bytes:
    buffer = io.BytesIO()
    mt_torch.save({"w": mt_torch.ones(2)}, buffer)
    return buffer.getvalue()


def npz_object_payload(marker: Path) -> bytes:
    arrays: dict[str, Any] = saved(MLP_CONFIG)
    payload = np.empty(1, dtype=object)
    payload[0] = Payload(marker)
    buffer = io.BytesIO()
    np.savez(buffer, **{**arrays, "1.weight": payload})
    return buffer.getvalue()


def huge_header() -> bytes:
    return npy_bytes({"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}, bytes(48))


def predict(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minitorch", "predict", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )


@pytest.mark.parametrize(
    ("make", "words"), [c[1:] for c in NPZ_CASES], ids=[c[0] for c in NPZ_CASES]
)
def test_predict_refuses_a_crafted_file_in_one_line_with_status_2(
    make: Callable[[Path], bytes | str], words: str, tmp_path: Path
) -> None:
    marker = tmp_path / "payload-ran"
    path = tmp_path / "model.npz"
    data = make(marker)
    if data == "folder":
        path.mkdir()
    elif data == "fifo":
        os.mkfifo(path)
    else:
        assert isinstance(data, bytes)
        path.write_bytes(data)
    done = predict(path)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr.startswith("minitorch predict: error: ") and done.stderr.count("\n") == 1
    assert words in done.stderr
    assert not marker.exists()


def test_predict_reads_a_valid_file_and_a_missing_one_is_status_2(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    path.write_bytes(valid_model())
    done = predict(path)
    assert done.returncode == 0, done.stderr
    assert "test accuracy" in done.stdout
    missing = predict(tmp_path / "nothing.npz")
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_parameter_shapes_match_the_built_models() -> None:
    configs = [
        MLP_CONFIG,
        SCALAR_CONFIG,
        {**MLP_CONFIG, "dataset": "digits", "hidden": 5},
        {**MLP_CONFIG, "dataset": "digits", "model": "cnn", "hidden": 3},
    ]
    for config in configs:
        built = {n: tuple(np.shape(a)) for n, a in arrays_of(config).items()}
        del built[checkpoint.CONFIG_KEY]
        typed = TrainConfig.from_saved(config)
        assert built == settings.parameter_shapes(typed)
        assert sum(int(np.prod(s)) for s in built.values()) == settings.parameter_count(typed)


# --- torch.load ------------------------------------------------------------------------------


class Reduces:
    """Pickles as ``fn(*args)``: a way to write any call into a file."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self.reduced = (fn, args)

    def __reduce__(self) -> tuple[Any, ...]:
        return self.reduced


def tensor_pickle(values: Any, shape: Any, name: Any = "float64", grad: Any = False) -> bytes:
    return pickle.dumps(Reduces(_unpickle, values, shape, name, grad))


def shared_lists(levels: int, width: int) -> list[Any]:
    """``width ** levels`` numbers as nested lists in which every level is one shared list."""
    inner: list[Any] = [0.0] * width
    for _ in range(levels - 1):
        inner = [inner] * width
    return inner


def deep_tuple_key(depth: int) -> bytes:
    """A dict whose key is a tuple nested ``depth`` deep (hashing it overflows the C stack)."""
    body = b"\x80\x04}" + b")" + b"\x85" * depth + b"K\x01s."
    return body


def cycle() -> bytes:
    a: list[Any] = []
    a.append(a)
    return pickle.dumps(a)


LOAD_CASES: list[tuple[str, Callable[[Path], bytes], str]] = [
    ("empty", lambda m: b"", "empty"),
    ("garbage", lambda m: b"\x00\x01garbage", "not a pickle"),
    ("truncated state dict", lambda m: torch_file()[:-10], "not a pickle"),
    ("a PyTorch zip file", lambda m: zip_of({"archive/data.pkl": b"x"}), "not a pickle"),
    ("os.system via REDUCE", lambda m: pickle.dumps(Payload(m)), "refuses posix.system"),
    (
        "eval via protocol-0 GLOBAL",
        lambda m: b"cbuiltins\neval\n(S'1'\ntR.",
        "refuses builtins.eval",
    ),
    ("os.system via INST", lambda m: f"(S'touch {m}'\nios\nsystem\n.".encode(), "INST"),
    ("copyreg extension (EXT1)", lambda m: b"\x80\x02\x82\x01.", "EXT1"),
    ("persistent id", lambda m: b"\x80\x02K\x01Q.", "BINPERSID"),
    (
        "BUILD on a dict",
        lambda m: b"\x80\x02}q\x00}q\x01X\x01\x00\x00\x00aK\x01sb.",
        "BUILD",
    ),
    (
        "memo bomb: 800 MB array from shared lists",
        lambda m: tensor_pickle(shared_lists(4, 100), (100, 100, 100, 100)),
        "the file is",
    ),
    (
        "memo bomb: 2**60 numbers",
        lambda m: tensor_pickle(shared_lists(60, 2), (2,) * 60),
        "nested deeper",
    ),
    ("a shape of 40 dimensions", lambda m: tensor_pickle([1.0], (1,) * 40), "40 dimensions"),
    (
        "memo bomb: nested lists under a flat shape",
        lambda m: tensor_pickle(shared_lists(10, 4), (4,)),
        "not numbers",
    ),
    ("huge shape, few values", lambda m: tensor_pickle([1.0], (10**12,)), "needs 1000000000000"),
    ("shape and values disagree", lambda m: tensor_pickle([1.0, 2.0, 3.0], (2, 2)), "got 3"),
    ("negative size", lambda m: tensor_pickle([], (-1,)), "tuple of sizes"),
    ("shape as a list", lambda m: tensor_pickle([1.0], [1]), "tuple of sizes"),
    ("unknown dtype", lambda m: tensor_pickle([1.0], (1,), "complex128"), "unknown tensor dtype"),
    ("requires_grad not a bool", lambda m: tensor_pickle([1.0], (1,), "float32", "yes"), "unknown"),
    ("values as strings", lambda m: tensor_pickle(["1"], (1,)), "not numbers"),
    ("value too large for a float", lambda m: tensor_pickle([10**400], (1,)), "too large"),
    (
        "parameter around a dict",
        lambda m: pickle.dumps(Reduces(nn.modules._parameter, ({}, ()))),
        "must wrap a tensor",
    ),
    ("tuple key nested 100 000 deep", lambda m: deep_tuple_key(100_000), "nested deeper"),
    ("lists nested 100 000 deep", lambda m: deep_lists(100_000), "nested deeper"),
    (
        "shared lists standing for 2**40 items",
        lambda m: pickle.dumps(shared_lists(20, 4)),
        "more items",
    ),
    ("a list containing itself", lambda m: cycle(), "more items"),
    ("memo get of an unknown key", lambda m: b"\x80\x02h\x05.", "not a pickle"),
    ("APPEND on an empty stack", lambda m: b"\x80\x02a.", "not a pickle"),
]


def deep_lists(depth: int) -> bytes:
    return b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."


@pytest.mark.parametrize("weights_only", [None, True, False, 0, 1, "no"])
def test_load_never_runs_code_whatever_weights_only(weights_only: Any, tmp_path: Path) -> None:
    marker = tmp_path / "payload-ran"
    with pytest.raises(pickle.UnpicklingError, match=r"refuses posix\.system"):
        mt_torch.load(io.BytesIO(pickle.dumps(Payload(marker))), weights_only=weights_only)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("make", "words"), [c[1:] for c in LOAD_CASES], ids=[c[0] for c in LOAD_CASES]
)
def test_load_refuses_a_crafted_pickle(
    make: Callable[[Path], bytes], words: str, tmp_path: Path
) -> None:
    marker = tmp_path / "payload-ran"
    with pytest.raises(pickle.UnpicklingError, match=r"torch\.load: ") as caught:
        mt_torch.load(io.BytesIO(make(marker)))
    assert words in str(caught.value) and "\n" not in str(caught.value)
    assert not marker.exists()


def test_load_reads_what_save_writes_in_containers(tmp_path: Path) -> None:
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    shared = mt_torch.ones(2)
    obj = {"model": net.state_dict(), "tied": [shared, shared], "meta": (1, "a", {2.5})}
    mt_torch.save(obj, tmp_path / "x.pt")
    back = mt_torch.load(tmp_path / "x.pt", weights_only=False)
    assert list(back["model"]) == list(net.state_dict())
    assert back["tied"][0].tolist() == [1.0, 1.0] and back["meta"] == (1, "a", {2.5})
    with pytest.raises(IsADirectoryError):
        mt_torch.load(tmp_path)


def test_predict_of_a_cuda_model_without_a_gpu_is_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    probe = subprocess.run(
        [sys.executable, "-c", "from numba import cuda; print(cuda.is_available())"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    if probe.stdout.strip() != "False":
        pytest.skip(f"a GPU is present (or numba is missing): {probe.stdout or probe.stderr}")
    path = tmp_path / "model.npz"
    path.write_bytes(with_config(backend="cuda"))
    done = subprocess.run(
        [sys.executable, "-m", "minitorch", "predict", str(path)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("minitorch predict: error: backend 'cuda' is not available")
