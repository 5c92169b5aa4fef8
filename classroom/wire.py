"""Plain data across the sandbox's wall: arrays, numbers, strings and tuples as JSON, never pickle.

The grader sends a check's arguments into the student's kernel with :func:`encode`, and
reads the function's results back with :func:`decode`. An array travels as its dtype, its
shape and its raw bytes in base64 (like safetensors: a header and a buffer); :func:`decode`
checks all three, and the total size, before it builds anything. Nothing in a message can
run code on the grader's side: the only things :func:`decode` makes are NumPy arrays, torch
tensors, numbers, strings, tuples, lists and :class:`Opaque` placeholders.

This file is also sent, as source, into the student's kernel (see ``harness.py``) and executed
there outside any module (hence no dataclasses here): it needs only the standard library and
NumPy, and imports torch when a tensor comes by.
"""

from __future__ import annotations

import base64
import math
from dataclasses import fields, is_dataclass
from typing import Any, Callable

import numpy as np

DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")
MAX_BYTES = 64 * 2**20  # arrays in one message, all together
MAX_ITEMS = 10_000  # elements of one tuple or list
MAX_DEPTH = 8
MAX_TEXT = 2_000


class WireError(ValueError):
    """A message that is not plain data of the expected shape and size."""


class Opaque:
    """A value of a type that does not travel (a dict, a module, an object): only its type's name does."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.type_name == self.type_name

    def __repr__(self) -> str:
        return f"Opaque({self.type_name!r})"


class Spec:
    """A dataclass instance, by name and fields (cambook.exercises' ``Net`` and ``Layer``): requests only."""

    def __init__(self, kind: str, fields: dict):
        self.kind, self.fields = kind, fields

    def __repr__(self) -> str:
        return f"Spec({self.kind!r}, {self.fields!r})"


def _array(arr: np.ndarray, tag: str) -> dict:
    if arr.dtype.name == "bfloat16" or arr.dtype.name not in DTYPES:
        arr = arr.astype(np.float32) if arr.dtype.kind == "f" else arr
    if arr.dtype.name not in DTYPES:
        return {"t": "opaque", "type": f"array of {arr.dtype.name}"}
    data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
    return {"t": tag, "dtype": arr.dtype.name, "shape": list(arr.shape), "b64": base64.b64encode(data).decode("ascii")}


def encode(value: Any, depth: int = 0) -> dict:
    """``value`` as JSON-ready plain data. Types that do not travel become ``{"t": "opaque"}``."""
    if depth > MAX_DEPTH:
        return {"t": "opaque", "type": "nesting too deep"}
    if value is None or type(value) is bool:
        return {"t": "const", "v": value}
    if type(value) is int:
        return {"t": "int", "v": str(value)}
    if type(value) is float:
        return {"t": "float", "v": float.hex(value)}
    if type(value) is str:
        return {"t": "str", "v": value[:MAX_TEXT]}
    if isinstance(value, np.generic) and value.dtype.name in DTYPES:
        return _array(np.asarray(value), "npscalar")
    if isinstance(value, np.ndarray):
        return _array(value, "ndarray")
    torch = _torch_if_loaded()
    if torch is not None and isinstance(value, torch.Tensor):
        t = value.detach().cpu()
        t = t.float() if t.dtype == torch.bfloat16 else t
        return _array(t.resolve_conj().resolve_neg().numpy(), "tensor")
    if isinstance(value, (tuple, list)):  # named tuples (torch.topk's result) travel as tuples
        items = [encode(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
        return {"t": "list" if isinstance(value, list) else "tuple", "items": items}
    if is_dataclass(value) and not isinstance(value, type):
        return {
            "t": "spec",
            "kind": type(value).__name__,
            "fields": {f.name: encode(getattr(value, f.name), depth + 1) for f in fields(value)},
        }
    return {"t": "opaque", "type": type(value).__name__[:100]}


def _torch_if_loaded():
    import sys

    return sys.modules.get("torch")


class _Budget:
    def __init__(self, limit: int):
        self.left = limit

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise WireError("the arrays in this message are larger than the grader accepts")


def decode(
    obj: Any, max_bytes: int = MAX_BYTES, specs: bool = False, make_spec: Callable[[str, dict], Any] | None = None
) -> Any:
    """Rebuild a value from :func:`encode`'s output, checking every field; raise :class:`WireError` if
    anything is off. ``specs`` allows dataclass specs (requests); ``make_spec(kind, fields)`` builds them."""
    return _decode(obj, _Budget(max_bytes), 0, specs, make_spec)


def _decode(obj: Any, budget: _Budget, depth: int, specs: bool, make_spec) -> Any:
    if depth > MAX_DEPTH:
        raise WireError("nested too deep")
    if not isinstance(obj, dict) or not isinstance(obj.get("t"), str):
        raise WireError("not an encoded value")
    t = obj["t"]
    if t == "const":
        if obj.get("v") not in (None, True, False) or type(obj.get("v")) not in (type(None), bool):
            raise WireError("a constant must be null, true or false")
        return obj["v"]
    if t == "int":
        v = obj.get("v")
        if not isinstance(v, str) or len(v) > 400 or not v.isascii() or not v.lstrip("-").isdigit():
            raise WireError("an int must be its decimal digits")
        return int(v)
    if t == "float":
        v = obj.get("v")
        if not isinstance(v, str) or len(v) > 40:
            raise WireError("a float must be its hex form")
        try:
            return float.fromhex(v)
        except ValueError:
            if v in ("nan", "inf", "-inf"):
                return float(v)
            raise WireError("a float must be its hex form") from None
    if t == "str":
        v = obj.get("v")
        if not isinstance(v, str) or len(v) > MAX_TEXT:
            raise WireError("a string must be short text")
        return v
    if t in ("tuple", "list"):
        items = obj.get("items")
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise WireError("a sequence must be a list of at most {MAX_ITEMS} items")
        out = [_decode(v, budget, depth + 1, specs, make_spec) for v in items]
        return tuple(out) if t == "tuple" else out
    if t in ("ndarray", "tensor", "npscalar"):
        return _decode_array(obj, t, budget)
    if t == "opaque":
        name = obj.get("type")
        if not isinstance(name, str) or len(name) > 100:
            raise WireError("an opaque value must name its type")
        return Opaque(name)
    if t == "spec" and specs:
        kind, raw = obj.get("kind"), obj.get("fields")
        if not isinstance(kind, str) or not isinstance(raw, dict):
            raise WireError("a spec must have a kind and fields")
        values = {str(k): _decode(v, budget, depth + 1, specs, make_spec) for k, v in raw.items()}
        return make_spec(kind, values) if make_spec else Spec(kind, values)
    raise WireError(f"unknown value type {t[:40]!r}")


def _decode_array(obj: dict, t: str, budget: _Budget) -> Any:
    dtype, shape, b64 = obj.get("dtype"), obj.get("shape"), obj.get("b64")
    if dtype not in DTYPES:
        raise WireError(f"dtype {str(dtype)[:40]!r} is not one of {', '.join(DTYPES)}")
    if not isinstance(shape, list) or len(shape) > 8 or not all(type(n) is int and 0 <= n < 2**31 for n in shape):
        raise WireError("a shape must be at most 8 non-negative ints")
    if t == "npscalar" and shape:
        raise WireError("a NumPy scalar has shape []")
    if not isinstance(b64, str):
        raise WireError("array data must be base64 text")
    itemsize = np.dtype(dtype).itemsize
    nbytes = math.prod(shape) * itemsize
    budget.take(nbytes)
    if len(b64) > 4 * (nbytes // 3 + 1) + 4:
        raise WireError("array data is longer than its shape says")
    try:
        data = base64.b64decode(b64, validate=True)
    except ValueError:
        raise WireError("array data is not valid base64") from None
    if len(data) != nbytes:
        raise WireError(f"array data has {len(data)} bytes, its dtype and shape say {nbytes}")
    arr = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(shape)
    if t == "npscalar":
        return arr[()]
    if t == "tensor":
        import torch

        return torch.from_numpy(arr.copy())
    return arr.copy()
