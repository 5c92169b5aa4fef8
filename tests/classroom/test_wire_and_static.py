"""Plain data across the sandbox's wall (classroom.wire), and the advisory notes (classroom.static)."""
from __future__ import annotations

import base64

import numpy as np
import pytest
import torch

from cambook.exercises import Layer, Net
from classroom import static, wire


@pytest.mark.parametrize("value", [
    None, True, 3, -2**70, 0.1, float("inf"), "text", (1, 2.5, "a"), [np.int64(4), np.float32(0.5)],
    np.arange(6, dtype=np.int16).reshape(2, 3), torch.randn(2, 3, 4), torch.tensor([1, 2], dtype=torch.int64),
    torch.zeros(0, 5), torch.tensor(True)])
def test_round_trip(value):
    back = wire.decode(wire.encode(value))
    if isinstance(value, torch.Tensor):
        assert isinstance(back, torch.Tensor) and back.dtype == value.dtype and torch.equal(back, value)
    elif isinstance(value, np.ndarray):
        assert isinstance(back, np.ndarray) and back.dtype == value.dtype and np.array_equal(back, value)
    else:
        assert back == value and type(back) is type(value)


def test_named_tuples_travel_as_tuples():
    values, indices = wire.decode(wire.encode(torch.arange(6.0).view(1, 6).topk(2, dim=1)))
    assert torch.equal(values, torch.tensor([[5.0, 4.0]])) and torch.equal(indices, torch.tensor([[5, 4]]))


def test_other_objects_travel_as_their_type_name_only():
    assert wire.decode(wire.encode({"a": 1})) == wire.Opaque("dict")
    assert wire.decode(wire.encode(torch.nn.Linear(2, 2))) == wire.Opaque("Linear")
    assert wire.decode(wire.encode(np.array([object()]))) == wire.Opaque("array of object")


def test_specs_travel_in_requests_only():
    net = Net("gapnet", 3, (4, 5), 16, 7)
    encoded = wire.encode((net, Layer(0, "features")))
    assert wire.decode(encoded, specs=True, make_spec=lambda k, f: {"Net": Net, "Layer": Layer}[k](**f)) == \
        (net, Layer(0, "features"))
    with pytest.raises(wire.WireError, match="unknown value type 'spec'"):
        wire.decode(encoded)  # an answer from the kernel cannot hold one


def tensor(dtype="float32", shape=(2,), data=b"\0" * 8) -> dict:
    return {"t": "tensor", "dtype": dtype, "shape": list(shape), "b64": base64.b64encode(data).decode()}


@pytest.mark.parametrize("bad, words", [
    (tensor(dtype="object"), "dtype"), (tensor(shape=(3,)), "bytes"), (tensor(shape=(-1,)), "shape"),
    (tensor(shape=(2**20, 2**20)), "larger than"),
    ({"t": "tensor", "dtype": "float32", "shape": [1], "b64": "%%%"}, "base64"),
    ({"t": "pickle", "v": "gASV"}, "unknown value type"), ({"t": "int", "v": "1e9"}, "digits"),
    ([1, 2], "not an encoded"),
    ({"t": "list", "items": [{"t": "const", "v": 3}]}, "null, true"),
])
def test_decode_rejects_what_is_not_plain_data(bad, words):
    with pytest.raises(wire.WireError, match=words):
        wire.decode(bad)


def test_nesting_and_size_are_bounded():
    deep: dict = {"t": "const", "v": None}
    for _ in range(wire.MAX_DEPTH + 2):
        deep = {"t": "list", "items": [deep]}
    with pytest.raises(wire.WireError, match="deep"):
        wire.decode(deep)
    with pytest.raises(wire.WireError, match="larger than"):
        wire.decode(wire.encode([np.zeros(1000)] * 3), max_bytes=16_000)


def test_reference_uses_are_named():
    trees = static.code_of(["from camlib import iou as box_iou",
                            "import camlib\nx = camlib.boxes.cam_to_box(m, 0.2)",
                            "%timeit f()\nimport importlib\nm = importlib.import_module('camlib.metrics')",
                            "from cambook.exercises.chapters import _cam_reference"])
    assert static.reference_uses(trees, "check_iou") == [
        "`camlib.metrics.iou`", "camlib imported by a name in a string ('camlib.metrics')",
        "`cambook.exercises` internals"]
    assert "`camlib.boxes.cam_to_box`" in static.reference_uses(trees, "check_box")
    assert static.reference_uses(static.code_of(["def box_iou(a, b):\n    return 0.0"]), "check_iou") == []


def test_tampering_is_noted_and_honest_code_is_not():
    trees = static.code_of(["import sys\nsys.settrace(f)", "torch.allclose = lambda *a, **k: True",
                            "import builtins\nbuiltins.getattr = g", "fn.__module__ = '__main__'"])
    assert static.tampering(trees) == ["installs a trace function (`sys.settrace`)",
                                       "replaces a torch function (`torch.allclose`)",
                                       "changes builtins (`builtins.getattr`)",
                                       "rewrites where a function comes from (`fn.__module__`)"]
    assert static.tampering(static.code_of(["ok = torch.allclose(a, b)\nprint(ok, file=sys.stdout)"])) == []
